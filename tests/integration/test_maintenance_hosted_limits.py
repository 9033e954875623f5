"""The nightly run under hosted Supabase's limits: a 100-row cap and the 8 s timeouts change no count.

Hosted PostgREST cuts every table read at db-max-rows (PostgREST docs, Configuration, "db-max-rows"; 1000 on
Supabase, lower if the project sets Max Rows), and the API roles run with statement_timeout = lock_timeout = 8s
(supabase/postgres migrations/db/migrations/20221028101028_set_authenticator_timeout.sql and
20231130133139_set_lock_timeout_to_authenticator_role.sql; service_role inherits authenticator's). The run
goes through a gateway started with SP_LOCAL_DB_MAX_ROWS=100 and the authenticator role carrying the 8 s
settings, and must answer 200 with every step done and the very counts of a run without a cap on the same
data (the database state the run reads and writes is put back between the two runs).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from smartpractice.service.models_requests import MAINTENANCE_STEPS
from supalocal.keys import service_role_key
from supalocal.process import GatewayProcess
from supalocal.settings import StackSettings
from tests import shared_state
from tests.integration.conftest import MAINTENANCE_TOKEN

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bigdata

pytestmark = pytest.mark.stack
SUFFIX = "@hosted-limits.test"
LEARNERS, ACTIVE, ANSWERS_EACH, HISTORY, SKILLS = 300, 60, 20, 6_000, 20
ROW_CAP = 100
HOSTED_TIMEOUTS = {"statement_timeout": "8s", "lock_timeout": "8s"}
# What a run reads and then changes (so a second run on "the same data" needs them put back): learners' mastery
# (decay), the all-time aggregates (only changed rows are counted), the refits' warm starts, the bookkeeping.
LEARNER_STATE = ("public.user_skill_mastery", "public.user_learning_metrics", "public.knowledge_gaps")


def _role_settings(pg: psycopg.Connection) -> dict[str, str]:
    row = pg.execute("select coalesce(rolconfig, '{}') from pg_roles where rolname = 'authenticator'").fetchone()
    assert row is not None
    return dict(item.split("=", 1) for item in row[0])


@pytest.fixture()
def hosted_timeouts(pg: psycopg.Connection) -> Iterator[None]:
    """authenticator with hosted's 8 s timeouts for the gateways started here (new sessions read them)."""
    before = _role_settings(pg)
    for name, value in HOSTED_TIMEOUTS.items():
        pg.execute(sql.SQL("alter role authenticator set {} = {}").format(sql.Identifier(name), sql.Literal(value)))
    try:
        yield
    finally:
        for name in HOSTED_TIMEOUTS:
            if name in before:
                pg.execute(sql.SQL("alter role authenticator set {} = {}").format(
                    sql.Identifier(name), sql.Literal(before[name])))
            else:
                pg.execute(sql.SQL("alter role authenticator reset {}").format(sql.Identifier(name)))


@pytest.fixture()
def day(pg: psycopg.Connection, stack_settings: StackSettings) -> Iterator[date]:
    run_date = datetime.now(UTC).date() - timedelta(days=1)
    dsn = stack_settings.dsn()
    dates = (run_date - timedelta(days=1), run_date)
    pg.execute("delete from maintenance_runs where run_date between %s and %s", dates)
    try:
        bigdata.populate_day(dsn, day=run_date, learners=LEARNERS, skills=SKILLS, attempts=HISTORY,
                             active_today=ACTIVE, answers_today=ANSWERS_EACH, seed=1919, replace=True,
                             verbose=False, suffix=SUFFIX)
        bigdata.finish_night_before(dsn, run_date, steps=MAINTENANCE_STEPS)
        # Retention and partitions for the date first: both runs then find them settled alike.
        pg.execute("select public.apply_retention(%s), public.extend_learning_event_partitions(%s)",
                   (run_date, run_date))
        yield run_date
    finally:
        pg.execute("delete from maintenance_runs where run_date between %s and %s", dates)
        bigdata.clean(dsn, verbose=False, suffix=SUFFIX)


def _copy_out(pg: psycopg.Connection, tables: tuple[str, ...]) -> dict[str, bytes]:
    saved: dict[str, bytes] = {}
    with pg.cursor() as cur:
        for table in tables:
            with cur.copy(sql.SQL("copy {} to stdout").format(sql.Identifier(*table.split(".")))) as copy:
                saved[table] = b"".join(bytes(block) for block in copy)
    return saved


def _copy_back(pg: psycopg.Connection, saved: dict[str, bytes]) -> None:
    # As the bench loader does: replica mode skips the version/history triggers and the foreign-key checks.
    with pg.transaction(), pg.cursor() as cur:
        cur.execute("set local session_replication_role = replica")
        for table, rows in saved.items():
            ident = sql.Identifier(*table.split("."))
            cur.execute(sql.SQL("delete from {}").format(ident))
            with cur.copy(sql.SQL("copy {} from stdin").format(ident)) as copy:
                copy.write(rows)


def _run(settings: StackSettings, run_date: date, monkeypatch: pytest.MonkeyPatch, *,
         max_rows: int) -> dict[str, Any]:
    monkeypatch.setenv("SP_LOCAL_DB_MAX_ROWS", str(max_rows))  # the gateway process reads its settings from env
    with GatewayProcess(settings, maintenance_token=MAINTENANCE_TOKEN) as gateway, \
            httpx.Client(timeout=600.0) as http:
        if max_rows:  # the cap would cut the content reads: they are longer than one capped page
            service = service_role_key(settings.jwt_secret)  # the job's own credential (content is not anon's)
            tags = http.get(f"{gateway.url}/rest/v1/question_skills", params={"select": "question_id"},
                            headers={"apikey": service, "Authorization": f"Bearer {service}"})
            assert tags.status_code == 200 and len(tags.json()) >= ROW_CAP
        response = http.post(f"{gateway.url}/functions/v1/run_maintenance", json={"run_date": run_date.isoformat()},
                             headers={"X-Maintenance-Token": MAINTENANCE_TOKEN})
    assert response.status_code == 200, response.text
    return {s["step"]: (s["status"], s["counts"]) for s in response.json()["steps"]}


def test_the_nightly_run_under_a_100_row_cap_and_8s_timeouts_counts_as_without_a_cap(
    pg: psycopg.Connection, stack_settings: StackSettings, day: date, hosted_timeouts: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert {k: v for k, v in _role_settings(pg).items() if k in HOSTED_TIMEOUTS} == HOSTED_TIMEOUTS
    questions = pg.execute("select count(*) from questions").fetchone()
    assert questions is not None and questions[0] > ROW_CAP  # the refits' content reads need several pages
    learner_state, shared = _copy_out(pg, LEARNER_STATE), shared_state.take(pg)

    uncapped = _run(stack_settings, day, monkeypatch, max_rows=0)
    _copy_back(pg, learner_state)
    shared_state.restore(pg, shared)  # the refits' warm starts, the cohort cache, maintenance_runs
    capped = _run(stack_settings, day, monkeypatch, max_rows=ROW_CAP)

    assert list(capped) == list(MAINTENANCE_STEPS)
    assert {step: status for step, (status, _) in capped.items()} == dict.fromkeys(MAINTENANCE_STEPS, "done")
    assert capped == uncapped
    counts = {step: c for step, (_, c) in capped.items()}
    # the day is really there: our active learners' snapshots, decay and refits over everyone's answers
    assert counts["snapshots"]["learners_active"] >= ACTIVE
    assert counts["decay"]["rows_changed"] > 0 and counts["bkt_refit"]["attempts_read"] >= HISTORY
    # IRT read every answer through the capped pages; at ~9 answers per item none reaches irt_min_responses (50),
    # so nothing is calibrated at this size (the 100k benchmark calibrates)
    assert counts["irt_calibration"]["attempts_read"] >= HISTORY and counts["aggregates"]["incremental"] == 1


FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions" / "smartpractice"
CALLED = re.compile(r'(?:\.call|_rpc|_context)\("([a-z_]+)"')


def test_every_rpc_the_functions_call_returns_one_value_which_no_row_cap_cuts(pg: psycopg.Connection) -> None:
    """PostgREST cuts set-returning functions at db-max-rows like tables; a function returning one value (json,
    jsonb, integer, void) is one row. So every RPC the functions call must return one value, or be paged."""
    called = {name for path in FUNCTIONS_DIR.rglob("*.py") for name in CALLED.findall(path.read_text())}
    assert {"question_bank", "insights_context", "snapshot_inputs", "attempt_log_page",
            "refresh_aggregates_slice", "extend_learning_event_partitions"} <= called
    rows = pg.execute("select p.proname, p.proretset, format_type(p.prorettype, null) from pg_proc p "
                      "where p.pronamespace = 'public'::regnamespace and p.proname = any(%s)",
                      (sorted(called),)).fetchall()
    assert sorted(name for name, _, _ in rows) == sorted(called)  # each exists, once
    assert [(name, kind) for name, returns_set, kind in rows if returns_set or kind == "record"] == []
