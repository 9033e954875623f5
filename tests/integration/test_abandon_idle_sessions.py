"""Issue 14, deliverable 1: the nightly job marks sessions idle for a set time as abandoned.

The `retention` step of run_maintenance calls abandon_idle_sessions (migration
20261207020100_abandon_idle_sessions.sql) per slice of sessions until done. Idle = no start or answer for
`session_idle_hours` (24 h) before the end of the run date. Through the real functions, gateway and database:
exact counts, completed and already-abandoned sessions untouched, a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from supalocal.keys import service_role_key
from tests.figures import record
from tests.integration.conftest import MAINTENANCE_TOKEN, Learner, LiveStack

pytestmark = pytest.mark.stack

RUN_DATE = date(2026, 1, 10)
CUTOFF = datetime(2026, 1, 10, tzinfo=UTC)  # the end of the run date minus 24 h


@pytest.fixture()
def pg(live_stack: LiveStack) -> Iterator[psycopg.Connection]:
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        conn.execute("delete from maintenance_runs where run_date = %s", (RUN_DATE,))  # restored after
        yield conn


def _session(pg: psycopg.Connection, learner: Learner, status: str, last_activity: datetime) -> str:
    row = pg.execute("""insert into practice_sessions (user_id, status, started_at, last_activity_at, ended_at)
                        values (%s, %s, %s - interval '1 hour', %s, case when %s <> 'active' then %s end)
                        returning id::text""",
                     (learner.user_id, status, last_activity, last_activity, status, last_activity)).fetchone()
    assert row is not None
    return str(row[0])


def _rows(pg: psycopg.Connection, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    rows = pg.execute("select id::text, s::text, status, ended_at = last_activity_at from practice_sessions s "
                      "where id::text = any(%s)", (ids,)).fetchall()
    return {str(r[0]): tuple(r[1:]) for r in rows}


def _idle_elsewhere(pg: psycopg.Connection, mine: list[str]) -> int:
    row = pg.execute("""select count(*) from practice_sessions where status = 'active' and last_activity_at < %s
                        and id::text <> all(%s)""", (CUTOFF, mine)).fetchone()
    assert row is not None
    return int(row[0])


def _rpc(stack: LiveStack, max_rows: int) -> dict[str, Any]:
    service = service_role_key(stack.settings.jwt_secret)
    response = stack.http.post(f"{stack.url}/rest/v1/rpc/abandon_idle_sessions",
                               json={"p_run_date": RUN_DATE.isoformat(), "p_idle_hours": 24, "p_max_rows": max_rows},
                               headers={"apikey": service, "Authorization": f"Bearer {service}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _maintain(stack: LiveStack) -> Any:
    response = stack.call("run_maintenance", token=None, json={"run_date": RUN_DATE.isoformat(),
                                                               "steps": ["retention"]},
                          headers={"X-Maintenance-Token": MAINTENANCE_TOKEN})
    assert response.status_code == 200, response.text
    return response.json()["steps"][0]


def test_the_nightly_job_abandons_idle_sessions_once(live_stack: LiveStack, pg: psycopg.Connection,
                                                     make_learner: Callable[[], Learner]) -> None:
    a, b = make_learner(), make_learner()
    idle = [_session(pg, a, "active", CUTOFF - timedelta(hours=30)),
            _session(pg, a, "active", CUTOFF - timedelta(seconds=1)),
            _session(pg, b, "active", CUTOFF - timedelta(days=40))]
    kept = [_session(pg, b, "active", CUTOFF + timedelta(minutes=1)),      # idle 23 h 59 min at the run's end
            _session(pg, a, "completed", CUTOFF - timedelta(days=10)),
            _session(pg, b, "abandoned", CUTOFF - timedelta(days=10))]
    others = _idle_elsewhere(pg, idle + kept)
    before = _rows(pg, idle + kept)

    first = _maintain(live_stack)
    assert (first["status"], first["counts"]["sessions_abandoned"]) == ("done", 3 + others)
    after = _rows(pg, idle + kept)
    assert [after[i][1:] for i in idle] == [("abandoned", True)] * 3  # ended when last active
    assert {i: after[i] for i in kept} == {i: before[i] for i in kept}  # completed/abandoned/recent: untouched

    # A second run changes nothing: the step is done for the date, and the RPC itself finds nothing left.
    again = _maintain(live_stack)
    assert (again["status"], again["counts"]["sessions_abandoned"]) == ("skipped", 3 + others)
    assert _rpc(live_stack, 1000)["sessions_abandoned"] == 0
    assert _rows(pg, idle + kept) == after

    # Slices: three more idle sessions, at most 2 per call, as the step loops until `done`.
    more = [_session(pg, b, "active", CUTOFF - timedelta(hours=h)) for h in (1, 2, 3)]
    slices = [_rpc(live_stack, 2) for _ in range(3)]
    assert [(s["sessions_abandoned"], s["done"]) for s in slices] == [(2, False), (1, True), (0, True)]
    assert {r[1] for r in _rows(pg, more).values()} == {"abandoned"}
    record(check="nightly abandon of idle sessions (6 idle of 9; re-run; slices of 2)", tried=12,
           succeeded=6, note="succeeded = sessions abandoned; completed/recent ones changed 0; re-runs 0")
