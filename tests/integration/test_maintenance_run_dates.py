"""run_maintenance at the edges of its run date, through the real gateway and database.

MaintenanceRequest accepts run dates 2000-01-01..2999-12-31 (outside: 400), and the service refuses a day after
today (UTC) with 400 naming run_date before any SQL runs, so 2999-12-31 never reaches SQL. Only past dates do,
down to the lower edge: those run the retention and partition SQL (timestamp range edges).

Dates relative to today are computed when the request is sent, never at import: a run that crosses midnight UTC
made an import-time "tomorrow" the server's today (CI, 2026-12-08). The future date is two days ahead so that a
midnight between computing it and the server's check cannot make it today; the exact boundary (today runs,
tomorrow is refused) is pinned with an injected clock in tests/unit/service/test_maintenance.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from smartpractice.api.errors import ErrorResponse
from smartpractice.api.models import MaintenanceResponse
from tests.figures import record
from tests.integration.conftest import MAINTENANCE_TOKEN, LiveStack

pytestmark = pytest.mark.stack

OUT_OF_RANGE_DATES = ("0001-01-01", "1969-12-31", "9999-12-31")
FUTURE_DATES = ("2999-12-31", "today+2")
PAST_EDGES = ("2000-01-01", "today")


def _resolve(run_date: str) -> str:
    """A literal ISO date, or "today" / "today+N" resolved against the UTC clock now."""
    if not run_date.startswith("today"):
        return run_date
    days = int(run_date.removeprefix("today") or "0")
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _partitions(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("select inhrelid::regclass::text from pg_inherits "
                        "where inhparent = 'public.learning_events'::regclass").fetchall()
    return {str(r[0]) for r in rows}


def _recorded_steps(conn: psycopg.Connection, run_date: str) -> int:
    row = conn.execute("select count(*) from maintenance_runs where run_date = %s", (run_date,)).fetchone()
    assert row is not None
    return int(row[0])


def _maintain(run_date: str, live_stack: LiveStack, pg: psycopg.Connection) -> tuple[httpx.Response, set[str]]:
    """run_maintenance retention+partitions for `run_date`: (the response, the partitions it created)."""
    before = _partitions(pg)
    pg.execute("delete from maintenance_runs where run_date = %s", (run_date,))
    response = live_stack.call("run_maintenance", token=None, json={"run_date": run_date,
                                                                   "steps": ["retention", "partitions"]},
                               headers={"X-Maintenance-Token": MAINTENANCE_TOKEN})
    record(check=f"run_maintenance retention+partitions on {run_date}", tried=1,
           succeeded=int(response.status_code == 200), server_errors=int(response.status_code >= 500),
           note=f"{response.status_code}")
    assert response.status_code < 500, response.text
    assert b"Traceback" not in response.content
    return response, _partitions(pg) - before


def _cleanup(run_date: str, pg: psycopg.Connection, created: set[str]) -> None:
    for name in sorted(created):  # months the run created far from now: empty, drop them
        assert pg.execute(f"select count(*) from {name}").fetchone() == (0,)
        pg.execute(f"drop table {name}")
    pg.execute("delete from maintenance_runs where run_date = %s", (run_date,))


@pytest.mark.parametrize("run_date", OUT_OF_RANGE_DATES + FUTURE_DATES)
def test_maintenance_refuses_out_of_range_and_future_run_dates_before_sql(
        run_date: str, live_stack: LiveStack, pg: psycopg.Connection) -> None:
    """Outside the accepted range or after today: 400 naming run_date; no step recorded, no partition made."""
    run_date = _resolve(run_date)
    response, created = _maintain(run_date, live_stack, pg)
    try:
        assert response.status_code == 400, response.text
        error = ErrorResponse.model_validate_json(response.content).error
        assert [field.field for field in error.fields] == ["run_date"]
        assert created == set()
        assert _recorded_steps(pg, run_date) == 0
    finally:
        _cleanup(run_date, pg, created)


@pytest.mark.parametrize("run_date", PAST_EDGES)
def test_maintenance_on_past_edge_run_dates_runs_the_sql(run_date: str, live_stack: LiveStack,
                                                         pg: psycopg.Connection) -> None:
    """The earliest accepted date and today reach the retention/partition SQL (timestamp range edges): 200."""
    run_date = _resolve(run_date)  # a midnight after this leaves it in the past, which runs the same way
    response, created = _maintain(run_date, live_stack, pg)
    try:
        assert response.status_code == 200, response.text
        result = MaintenanceResponse.model_validate_json(response.content)
        assert [(step.step, step.status) for step in result.steps] == [("retention", "done"), ("partitions", "done")]
        assert _recorded_steps(pg, run_date) == 2
    finally:
        _cleanup(run_date, pg, created)
