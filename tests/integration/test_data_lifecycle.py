"""Data lifecycle on the real stack: deleting a user erases every row of theirs; retention drops raw events
older than 24 months and nothing newer; a repeated maintenance run for the same date changes nothing.

Tables holding per-user data are enumerated from the catalog (every column named user_id or referencing
auth.users, in every schema, every learning_events partition included), so a table added later is covered
without editing this test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.figures import record
from tests.integration.conftest import MAINTENANCE_TOKEN, Learner, LiveStack

pytestmark = pytest.mark.stack

# Every (table, column) that identifies a user: user_id columns and foreign keys to auth.users.
USER_COLUMNS_SQL = """
select n.nspname, c.relname, a.attname, c.relkind::text, c.relispartition
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
  and n.nspname not in ('pg_catalog', 'information_schema')
  and (a.attname = 'user_id'
       or exists (select from pg_constraint k
                  where k.conrelid = c.oid and k.contype = 'f' and k.confrelid = 'auth.users'::regclass
                    and a.attnum = any(k.conkey)))
union all
select 'auth', 'users', 'id', 'r', false
order by 1, 2, 3
"""
# Tables the scenario below must have filled for the deleted user (else the test proves nothing).
EXPECTED_FILLED = {
    "practice_sessions", "session_questions", "user_skill_mastery", "mastery_history", "learning_events",
    "user_performance_snapshots", "daily_user_stats", "weekly_user_stats", "topic_daily_stats",
    "user_learning_metrics", "knowledge_gaps", "users",
}
MAINTENANCE_HEADERS = {"X-Maintenance-Token": MAINTENANCE_TOKEN}


def user_rows(conn: psycopg.Connection, user_id: uuid.UUID) -> dict[str, int]:
    """'schema.table.column' → rows of `user_id`, for every table (each partition on its own)."""
    counts: dict[str, int] = {}
    for schema, table, column, kind, _partition in conn.execute(USER_COLUMNS_SQL).fetchall():
        if kind == "p":
            continue  # a partitioned parent holds no rows itself; each partition is counted
        query = sql.SQL("select count(*) from only {} where {} = %s").format(sql.Identifier(schema, table),
                                                                              sql.Identifier(column))
        row = conn.execute(query, (user_id,)).fetchone()
        assert row is not None
        counts[f"{schema}.{table}.{column}"] = int(row[0])
    return counts


def _answer_key(conn: psycopg.Connection, question_id: int) -> list[str]:
    row = conn.execute("select correct_answer from question_answer_keys where question_id = %s",
                       (question_id,)).fetchone()
    assert row is not None
    return list(row[0])


def practise(stack: LiveStack, pg: psycopg.Connection, learner: Learner, *, answers: int,
             complete: bool = True) -> str:
    """A session with `answers` served and answered questions (alternately right and wrong)."""
    started = stack.call("start_session", token=learner.token, json={})
    assert started.status_code == 201, started.text
    session_id = str(started.json()["session_id"])
    for i in range(answers):
        served = stack.call("next_question", token=learner.token, json={"session_id": session_id})
        assert served.status_code == 200, served.text
        question_id = int(served.json()["question"]["id"])
        answer = _answer_key(pg, question_id) if i % 2 == 0 else ["definitely-wrong"]
        submitted = stack.call("submit_answer", token=learner.token, json={
            "session_id": session_id, "question_id": question_id, "user_answer": answer,
            "time_spent_seconds": 30.0, "idempotency_key": f"life-{uuid.uuid4()}"})
        assert submitted.status_code == 200, submitted.text
    if complete:
        done = stack.call("complete_session", token=learner.token, json={"session_id": session_id})
        assert done.status_code == 200, done.text
    return session_id


def test_deleting_a_user_leaves_no_row_anywhere(live_stack: LiveStack, pg: psycopg.Connection,
                                                make_learner: Callable[[], Learner]) -> None:
    doomed, bystander = make_learner(), make_learner()
    practise(live_stack, pg, doomed, answers=4)
    practise(live_stack, pg, doomed, answers=1, complete=False)
    practise(live_stack, pg, bystander, answers=2)
    today = datetime.now(UTC).date()
    # Per-user derived data, as the nightly run writes it: daily snapshot, aggregates, knowledge gaps.
    pg.execute("select public.write_daily_snapshots(%s, %s::jsonb)",
               (today, f'[{{"user_id": "{doomed.user_id}"}}, {{"user_id": "{bystander.user_id}"}}]'))
    pg.execute("select public.refresh_aggregates(%s)", (today,))
    # Whether refresh_aggregates opened a gap depends on the questions Thompson sampling served and on the BKT
    # parameters (which other tests' refits move): open one on a skill the learner practised, as the nightly
    # run would for a weak skill, so the cascade is checked over knowledge_gaps whatever the model did.
    pg.execute("insert into knowledge_gaps (user_id, skill_id, gap_score, priority_score, severity) "
               "select user_id, skill_id, 0.5, 3.0, 'medium' from user_skill_mastery where user_id = %s "
               "order by skill_id limit 1 on conflict (user_id, skill_id) do nothing", (doomed.user_id,))
    # Raw events in older and newer monthly partitions than the current one.
    for months in (-23, -6, 2):
        pg.execute("insert into learning_events (user_id, event_type, created_at) values "
                   "(%s, 'session_started', now() + make_interval(months => %s))", (doomed.user_id, months))

    before = user_rows(pg, doomed.user_id)
    bystander_before = user_rows(pg, bystander.user_id)
    filled = {"learning_events" if key.startswith("event_partitions.") else key.split(".")[1]
              for key, n in before.items() if n > 0}
    assert filled >= EXPECTED_FILLED, EXPECTED_FILLED - filled
    event_partitions = [k for k, n in before.items() if k.startswith("event_partitions.") and n > 0]
    assert len(event_partitions) == 4  # three inserted months + the current one

    pg.execute("delete from auth.users where id = %s", (doomed.user_id,))

    after = user_rows(pg, doomed.user_id)
    left = {key: n for key, n in after.items() if n}
    record(check="delete user in auth.users: rows left anywhere", tried=len(after),
           succeeded=len(after) - len(left), note=f"{sum(before.values())} rows in {len(filled)} tables "
                                                  f"({len(event_partitions)} event partitions) → "
                                                  f"{sum(after.values())} left in {len(after)} user columns")
    assert left == {}
    assert set(after) == set(before)
    assert user_rows(pg, bystander.user_id) == bystander_before  # the cascade stays with its user


# --- retention ----------------------------------------------------------------------------------

OLD_MONTHS = (date(2018, 2, 1), date(2018, 3, 1), date(2018, 4, 1))
# Event timestamps around the two cut-offs: 2020-03-15 − 24 months and 2020-04-01 − 24 months.
EVENTS = {
    "feb-mid": datetime(2018, 2, 20, 12, tzinfo=UTC),
    "feb-last-µs": datetime(2018, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
    "mar-10": datetime(2018, 3, 10, tzinfo=UTC),
    "mar-15-cutoff": datetime(2018, 3, 15, tzinfo=UTC),
    "mar-last-µs": datetime(2018, 3, 31, 23, 59, 59, 999999, tzinfo=UTC),
    "apr-1-cutoff": datetime(2018, 4, 1, tzinfo=UTC),
    "apr-1-plus-µs": datetime(2018, 4, 1, 0, 0, 0, 1, tzinfo=UTC),
}
MID_MONTH_RUN, MONTH_START_RUN = date(2020, 3, 15), date(2020, 4, 1)


def partitions(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
                        "where i.inhparent = 'public.learning_events'::regclass").fetchall()
    return {str(r[0]) for r in rows}


def newer_than(conn: psycopg.Connection, cutoff: datetime) -> tuple[int, str]:
    """Count and checksum of every event at or after `cutoff` (the rows retention must not touch)."""
    row = conn.execute("select count(*), md5(coalesce(string_agg(e::text, '|' order by e.id, e.created_at), '')) "
                       "from learning_events e where created_at >= %s", (cutoff,)).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


@pytest.fixture()
def old_partitions(pg: psycopg.Connection) -> Iterator[set[str]]:
    """The 2018 partitions (created here), and every partition the retention runs create, dropped afterwards."""
    existing = partitions(pg)
    for run_date in (MID_MONTH_RUN, MONTH_START_RUN):
        pg.execute("delete from maintenance_runs where run_date = %s", (run_date,))
    pg.execute("select private.ensure_learning_event_partitions(%s, %s)", (OLD_MONTHS[0], len(OLD_MONTHS)))
    yield existing
    for name in sorted(partitions(pg) - existing):
        pg.execute(sql.SQL("drop table event_partitions.{}").format(sql.Identifier(name)))
    for run_date in (MID_MONTH_RUN, MONTH_START_RUN):
        pg.execute("delete from maintenance_runs where run_date = %s", (run_date,))


def _retention(stack: LiveStack, run_date: date) -> dict[str, Any]:
    response = stack.call("run_maintenance", token=None, headers=MAINTENANCE_HEADERS,
                          json={"run_date": run_date.isoformat(), "steps": ["retention"]})
    assert response.status_code == 200, response.text
    [step] = response.json()["steps"]
    assert (step["step"], step["status"]) == ("retention", "done")
    return dict(step["counts"])


def test_retention_drops_events_older_than_24_months_and_nothing_newer(
        live_stack: LiveStack, pg: psycopg.Connection, make_learner: Callable[[], Learner],
        old_partitions: set[str]) -> None:
    learner = make_learner()
    ids: dict[str, uuid.UUID] = {}
    for label, at in EVENTS.items():
        row = pg.execute("insert into learning_events (user_id, event_type, event_data, created_at) "
                         "values (%s, 'answer_submitted', jsonb_build_object('label', %s::text), %s) returning id",
                         (learner.user_id, label, at)).fetchone()
        assert row is not None
        ids[label] = row[0]

    def remaining() -> set[str]:
        rows = pg.execute("select event_data ->> 'label' from learning_events where user_id = %s",
                          (learner.user_id,)).fetchall()
        return {str(r[0]) for r in rows}

    # Mid-month run: cut-off 2018-03-15. February (wholly older) is dropped as a partition; March holds
    # events on both sides of the cut-off, so its older rows are deleted and the rest stays.
    cutoff = datetime(2018, 3, 15, tzinfo=UTC)
    untouched = newer_than(pg, cutoff)
    assert _retention(live_stack, MID_MONTH_RUN) == {"partitions_dropped": 1, "events_deleted": 1,
                                                       "sessions_abandoned": 0}
    assert remaining() == set(EVENTS) - {"feb-mid", "feb-last-µs", "mar-10"}
    assert newer_than(pg, cutoff) == untouched
    assert pg.execute("select count(*) from learning_events where created_at < %s", (cutoff,)).fetchone() == (0,)

    # Month-start run: cut-off 2018-04-01 exactly. Everything before it is gone, everything from it stays.
    cutoff = datetime(2018, 4, 1, tzinfo=UTC)
    untouched = newer_than(pg, cutoff)
    assert _retention(live_stack, MONTH_START_RUN) == {"partitions_dropped": 1, "events_deleted": 0,
                                                         "sessions_abandoned": 0}
    assert remaining() == {"apr-1-cutoff", "apr-1-plus-µs"}
    assert newer_than(pg, cutoff) == untouched
    assert pg.execute("select count(*) from learning_events where created_at < %s", (cutoff,)).fetchone() == (0,)
    assert {"learning_events_p201802", "learning_events_p201803"}.isdisjoint(partitions(pg))
    assert "learning_events_p201804" in partitions(pg)
    record(check="retention: raw events around the 24-month cut-off", tried=len(EVENTS), succeeded=len(EVENTS),
           lost=0, note="5 older removed (whole partitions, and the straddling month's older rows), "
                        "2 at/after the cut-off kept; newer rows' checksum unchanged")


# --- maintenance twice ---------------------------------------------------------------------------

def table_fingerprints(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of the full content of every table of the app's schemas
    (partitions through their parent), plus the partition list."""
    tables = conn.execute("select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                          "where n.nspname in ('public', 'private', 'auth') and c.relkind in ('r', 'p') "
                          "and not c.relispartition order by 1, 2").fetchall()
    fingerprints: dict[str, tuple[int, str]] = {}
    for schema, name in tables:
        query = sql.SQL("select count(*), md5(coalesce(string_agg(md5(t::text), '' order by md5(t::text)), '')) "
                        "from {} t").format(sql.Identifier(schema, name))
        row = conn.execute(query).fetchone()
        assert row is not None
        fingerprints[f"{schema}.{name}"] = (int(row[0]), str(row[1]))
    fingerprints["partitions"] = (len(partitions(conn)), ",".join(sorted(partitions(conn))))
    return fingerprints


def test_second_maintenance_run_for_a_date_is_skipped_and_changes_nothing(
        live_stack: LiveStack, pg: psycopg.Connection, make_learner: Callable[[], Learner]) -> None:
    run_date = datetime.now(UTC).date()  # today: the learner's answers below fall on the run date
    recorded = {str(r[0]) for r in pg.execute("select step from maintenance_runs where run_date = %s",
                                               (run_date,)).fetchall()}
    learner = make_learner()
    practise(live_stack, pg, learner, answers=3)
    body = {"run_date": run_date.isoformat()}
    try:
        first = live_stack.call("run_maintenance", token=None, headers=MAINTENANCE_HEADERS, json=body)
        assert first.status_code == 200, first.text
        first_steps = first.json()["steps"]
        assert [s["status"] for s in first_steps if s["step"] not in recorded] == \
            ["done"] * (len(first_steps) - len(recorded))
        fingerprint = table_fingerprints(pg)

        second = live_stack.call("run_maintenance", token=None, headers=MAINTENANCE_HEADERS, json=body)
        assert second.status_code == 200, second.text
        second_steps = second.json()["steps"]
        assert [(s["step"], s["status"], s["counts"]) for s in second_steps] == \
            [(s["step"], "skipped", s["counts"]) for s in first_steps]
        after = table_fingerprints(pg)
        changed = sorted(name for name in fingerprint if fingerprint[name] != after[name])
        record(check="run_maintenance twice for the same date", tried=2, succeeded=2,
               note=f"2nd run: {len(second_steps)} steps skipped; {len(fingerprint)} tables, changed: {changed}")
        assert changed == []
    finally:
        pg.execute("delete from maintenance_runs where run_date = %s and not (step = any(%s))",
                   (run_date, sorted(recorded)))
