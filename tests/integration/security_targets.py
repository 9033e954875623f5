"""What the security suites attack: the classified `public` API surface, the learners and their real data,
and fingerprints of everything an attack could change.

The classification below is the reviewed contract. `test_security_matrix` compares it with the catalog at
test time, so a table, view or function added to `public` fails the suite until it is classified here.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from supalocal.keys import learner_jwt
from tests.integration.conftest import LiveStack

# tests/gateway creates (and drops at the end of the run) throwaway objects named gwt<6 hex>_* in public.
TEST_OBJECT = re.compile(r"^gwt[0-9a-f]{6}_")

# Learners read their own rows (RLS: user_id = auth.uid()); nobody but the service role writes them.
LEARNER_TABLES = (
    "daily_user_stats", "knowledge_gaps", "learner_predictor_state", "learner_skill_predictor_state",
    "learning_events", "mastery_history", "practice_sessions", "session_questions", "topic_daily_stats",
    "user_learning_metrics", "user_performance_snapshots", "user_skill_mastery", "weekly_user_stats",
)
# Shared content: readable by every signed-in learner, written by the service role only.
CONTENT_RELATIONS = (
    "bkt_params", "predictor_weights", "question_catalog", "question_difficulty_params", "question_skills",
    "questions", "skill_prerequisites", "skills", "subjects", "topic_relationships", "topics",
)
# Not readable by learners at all (answer keys before answering; maintenance bookkeeping; the request log).
SERVICE_ONLY_TABLES = ("function_request_stats", "maintenance_runs", "question_answer_keys")
# Security-invoker reads a learner may call: RLS limits them to the caller's rows (or k-anonymous aggregates).
LEARNER_RPCS = (
    "answer_context", "cohort_mastery_distribution", "insights_context", "next_question_context",
    "question_bank", "session_summary_context",
)
# Writes and maintenance: service_role only (the functions call them with the verified user id).
SERVICE_RPCS = (
    "abandon_idle_sessions", "apply_decay", "apply_retention", "attempt_log_page", "begin_maintenance_step",
    "complete_session", "exam_results", "extend_learning_event_partitions", "finish_maintenance_step",
    "insert_predictor_weights", "item_exposure", "record_answer", "record_function_request_stats",
    "refresh_aggregates", "refresh_aggregates_slice", "refresh_cohort_stats", "cohort_bins_slice",
    "save_maintenance_progress", "serve_question", "set_predictor_difficulties", "snapshot_inputs",
    "start_session", "upsert_bkt_params", "upsert_irt_params", "write_daily_snapshots",
)
# Own row written by the learner through REST under RLS (the goals, issue 13). Not yet in the cross-user
# matrix (its expectations differ: RLS, not a missing grant, refuses A's writes to B's row); its RLS is
# exercised by tests/integration/test_learner_numbers_stack.py.
LEARNER_WRITABLE_TABLES = ("learner_profiles",)
RELATIONS = tuple(sorted(LEARNER_TABLES + CONTENT_RELATIONS + SERVICE_ONLY_TABLES))
RPCS = tuple(sorted(LEARNER_RPCS + SERVICE_RPCS))
VIEWS = ("question_catalog",)

# The one-to-one tables whose every possible key already has a row: the service role's insert control
# reaches the unique check (409) instead of writing; learners are refused before that (42501).
NO_FRESH_KEY = ("bkt_params", "question_answer_keys", "question_difficulty_params")


def discover_public_objects(conn: psycopg.Connection) -> tuple[dict[str, str], set[str]]:
    """(relation name → relkind, function names) exposed through /rest/v1 (schema public), from the catalog.
    Partitions, extension members and the gateway tests' throwaway objects are left out."""
    relations = {
        str(name): str(kind) for name, kind in conn.execute(
            """select c.relname, c.relkind from pg_class c
               where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
                 and not c.relispartition
                 and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                                 and d.objid = c.oid and d.deptype = 'e')""").fetchall()
        if not TEST_OBJECT.match(str(name))}
    functions = {
        str(name) for (name,) in conn.execute(
            """select p.proname from pg_proc p
               where p.pronamespace = 'public'::regnamespace
                 and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                                 and d.objid = p.oid and d.deptype = 'e')""").fetchall()
        if not TEST_OBJECT.match(str(name))}
    return relations, functions


# Catalog facts are cached per connection and table: the product schema does not change during a run.
@functools.cache
def has_user_id(conn: psycopg.Connection, table: str) -> bool:
    row = conn.execute("""select exists (select 1 from pg_attribute where attrelid = %s::regclass
                                         and attname = 'user_id' and not attisdropped)""",
                       (f"public.{table}",)).fetchone()
    return bool(row and row[0])


@functools.cache
def primary_key(conn: psycopg.Connection, table: str) -> tuple[str, ...]:
    rows = conn.execute(
        """select a.attname from pg_index i
           join lateral unnest(i.indkey) with ordinality k(attnum, n) on true
           join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
           where i.indrelid = %s::regclass and i.indisprimary order by k.n""", (f"public.{table}",)).fetchall()
    return tuple(str(r[0]) for r in rows) or ("id",)  # a view has no key: its rows are addressed by id


@functools.cache
def surrogate_columns(conn: psycopg.Connection, table: str) -> frozenset[str]:
    """Columns the database fills itself (identity, generated, uuid/serial defaults): left out of inserts."""
    rows = conn.execute(
        """select a.attname from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
           where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
             and (a.attidentity <> '' or a.attgenerated <> ''
                  or pg_get_expr(d.adbin, d.adrelid) ~ '(gen_random_uuid|nextval)\\(')""",
        (f"public.{table}",)).fetchall()
    return frozenset(str(r[0]) for r in rows)


def fingerprint(conn: psycopg.Connection, tables: Iterable[str], user_ids: Iterable[uuid.UUID]) -> dict[str, str]:
    """Row count and the sum of the rows' xmin, per table (learner tables: the cast's rows). Any committed
    insert, update or delete moves one of them (an update writes a new row version with a new xmin, even
    when it sets the same values); rolled-back writes leave both as they were."""
    users = [str(u) for u in user_ids]
    parts = []
    for table in tables:
        where = sql.SQL("where x.user_id = any({}::uuid[])").format(sql.Literal(users)) \
            if has_user_id(conn, table) else sql.SQL("")
        parts.append(sql.SQL("{}, (select count(*) || ':' || coalesce(sum(x.xmin::text::bigint), 0) "
                             "from {} x {})").format(sql.Literal(table), sql.Identifier("public", table), where))
    row = conn.execute(sql.SQL("select jsonb_build_object({})").format(sql.SQL(", ").join(parts))).fetchone()
    assert row is not None
    return dict(row[0])


@dataclass(frozen=True, slots=True)
class Cast:
    """Learners A (attacker, with a session of their own), B (victim, with a real history in every learner
    table) and C (no data: the victim where B already holds the one row a table allows per learner)."""

    a: uuid.UUID
    b: uuid.UUID
    c: uuid.UUID
    a_token: str
    b_token: str
    b_completed_session: uuid.UUID
    b_active_session: uuid.UUID
    b_served_question: int  # served in B's active session, not answered yet
    b_idempotency_keys: tuple[str, ...]
    fresh_question: int  # never served to B
    b_skill: int  # a skill B practised
    b_gap_skill: int  # B's open knowledge gap (not a skill A practised)
    a_completed_session: uuid.UUID

    @property
    def markers(self) -> tuple[str, ...]:
        """Strings only B's data contains: any of them in a response to someone else is a leak."""
        return (str(self.b), str(self.b_completed_session), str(self.b_active_session), *self.b_idempotency_keys)

    def leaked(self, body: object) -> list[str]:
        text = json.dumps(body, default=str)
        return [m for m in self.markers if m in text]


def target_row(conn: psycopg.Connection, table: str, cast: Cast) -> dict[str, Any]:
    """The row an attack addresses: one of B's rows, or the first content row."""
    order = sql.SQL(", ").join(sql.Identifier(c) for c in primary_key(conn, table))
    where = sql.SQL("where x.user_id = {}").format(sql.Literal(str(cast.b))) if has_user_id(conn, table) \
        else sql.SQL("")
    if table == "practice_sessions":  # B's completed session, the one with history behind it
        where = sql.SQL("where x.id = {}").format(sql.Literal(str(cast.b_completed_session)))
    row = conn.execute(sql.SQL("select to_jsonb(x) from {} x {} order by {} limit 1").format(
        sql.Identifier("public", table), where, order)).fetchone()
    assert row is not None, f"no row of {table} to target: the arrangement must give B (or content) rows"
    return dict(row[0])


def key_filter(conn: psycopg.Connection, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {column: row[column] for column in primary_key(conn, table)}


def _absent_pair(conn: psycopg.Connection, query: str) -> tuple[int, int]:
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def insert_payload(conn: psycopg.Connection, table: str, cast: Cast) -> dict[str, Any]:
    """A complete, valid new row (for B where the table has user_id): a copy of the target row with the
    database-filled columns left out and fresh values for its unique keys."""
    row = {k: v for k, v in target_row(conn, table, cast).items() if k not in surrogate_columns(conn, table)}
    if "user_id" in row:
        row["user_id"] = str(cast.b)
    if table in ("subjects", "topics", "skills"):
        row["code"] = f"{row['code']}_forged"
    elif table == "questions":
        row["external_ref"] = f"{row['external_ref']}_forged"
    elif table == "question_skills":
        row["skill_id"] = _absent_pair(conn, f"""select {row['question_id']}, s.id from skills s where not exists
            (select 1 from question_skills qs where qs.question_id = {row['question_id']} and qs.skill_id = s.id)
            order by s.id limit 1""")[1]
    elif table == "topic_relationships":
        row["topic_id"], row["related_topic_id"] = _absent_pair(conn, """select a.id, b.id from topics a, topics b
            where a.id <> b.id and not exists (select 1 from topic_relationships r
              where r.topic_id = a.id and r.related_topic_id = b.id) order by 1, 2 limit 1""")
    elif table == "skill_prerequisites":
        # two skills of different topics with no edge either way (the reverse of an edge would be a cycle)
        row["skill_id"], row["prerequisite_skill_id"] = _absent_pair(conn, """select a.id, b.id from skills a, skills b
            where a.id <> b.id and not exists (select 1 from skill_prerequisites p
              where (p.skill_id, p.prerequisite_skill_id) in ((a.id, b.id), (b.id, a.id)))
              and a.topic_id <> b.topic_id order by 1 desc, 2 limit 1""")
    elif table == "session_questions":
        row["question_id"] = cast.fresh_question
        if row.get("idempotency_key") is not None:
            row["idempotency_key"] = f"forged-{uuid.uuid4()}"
    elif table in ("user_skill_mastery", "knowledge_gaps"):
        row["skill_id"] = _skill_b_lacks(conn, table, cast)
    elif table in ("daily_user_stats", "topic_daily_stats"):
        row["stat_date"] = "2001-01-02"
    elif table == "weekly_user_stats":
        row["week_start"] = "2001-01-01"  # a Monday
    elif table in ("user_learning_metrics", "learner_predictor_state"):
        row["user_id"] = str(cast.c)  # one row per learner and B has theirs: C is the victim here
    elif table == "learner_skill_predictor_state":
        row["skill_id"] = _skill_b_lacks(conn, table, cast)
    elif table == "user_performance_snapshots" and row.get("related_id") is not None:
        row["related_id"] = str(uuid.uuid4())
    elif table == "maintenance_runs":
        row["run_date"] = "2001-01-04"
    elif table == "function_request_stats":
        row["instance_id"] = "forged"
    return row


def _skill_b_lacks(conn: psycopg.Connection, table: str, cast: Cast) -> int:
    row = conn.execute(sql.SQL("select min(s.id) from skills s where not exists "
                               "(select 1 from {} t where t.user_id = %s and t.skill_id = s.id)").format(
        sql.Identifier("public", table)), (cast.b,)).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


@functools.cache
def rpc_signature(conn: psycopg.Connection, name: str) -> tuple[tuple[str, str], ...]:
    """(argument name, type) of the public function (the first overload, by oid)."""
    row = conn.execute(
        """select coalesce(array_agg(a.name order by a.n) filter (where a.name is not null), '{}'),
                  coalesce(array_agg(format_type(a.type, null) order by a.n) filter (where a.name is not null), '{}')
           from (select p.oid from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname = %s
                 order by p.oid limit 1) f
           cross join lateral (select p.proargnames, p.proargtypes from pg_proc p where p.oid = f.oid) p
           left join lateral unnest(p.proargnames[1:cardinality(p.proargtypes::oid[])], p.proargtypes::oid[])
                with ordinality a(name, type, n) on true""", (name,)).fetchone()
    assert row is not None
    return tuple(zip(row[0], row[1], strict=True))


# Stronger attacks where the function's arguments are the ones reviewed here (else rpc_args falls back to
# values chosen by argument name and type, so a changed signature still gets called, not a 404).
_ATTACK_ROWS: dict[str, Any] = {
    "apply_decay": lambda c: {"p_as_of": "2999-01-01T00:00:00Z", "p_decay": -0.5, "p_factor": 0.2,
                              "p_tolerance": 0.0},
    "complete_session": lambda c: {"p_snapshot": {"predicted_score": 800}},
    "record_answer": lambda c: {"p_answer": {
        "session_id": str(c.b_active_session), "question_id": c.b_served_question,
        "idempotency_key": f"forged-{uuid.uuid4()}", "is_correct": True, "user_answer": ["A"]},
        "p_mastery": [], "p_difficulty_deltas": [], "p_response": {"forged": True}},
    "begin_maintenance_step": lambda c: {"p_run_date": "2001-01-05", "p_step": "decay"},
    "finish_maintenance_step": lambda c: {"p_run_date": "2001-01-05", "p_step": "decay", "p_status": "done",
                                          "p_counts": {}, "p_seconds": 0},
    "snapshot_inputs": lambda c: {"p_run_date": "2001-01-05"},
    "serve_question": lambda c: {"p_question_id": c.fresh_question, "p_reason": {"forged": True}},
    "start_session": lambda c: {"p_mode": "adaptive", "p_filters": {}},
    "session_summary_context": lambda c: {"p_session_id": str(c.b_completed_session)},
    "upsert_bkt_params": lambda c: {"p_rows": [{"skill_id": c.b_skill, "p_init": 0.99, "p_learn": 0.99,
                                                "p_guess": 0.01, "p_slip": 0.01}]},
    "upsert_irt_params": lambda c: {"p_rows": [{"question_id": c.b_served_question, "discrimination": 9.0,
                                                "difficulty": -9.0}]},
    "set_predictor_difficulties": lambda c: {"p_rows": [{"question_id": c.b_served_question, "difficulty": -6.0}]},
    "insert_predictor_weights": lambda c: {"p_row": {"n_answers": 1, "weights": [0, 0, 0, 0, 0, 0, 0, 9]}},
    "write_daily_snapshots": lambda c: {"p_rows": [{"user_id": str(c.b), "avg_mastery": 1.0}]},
}


def rpc_args(conn: psycopg.Connection, name: str, cast: Cast) -> dict[str, Any]:
    """Arguments aimed at B's data (or at shared model parameters): B's ids by argument name, plausible
    values by type otherwise, then the reviewed attack values for the arguments the function still has."""
    now = datetime.now(UTC)
    by_name: dict[str, Any] = {
        "p_user_id": str(cast.b), "p_session_id": str(cast.b_active_session),
        "p_question_id": cast.b_served_question, "p_skill_id": cast.b_skill,
        "p_idempotency_key": cast.b_idempotency_keys[0], "p_since": "2000-01-01T00:00:00+00:00",
        "p_decay": -0.5,  # a forgetting exponent is negative
    }
    by_type: dict[str, Any] = {
        "date": now.date().isoformat(), "timestamp with time zone": now.isoformat(), "uuid": str(cast.b),
        "double precision": 0.5, "numeric": 0.5, "integer": 10, "bigint": cast.b_skill, "smallint": 1,
        "boolean": True, "text": "forged", "jsonb": {}, "json": {},
    }
    signature = rpc_signature(conn, name)
    args = {arg: by_name[arg] if arg in by_name else by_type.get(kind, []) for arg, kind in signature}
    extra = _ATTACK_ROWS[name](cast) if name in _ATTACK_ROWS else {}
    args.update({k: v for k, v in extra.items() if k in args})
    return args


# --- arranging the cast through the real functions ----------------------------------------------------------


def answer_key(conn: psycopg.Connection, question_id: int) -> list[str]:
    row = conn.execute("select correct_answer from question_answer_keys where question_id = %s",
                       (question_id,)).fetchone()
    assert row is not None
    return list(row[0])


def run_session(stack: LiveStack, conn: psycopg.Connection, token: str, *, answers: int,
                complete: bool) -> tuple[uuid.UUID, list[str], int | None]:
    """A real session through the functions → (session id, idempotency keys used, served-unanswered question)."""
    started = stack.call("start_session", token=token, json={})
    assert started.status_code == 201, started.text
    session_id = uuid.UUID(started.json()["session_id"])
    keys: list[str] = []
    pending: int | None = None
    for i in range(answers + (0 if complete else 1)):
        served = stack.call("next_question", token=token, json={"session_id": str(session_id)})
        assert served.status_code == 200, served.text
        question_id = int(served.json()["question"]["id"])
        if i == answers:
            pending = question_id  # served, left unanswered: the session stays active with work in flight
            break
        key = f"sec-{uuid.uuid4()}"
        answer = answer_key(conn, question_id) if i % 2 == 0 else ["definitely-wrong"]
        submitted = stack.call("submit_answer", token=token, json={
            "session_id": str(session_id), "question_id": question_id, "user_answer": answer,
            "confidence_score": 4, "time_spent_seconds": 12.5, "idempotency_key": key})
        assert submitted.status_code == 200, submitted.text
        keys.append(key)
    if complete:
        done = stack.call("complete_session", token=token, json={"session_id": str(session_id)})
        assert done.status_code == 200, done.text
    return session_id, keys, pending


def arrange_aggregates(conn: psycopg.Connection, cast: Cast) -> None:
    """B's rows in the tables the nightly refresh fills (written directly: refresh_aggregates recomputes
    every learner's day, which other suites sharing the cluster do not expect from this one)."""
    statements = (
        "insert into daily_user_stats (user_id, stat_date, questions_answered, correct_answers)"
        " values (%(b)s, current_date, 2, 1)",
        "insert into weekly_user_stats (user_id, week_start, questions_answered, correct_answers)"
        " values (%(b)s, date_trunc('week', current_date)::date, 2, 1)",
        "insert into topic_daily_stats (user_id, topic_id, stat_date, questions_answered, correct_answers)"
        " select %(b)s, s.topic_id, current_date, 2, 1 from skills s where s.id = %(skill)s",
        "insert into user_learning_metrics (user_id, as_of_date, questions_all_time) values (%(b)s, current_date, 2)",
        "insert into knowledge_gaps (user_id, skill_id, gap_score, priority_score, severity)"
        " values (%(b)s, %(gap)s, 0.7, 3.1, 'high')",
        "insert into maintenance_runs (run_date, step) values ('2001-01-03', 'security_matrix')",
        "insert into function_request_stats (minute, function_name, instance_id, status, requests, latency_ms_sum,"
        " latency_ms_max, latency_buckets) values ('2001-01-03 00:00Z', 'security_matrix', 'security-matrix', 200, 1,"
        " 5, 5, '{1,0,0,0,0,0,0,0,0,0,0,0}')",
    )
    for statement in statements:
        conn.execute(statement, {"b": cast.b, "skill": cast.b_skill, "gap": cast.b_gap_skill})


def arrange_cast(stack: LiveStack, conn: psycopg.Connection, users: list[uuid.UUID]) -> Cast:
    """A, B and C in auth.users; B with a completed session (3 answers) and an active one (a question served,
    unanswered) and rows in every learner table; A with a completed session of their own."""
    for user in users:
        conn.execute("insert into auth.users (id, email) values (%s, %s)", (user, f"{user}@security.test"))
    a, b, c = users
    tokens = [learner_jwt(u, secret=stack.settings.jwt_secret) for u in users]
    done_b, keys_b, _ = run_session(stack, conn, tokens[1], answers=3, complete=True)
    active_b, _, pending = run_session(stack, conn, tokens[1], answers=0, complete=False)
    done_a, _, _ = run_session(stack, conn, tokens[0], answers=2, complete=True)
    row = conn.execute("""
        select (select min(skill_id) from user_skill_mastery where user_id = %(b)s),
               (select min(s.id) from skills s where s.id not in
                  (select skill_id from user_skill_mastery where user_id in (%(a)s, %(b)s))),
               (select min(q.id) from questions q where q.is_active and q.id not in
                  (select question_id from session_questions where user_id = %(b)s))""", {"a": a, "b": b}).fetchone()
    assert row is not None and None not in row and pending is not None
    cast = Cast(a=a, b=b, c=c, a_token=tokens[0], b_token=tokens[1], b_completed_session=done_b,
                b_active_session=active_b, b_served_question=pending, b_idempotency_keys=tuple(keys_b),
                fresh_question=int(row[2]), b_skill=int(row[0]), b_gap_skill=int(row[1]), a_completed_session=done_a)
    arrange_aggregates(conn, cast)
    for table in LEARNER_TABLES:  # B owns rows everywhere, so "0 of B's rows" means something
        count = conn.execute(sql.SQL("select count(*) from {} where user_id = %s").format(
            sql.Identifier("public", table)), (b,)).fetchone()
        assert count is not None and count[0] > 0, f"B has no {table} rows"
    return cast


@dataclass
class Tally:
    """Attempts per identity: tried, succeeded (reached what it must not), 5xx answers."""

    tried: dict[str, int] = field(default_factory=dict)
    succeeded: dict[str, int] = field(default_factory=dict)
    server_errors: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, *, succeeded: bool, status: int) -> None:
        self.tried[key] = self.tried.get(key, 0) + 1
        self.succeeded[key] = self.succeeded.get(key, 0) + int(succeeded)
        self.server_errors[key] = self.server_errors.get(key, 0) + int(status >= 500)
