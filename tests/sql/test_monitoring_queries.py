"""Every block of sql/monitoring_queries.sql runs on the seeded database with known activity.

The activity (3 learners, 6 sessions, 38 answers through the service-role RPCs, then the nightly
aggregates) is built in ONE transaction that is rolled back at the end; each block runs in a
savepoint. Other suites share the cluster and may have committed learners of their own, so the
expectations are about the fixture's rows: rows of the fixture learners, values the output must
cover, or exact counts for blocks whose size does not depend on other data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from supalocal.settings import StackSettings
from tests.sql.monitoring_blocks import MONITORING_SQL, PGTAP_FILE, parse_blocks, render_pgtap

BLOCKS = {block.name: block for block in parse_blocks(MONITORING_SQL.read_text())}


@dataclass(frozen=True, slots=True)
class SessionPlan:
    started_before_hour: timedelta  # session start, before the start of the current hour
    answers: int
    complete: bool = True


@dataclass(frozen=True, slots=True)
class LearnerPlan:
    email: str
    sessions: tuple[SessionPlan, ...]


PLANS = (
    LearnerPlan("ada@monitoring.test", (SessionPlan(timedelta(days=14), 6), SessionPlan(timedelta(days=7), 6),
                                         SessionPlan(timedelta(hours=1), 6))),
    LearnerPlan("ben@monitoring.test", (SessionPlan(timedelta(days=8), 5), SessionPlan(timedelta(hours=3), 5))),
    LearnerPlan("cy@monitoring.test", (SessionPlan(timedelta(hours=5), 4, complete=False),)),
)


@dataclass(frozen=True, slots=True)
class Answer:
    email: str
    question_id: int
    topic_id: int
    skill_ids: tuple[int, ...]
    answered_at: datetime
    confidence: int


@dataclass(slots=True)
class SkillState:
    version: int
    p_mastery: float
    elo: float = 1200.0
    due: datetime | None = None


@dataclass(slots=True)
class Activity:
    now: datetime
    user_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    states: dict[tuple[str, int], SkillState] = field(default_factory=dict)

    def emails_with_at_least(self, n: int) -> int:
        per_email: dict[str, int] = {}
        for answer in self.answers:
            per_email[answer.email] = per_email.get(answer.email, 0) + 1
        return sum(1 for count in per_email.values() if count >= n)


def _answer_payloads(*, activity: Activity, email: str, skills: tuple[int, ...], correct: bool,
                     answered_at: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The model update the functions would compute: ±0.1 mastery, ±16 Elo, due in 3 or 1 days."""
    mastery, deltas = [], []
    for skill_id in skills:
        state = activity.states[(email, skill_id)]
        new_p = round(min(0.99, max(0.01, state.p_mastery + (0.1 if correct else -0.05))), 4)
        due = answered_at + timedelta(days=3 if correct else 1)
        mastery.append({"skill_id": skill_id, "expected_version": state.version, "p_mastery": new_p,
                        "effective_mastery": new_p, "elo_rating": state.elo + (16 if correct else -16),
                        "elo_uncertainty": 60, "last_review": answered_at.isoformat(), "due": due.isoformat(),
                        "learning_velocity": 0.05 if correct else -0.02})
        deltas.append({"skill_id": skill_id, "delta": -4 if correct else 4})
        new_elo = state.elo + (16 if correct else -16)
        activity.states[(email, skill_id)] = SkillState(state.version + 1, new_p, new_elo, due)
    return mastery, deltas


def build_activity(conn: psycopg.Connection) -> Activity:
    cur = conn.cursor()
    row = cur.execute("select now(), date_trunc('hour', now())").fetchone()
    assert row is not None
    activity = Activity(now=row[0])
    hour: datetime = row[1]
    questions = cur.execute("""select q.id, q.topic_id, array_agg(qs.skill_id order by qs.skill_id)
                               from public.questions q join public.question_skills qs on qs.question_id = q.id
                               group by q.id order by q.id""").fetchall()
    p_init: dict[int, float] = dict(cur.execute("select skill_id, p_init from public.bkt_params").fetchall())

    for learner_index, plan in enumerate(PLANS):
        # auth.users.id has no default (as hosted, where Supabase Auth generates it)
        user_id = cur.execute("insert into auth.users (id, email) values (%s, %s) returning id",
                              (uuid.uuid4(), plan.email)).fetchone()
        assert user_id is not None
        uid: uuid.UUID = user_id[0]
        activity.user_ids[plan.email] = uid
        activity.states.update({(plan.email, s): SkillState(0, p) for s, p in p_init.items()})
        answer_index = 0
        for session in plan.sessions:
            started = hour - session.started_before_hour
            cur.execute("set local role service_role")
            sid = cur.execute("select (public.start_session(%s, 'adaptive', '{}') ->> 'id')::uuid", (uid,)).fetchone()
            assert sid is not None
            for j in range(session.answers):
                question_id, topic_id, skills = questions[(learner_index * 101 + answer_index * 29) % len(questions)]
                correct = answer_index % 3 != 2
                answered_at = started + timedelta(minutes=2 * j)
                confidence = 1 + answer_index % 5
                mastery, deltas = _answer_payloads(activity=activity, email=plan.email, skills=tuple(skills),
                                                   correct=correct, answered_at=answered_at)
                cur.execute("select public.serve_question(%s, %s, %s, %s)",
                            (uid, sid[0], question_id, Jsonb({"why": "fixture"})))
                result = cur.execute("select public.record_answer(%s, %s, %s, %s, %s)", (
                    uid,
                    Jsonb({"session_id": str(sid[0]), "question_id": question_id,
                           "idempotency_key": f"{plan.email}-{answer_index}", "user_answer": ["A"],
                           "is_correct": correct, "confidence_score": confidence,
                           "time_spent_seconds": 30 + 5 * j, "answered_at": answered_at.isoformat()}),
                    Jsonb(mastery), Jsonb(deltas), Jsonb({"is_correct": correct}))).fetchone()
                assert result is not None and result[0]["status"] == "created"
                activity.answers.append(
                    Answer(plan.email, question_id, topic_id, tuple(skills), answered_at, confidence))
                answer_index += 1
            if session.complete:
                cur.execute("select public.complete_session(%s, %s, %s)",
                            (uid, sid[0], Jsonb({"predicted_score": 600})))
            cur.execute("reset role")
            # backdate the session itself (the RPCs stamp server time)
            cur.execute("""update public.practice_sessions set started_at = %(s)s,
                                  ended_at = case when status = 'completed' then %(e)s end, last_activity_at = %(e)s
                           where id = %(id)s""",
                        {"s": started, "e": started + timedelta(minutes=2 * session.answers), "id": sid[0]})
            cur.execute("update public.session_questions set served_at = answered_at - interval '30 seconds' "
                        "where session_id = %s", (sid[0],))

    cur.execute("set local role service_role")
    cur.execute("select public.record_function_request_stats(%s, %s)",
                (REQUEST_LOG_INSTANCE, Jsonb(request_log_rows(activity.now))))
    cur.execute("select public.write_daily_snapshots(current_date, %s)",
                (Jsonb([{"user_id": str(uid)} for uid in activity.user_ids.values()]),))
    cur.execute("select public.refresh_aggregates(current_date)")
    cur.execute("reset role")
    cur.execute("select set_config('monitoring.user_id', %s, true)", (str(activity.user_ids[PLANS[0].email]),))
    return activity


REQUEST_LOG_INSTANCE = "monitoring-test"
REQUEST_LOG_HOURS_AGO = 20  # a minute no live instance writes to, so the report's figures are exact


def _buckets(**counts: int) -> list[int]:
    """A latency histogram: counts by upper bound, e.g. _buckets(ms_25=3) puts 3 requests in (10, 25] ms."""
    bounds = ["ms_5", "ms_10", "ms_25", "ms_50", "ms_100", "ms_250", "ms_500", "ms_1000", "ms_2500", "ms_5000",
              "ms_10000", "over"]
    return [counts.get(bound, 0) for bound in bounds]


def request_log_rows(now: datetime) -> list[dict[str, Any]]:
    """What one instance's flush would send: submit_answer 96 × 200 (p95 in the 25 ms bucket, one slow at
    80 ms), 3 × 400 validation_failed and 1 × 503; next_question 10 × 200. Written at the minute
    REQUEST_LOG_HOURS_AGO hours ago and again 5 minutes ago (for the last-hour health check)."""
    rows = []
    for minute in (now - timedelta(hours=REQUEST_LOG_HOURS_AGO), now - timedelta(minutes=5)):
        stamp = minute.replace(second=0, microsecond=0).isoformat()
        rows += [
            {"minute": stamp, "function_name": "submit_answer", "status": 200, "error_code": "", "requests": 96,
             "latency_ms_sum": 1920.0, "latency_ms_max": 80.0, "latency_buckets": _buckets(ms_10=20, ms_25=75,
                                                                                            ms_100=1)},
            {"minute": stamp, "function_name": "submit_answer", "status": 400, "error_code": "validation_failed",
             "requests": 3, "latency_ms_sum": 6.0, "latency_ms_max": 2.5, "latency_buckets": _buckets(ms_5=3)},
            {"minute": stamp, "function_name": "submit_answer", "status": 503, "error_code": "upstream_unavailable",
             "requests": 1, "latency_ms_sum": 8004.0, "latency_ms_max": 8004.0,
             "latency_buckets": _buckets(ms_10000=1)},
            {"minute": stamp, "function_name": "next_question", "status": 200, "error_code": "", "requests": 10,
             "latency_ms_sum": 150.0, "latency_ms_max": 30.0, "latency_buckets": _buckets(ms_25=9, ms_50=1)},
        ]
    return rows


@dataclass(frozen=True, slots=True)
class Exactly:
    """The block returns exactly `count` rows whatever else the database holds."""

    count: int


@dataclass(frozen=True, slots=True)
class OwnRows:
    """Rows whose `column` (user_id or email) belongs to a fixture learner: exactly `count`."""

    column: str
    count: int


@dataclass(frozen=True, slots=True)
class Covers:
    """The values of `column` include every value in `values` (other data may add more)."""

    column: str
    values: frozenset[Any]


Expectation = Exactly | OwnRows | Covers | None  # None: runs, size depends on global bookkeeping


def expectations(activity: Activity) -> dict[str, Expectation]:
    ada = [a for a in activity.answers if a.email == PLANS[0].email]
    last_48h = activity.now - timedelta(hours=48)
    practised = [(k, s) for k, s in activity.states.items() if s.version > 0]
    return {
        "user_progress": OwnRows("email", len(PLANS)),
        # monitoring.user_id is set to ada: one history row per (answer, skill)
        "learning_over_time": Exactly(sum(len(a.skill_ids) for a in ada)),
        "confidence_analysis": Covers("confidence_score", frozenset(a.confidence for a in activity.answers)),
        "weekly_progress_trend": OwnRows("user_id", 2),  # ada (3 weeks), ben (2 weeks); cy has one week
        "topic_mastery_levels": OwnRows("user_id", len({(a.email, a.topic_id) for a in activity.answers})),
        "learner_rankings": OwnRows("user_id", activity.emails_with_at_least(5)),
        "knowledge_gap_priorities": OwnRows("user_id", sum(1 for _, s in practised if s.p_mastery < 0.6)),
        "exam_readiness": OwnRows("user_id", len(PLANS)),  # everyone has a daily snapshot
        "study_time_of_day": Covers("hour_utc", frozenset(a.answered_at.hour for a in activity.answers)),
        "reviews_due": OwnRows("user_id", sum(1 for _, s in practised if s.due is not None and s.due <= activity.now)),
        "cohort_skill_struggle": None,  # k-anonymous, global: the fixture's 3 learners never reach k = 10
        "question_difficulty_drift": Covers("question_id", frozenset(a.question_id for a in activity.answers)),
        "health_attempts_per_hour": Covers("hour", frozenset(a.answered_at.replace(minute=0, second=0, microsecond=0)
                                                             for a in activity.answers if a.answered_at >= last_48h)),
        "health_stale_mastery": Exactly(1),
        "health_snapshot_freshness": Exactly(1),
        "health_history_consistency": Exactly(1),
        "health_partitions": Exactly(1),
        "health_error_conflict_counts": Exactly(1),
        "health_maintenance_runs": None,
        "health_event_volume": Covers("event_type", frozenset(
            {"session_started", "question_served", "answer_submitted", "session_completed"})),
        "query_latency": Exactly(20),  # the seed and the fixture alone run more than 20 distinct statements
        "slowest_rpcs": Covers("rpc", frozenset(
            {"start_session", "serve_question", "record_answer", "complete_session", "refresh_aggregates"})),
        "function_latency": Covers("function_name", frozenset({"submit_answer", "next_question"})),
        "function_error_codes": Covers("error_code", frozenset({"validation_failed", "upstream_unavailable"})),
        "health_function_errors": Covers("function_name", frozenset({"submit_answer", "next_question"})),
    }


def check(expectation: Expectation, columns: list[str], rows: list[tuple[Any, ...]], activity: Activity) -> None:
    if isinstance(expectation, Exactly):
        assert len(rows) == expectation.count
    elif isinstance(expectation, OwnRows):
        mine = {str(v) for v in activity.user_ids.values()} | set(activity.user_ids)
        index = columns.index(expectation.column)
        assert sum(1 for row in rows if str(row[index]) in mine) == expectation.count
    elif isinstance(expectation, Covers):
        index = columns.index(expectation.column)
        assert expectation.values <= {row[index] for row in rows}


@pytest.fixture(scope="module")
def seeded(stack_settings: StackSettings) -> Iterator[tuple[psycopg.Connection, Activity]]:
    with psycopg.connect(stack_settings.dsn()) as conn:
        try:
            yield conn, build_activity(conn)
        finally:
            conn.rollback()


def run_block(conn: psycopg.Connection, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with conn.transaction(), conn.cursor() as cur:  # a savepoint inside the fixture's transaction
        cur.execute(BLOCKS[name].sql)
        assert cur.description is not None
        return [c.name for c in cur.description], cur.fetchall()


def test_blocks_are_named_uniquely_commented_and_single_statements() -> None:
    names = [block.name for block in parse_blocks(MONITORING_SQL.read_text())]
    assert len(names) == len(set(names)) == 25
    for block in BLOCKS.values():
        assert block.sql.startswith("--"), f"{block.name} has no comment"
        assert ";" not in block.statement, f"{block.name} holds more than one statement"


def test_pgtap_copy_is_in_sync() -> None:
    assert PGTAP_FILE.read_text() == render_pgtap(list(BLOCKS.values())), (
        "run: .venv/bin/python -m tests.sql.monitoring_blocks")


def test_every_block_has_an_expectation() -> None:
    assert set(expectations(Activity(now=datetime.now(UTC)))) == set(BLOCKS)


@pytest.mark.stack
@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_block_runs_and_returns_the_fixture_rows(seeded: tuple[psycopg.Connection, Activity], name: str) -> None:
    conn, activity = seeded
    columns, rows = run_block(conn, name)
    check(expectations(activity)[name], columns, rows, activity)


@pytest.mark.stack
def test_health_checks_report_a_consistent_database(seeded: tuple[psycopg.Connection, Activity]) -> None:
    conn, activity = seeded
    columns, rows = run_block(conn, "health_history_consistency")
    consistency = dict(zip(columns, rows[0], strict=True))
    assert consistency.pop("mastery_rows") >= sum(1 for s in activity.states.values() if s.version > 0)
    assert consistency == {"rows_without_history": 0, "effective_mismatch": 0, "p_mastery_mismatch": 0}
    columns, rows = run_block(conn, "health_partitions")
    partitions = dict(zip(columns, rows[0], strict=True))
    assert partitions["current_month_present"] is True
    assert partitions["future_months_ready"] >= 3
    assert partitions["alert"] is False
    columns, rows = run_block(conn, "health_snapshot_freshness")
    freshness = dict(zip(columns, rows[0], strict=True))
    assert freshness["completed_sessions_without_snapshot"] == 0
    assert freshness["days_since_daily_snapshot"] == 0


@pytest.mark.stack
def test_learning_over_time_follows_the_chosen_learner(seeded: tuple[psycopg.Connection, Activity]) -> None:
    conn, activity = seeded
    columns, rows = run_block(conn, "learning_over_time")
    assert {row[columns.index("user_id")] for row in rows} == {activity.user_ids[PLANS[0].email]}
    assert all(row[columns.index("delta")] not in (None, 0) for row in rows)
    assert {row[columns.index("trigger_type")] for row in rows} == {"question"}


@pytest.mark.stack
def test_rankings_order_by_accuracy(seeded: tuple[psycopg.Connection, Activity]) -> None:
    conn, _ = seeded
    columns, rows = run_block(conn, "learner_rankings")
    scores = [row[columns.index("avg_score")] for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert [row[columns.index("overall_rank")] for row in rows] == list(range(1, len(rows) + 1))


@pytest.mark.stack
def test_partition_health_alerts_when_fewer_than_three_future_months_exist(
        seeded: tuple[psycopg.Connection, Activity]) -> None:
    conn, _ = seeded
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute("""select c.oid::regclass::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
                       where i.inhparent = 'public.learning_events'::regclass
                         and pg_get_expr(c.relpartbound, c.oid) like
                             'FOR VALUES FROM (''' || to_char(date_trunc('month', now() at time zone 'UTC')
                                                              + interval '3 months', 'YYYY-MM-DD') || '%'""")
        third_month = cur.fetchone()
        assert third_month is not None
        cur.execute(f"alter table public.learning_events detach partition {third_month[0]}")
        row = cur.execute(BLOCKS["health_partitions"].sql).fetchone()
        assert row is not None
        assert (row[0], row[1], row[3]) == (True, 2, True)  # months +1 and +2 remain before the gap


@pytest.mark.stack
def test_function_request_report_gives_exact_rates_and_quantiles(
        seeded: tuple[psycopg.Connection, Activity]) -> None:
    conn, activity = seeded
    minute = (activity.now - timedelta(hours=REQUEST_LOG_HOURS_AGO)).replace(second=0, microsecond=0)
    rows = conn.execute("""select function_name, requests, client_errors, server_errors, unavailable,
                                  error_rate_pct, mean_ms, p50_ms, p95_ms, p99_ms, max_ms
                           from monitoring.function_request_report(%s, %s, 'all')""",
                        (minute, minute + timedelta(minutes=1))).fetchall()
    # submit_answer: 100 requests, 1 server error (1.00 %); mean (1920 + 6 + 8004) / 100 = 99.3 ms;
    # cumulative 3, 23, 98 of 100 by the 5, 10 and 25 ms buckets: p50 and p95 are "at most 25 ms"; the 99th
    # request is the 80 ms one (100 ms bucket); the 503's 8,004 ms is the max. next_question: its 95th request
    # falls in the 50 ms bucket, capped at its slowest request, 30 ms.
    assert rows == [
        ("next_question", 10, 0, 0, 0, Decimal("0.00"), Decimal("15.0"), 25.0, 30.0, 30.0, Decimal("30.0")),
        ("submit_answer", 100, 3, 1, 1, Decimal("1.00"), Decimal("99.3"), 25.0, 25.0, 100.0, Decimal("8004.0")),
    ]


@pytest.mark.stack
def test_request_log_rejects_what_is_not_a_row_list(seeded: tuple[psycopg.Connection, Activity]) -> None:
    conn, _ = seeded
    with conn.transaction(force_rollback=True):
        conn.execute("set local role service_role")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="must be a JSON array"):
            conn.execute("select public.record_function_request_stats('x', '{}')")
