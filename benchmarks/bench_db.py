"""The database's own ceiling: the transactions the functions run, driven with psycopg, no gateway, no functions.

    .venv/bin/python benchmarks/bench_db.py                          # on 10k learners / 1M answers (bigdata.py)
    .venv/bin/python benchmarks/bench_db.py --answers 100000 --learners-driven 1000 --clients 8   # quick
    make bench-db

Each client is a process with one connection (as PostgREST holds one per request): every transaction is
`begin; select set_config('role', …), set_config('request.jwt.claims', …); select <rpc>(…); commit`, pipelined
in one round trip, which is how PostgREST runs an RPC (role + claims per transaction). `synchronous_commit`
stays on (the cluster's default, as on hosted Supabase): every write waits for its WAL flush.

Phases, each over the same driven learners (one new session each, `--questions` questions), timed apart:
  start    start_session                                                    (service_role)
  serve    next_question_context (read, as the learner) + serve_question    (service_role)
  context  answer key (read, service_role) + answer_context (read, as the learner)
  record   record_answer with mastery items (versions from the context read, advanced locally) and
           difficulty deltas, as submit_answer sends them                   (service_role)
Per RPC: transactions/s, p50/p95 ms, Postgres backend CPU ms per transaction (utime+stime of the backends
from /proc, which contention on a shared machine does not inflate much), the client's own CPU ms per
transaction (it shares the cores), WAL bytes, WAL records and full-page images per transaction (pg_stat_wal).
Afterwards the counters are checked exactly (rows = attempts).
  --learner-row    half of the answers also update one learner-level row (a predictor's state), timed apart
  --set NAME=VALUE a server setting for the run, e.g. max_wal_size=4GB or wal_compression=on
  --wal-breakdown  the record phase's WAL records per answer by type and relation (pg_walinspect,
                   benchmarks/wal_breakdown.py); each phase also prints its WAL flushes (commits per fsync)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bigdata  # benchmarks/bigdata.py, next to this script
import psycopg
import wal_breakdown  # benchmarks/wal_breakdown.py
from psycopg import sql

from supalocal import cluster
from supalocal.settings import load_settings

RPC_SQL = {
    "start_session": "select public.start_session(%s, 'adaptive', %s::jsonb)",
    "next_question_context": "select public.next_question_context(%s)",
    "serve_question": "select public.serve_question(%s, %s, %s, %s::jsonb)",
    "answer_context": "select public.answer_context(%s, %s, %s)",
    # submit_answer's answer-key read (a REST select as service_role), run beside answer_context
    "answer_key": "select to_jsonb(k) from (select question_id, correct_answer, numeric_tolerance, explanation "
                  "from public.question_answer_keys where question_id = %s limit 1) k",
    "record_answer": "select public.record_answer(%s, %s::jsonb, %s::jsonb, %s::jsonb, %s::jsonb)",
}
RPC_SQL["record_answer+learner_row"] = RPC_SQL["record_answer"]
# --learner-row: what one more learner-level row written per answer costs (a predictor's θ and counts, issue 16):
# the same transaction also updates one row of a keyed, logged table the bench creates and drops.
LEARNER_ROW_TABLE = "private.bench_learner_row"
LEARNER_ROW_SQL = (f"update {LEARNER_ROW_TABLE} set theta = theta + 0.01, answers = answers + 1, "
                   "updated_at = now() where user_id = %s").encode()
RUN_ID = uuid.uuid4().hex[:12]  # idempotency keys are unique per learner across runs
ROLE_SQL = "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"


@dataclass
class Task:
    user_id: str
    session_id: str = ""
    questions: list[int] = field(default_factory=list)
    contexts: list[dict[str, Any]] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _call(conn: psycopg.Connection[Any], rpc: str, role: str, user_id: str, args: tuple[Any, ...]) -> Any:
    """One transaction in one round trip: BEGIN, role and claims, the RPC (and the learner-row write of
    --learner-row), COMMIT, pipelined; psycopg prepares each statement after its 5th run (prepare_threshold)."""
    claims = json.dumps({"sub": user_id, "role": role})
    with conn.pipeline():
        conn.execute(ROLE_SQL.encode(), (role, claims))
        cur = conn.execute(RPC_SQL[rpc].encode(), args)
        if rpc == "record_answer+learner_row":
            conn.execute(LEARNER_ROW_SQL, (user_id,))
        conn.commit()
    row = cur.fetchone()
    return None if row is None else row[0]


def _mastery_items(ctx: dict[str, Any], state: dict[int, tuple[int, float]], correct: bool) -> list[dict[str, Any]]:
    """One item per skill of the question, from the learner's state as this run left it (version, p_mastery)."""
    items = []
    for skill in ctx["question"]["skills"]:
        sid = int(skill["skill_id"])
        version, before = state.get(sid, (0, 0.3))
        after = before + 0.05 * (1 - before) if correct else 0.95 * before  # always moves: one history row
        # fsrs's next review moves with every answer, as submit_answer sends it (service/states.py)
        due = datetime.now(UTC) + timedelta(days=1 + 10 * after)
        items.append({"skill_id": sid, "expected_version": version, "p_mastery": after,
                      "effective_mastery": after, "elo_rating": 1200 + 400 * (after - 0.5),
                      "due": due.isoformat(), "last_review": datetime.now(UTC).isoformat()})
        state[sid] = (version + 1, after)
    return items


def _run_phase(args: tuple[str, str, list[Task], int, bool, bool]) -> tuple[
        str, dict[str, list[float]], list[Task], float, dict[str, int], float]:
    """One client: runs `phase` for its learners in order; returns latencies, updated tasks, backend CPU s,
    outcomes and the client's own CPU s (it shares the cores with the server: its cost is reported apart)."""
    dsn, phase, tasks, seed, profile, learner_row = args
    run = RUN_ID
    rng = random.Random(seed)
    lat: dict[str, list[float]] = defaultdict(list)
    outcomes: dict[str, int] = defaultdict(int)

    def timed(rpc: str, role: str, user: str, call_args: tuple[Any, ...]) -> Any:
        t0 = time.perf_counter()
        result = _call(conn, rpc, role, user, call_args)
        lat[rpc].append((time.perf_counter() - t0) * 1000.0)
        return result

    with psycopg.connect(dsn, application_name="bench_db") as conn:
        if profile:  # every statement inside the functions and triggers, and plpgsql self times
            conn.execute(b"set pg_stat_statements.track = 'all'")
            conn.execute(b"set track_functions = 'all'")
            conn.commit()
        backend = conn.info.backend_pid
        cpu0 = _cpu_seconds(backend)
        client0 = time.process_time()
        for task in tasks:
            u = task.user_id
            if phase == "start":
                row = timed("start_session", "service_role", u,
                            (u, json.dumps({"target_questions": len(task.questions)})))
                task.session_id = str(row["id"])
            elif phase == "serve":
                for q in task.questions:
                    timed("next_question_context", "authenticated", u, (task.session_id,))
                    timed("serve_question", "service_role", u, (u, task.session_id, q, '{"bench": true}'))
            elif phase == "context":
                task.contexts = []
                for q in task.questions:
                    timed("answer_key", "service_role", u, (q,))
                    task.contexts.append(timed("answer_context", "authenticated", u,
                                               (task.session_id, q, f"bdb-{run}-{u}-{q}")))
            else:
                state: dict[int, tuple[int, float]] = {}  # skill -> (version, p_mastery), advanced locally
                for q, ctx in zip(task.questions, task.contexts, strict=True):
                    for m in ctx["mastery"]:
                        state.setdefault(int(m["skill_id"]), (int(m["version"]), float(m["p_mastery"])))
                    correct = rng.random() < 0.65
                    skills = [] if ctx["repeat"] else ctx["question"]["skills"]
                    items = _mastery_items(ctx, state, correct) if skills else []
                    deltas = [{"skill_id": k["skill_id"], "delta": -2.0 if correct else 2.0} for k in skills]
                    answer = {"session_id": task.session_id, "question_id": q,
                              "idempotency_key": f"bdb-{run}-{u}-{q}", "user_answer": ["A"], "is_correct": correct,
                              "confidence_score": 3,
                              "time_spent_seconds": 30.0, "hint_used": False, "solution_viewed": False}
                    record_args = (u, json.dumps(answer), json.dumps(items), json.dumps(deltas),
                                   json.dumps({"is_correct": correct, "bench": True}))
                    if learner_row:
                        result = timed("record_answer+learner_row", "service_role", u, record_args)
                    else:
                        result = timed("record_answer", "service_role", u, record_args)
                    outcomes[str(result["status"])] += 1
                    outcomes["mastery_items"] += len(items)
        cpu = _cpu_seconds(backend) - cpu0
        client = time.process_time() - client0
    return phase, dict(lat), tasks, cpu, dict(outcomes), client


def _scalar(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql.encode(), params).fetchone()
    return None if row is None else row[0]


# Counters the record phase moves, summed over everything (nothing else writes during the bench).
TOTALS = {
    "times_seen": "select coalesce(sum(times_seen), 0) from public.question_difficulty_params",
    "qs_attempts": "select coalesce(sum(attempts), 0) from public.question_skills",
    "mastery_attempts": "select coalesce(sum(total_attempts), 0) from public.user_skill_mastery",
    "history_rows": "select count(*) from public.mastery_history",
}


HOT_TABLES = ("session_questions", "practice_sessions", "user_skill_mastery", "question_skills",
              "question_difficulty_params")
WAL_AND_HOT = ("select w.wal_records, w.wal_fpi, w.wal_bytes::bigint, w.wal_sync, " + ", ".join(
    f"(select n_tup_upd from pg_stat_user_tables where relid = 'public.{t}'::regclass), "
    f"(select n_tup_hot_upd from pg_stat_user_tables where relid = 'public.{t}'::regclass)" for t in HOT_TABLES)
    + " from pg_stat_wal w").encode()
WAITS = b"""select coalesce(wait_event_type || ':' || wait_event, 'on CPU') from pg_stat_activity
            where backend_type = 'client backend' and pid <> pg_backend_pid() and application_name = 'bench_db'
              and state = 'active'"""


def _totals(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return {k: int(_scalar(conn, sql)) for k, sql in TOTALS.items()}


def _load(dsn: str, answers: int) -> None:
    learners = max(100, answers // 100)
    if bigdata.bench_user_count(dsn) != learners:
        bigdata.populate(dsn, learners=learners, attempts=answers, seed=1, replace=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("analyze")
        print(f"data: {_scalar(conn, 'select count(*) from session_questions where answered_at is not null'):,} "
              f"answers by {learners:,} learners; "
              f"wal_level={_scalar(conn, 'show wal_level')}")


def _run(dsn: str, phase: str, chunks: list[list[Task]], report: dict[str, dict[str, float]],
         profile: bool, breakdown: bool = False) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if profile:
            conn.execute(b"select extensions.pg_stat_statements_reset(), pg_stat_reset()")
        lsn0 = _scalar(conn, "select pg_current_wal_lsn()")
        stat0 = conn.execute(WAL_AND_HOT).fetchone()
        waits: Counter[str] = Counter()
        t0 = time.perf_counter()
        with mp.get_context("fork").Pool(len(chunks)) as pool:
            pending = pool.map_async(_run_phase, [(dsn, phase, c, i, profile, phase.endswith("+learner_row"))
                                                  for i, c in enumerate(chunks)])
            while not pending.ready():  # what the clients' backends are doing, sampled every 20 ms
                waits.update(str(r[0]) for r in conn.execute(WAITS).fetchall())
                pending.wait(0.02)
            results = pending.get()
        wall = time.perf_counter() - t0
        lsn1 = _scalar(conn, "select pg_current_wal_lsn()")
        wal = int(_scalar(conn, "select pg_wal_lsn_diff(%s, %s)", (lsn1, lsn0)))
        stat1 = conn.execute(WAL_AND_HOT).fetchone()
        assert stat0 is not None and stat1 is not None
        deltas = [b - a for a, b in zip(stat0, stat1, strict=True)]
        sampled = sum(waits.values()) or 1
        print(f"-- {phase}: {wall:.1f} s; WAL records {deltas[0]:,}, full-page images {deltas[1]:,} "
              f"({deltas[2]:,} B total), {deltas[3]:,} WAL flushes (fsync); HOT updates: " + ", ".join(
                  f"{t} {h:,}/{u:,}" for t, u, h in zip(HOT_TABLES, deltas[4::2], deltas[5::2], strict=True) if u)
              + "; backends: " + ", ".join(f"{k} {100 * n / sampled:.0f}%" for k, n in waits.most_common(6)))
        if profile:
            _print_profile(conn, phase)
        if breakdown:
            conn.execute(wal_breakdown.ENABLE)
            wal_breakdown.print_breakdown(conn, phase, str(lsn0), str(lsn1),
                                          sum(len(v) for r in results for v in r[1].values()))
    lat: dict[str, list[float]] = defaultdict(list)
    cpu = 0.0
    outcomes: dict[str, int] = defaultdict(int)
    client_cpu = 0.0
    for i, (_, latencies, tasks, c, o, cc) in enumerate(results):
        chunks[i][:] = tasks
        cpu += c
        client_cpu += cc
        for k, v in latencies.items():
            lat[k].extend(v)
        for k, n in o.items():
            outcomes[k] += n
    txs = sum(len(v) for v in lat.values())
    for rpc, values in lat.items():
        report[rpc] = {"n": len(values), "tps": len(values) / wall, "p50": _percentile(values, 0.5),
                       "p95": _percentile(values, 0.95), "cpu_ms": 1000 * cpu / txs,
                       "client_cpu_ms": 1000 * client_cpu / txs,
                       "wal_bytes": wal / len(values) if len(lat) == 1 else float("nan"),
                       "phase_wal": wal / txs, "wall": wall,
                       "wal_records": deltas[0] / txs, "fpi": deltas[1] / txs}
    return dict(outcomes)


def _print_profile(conn: psycopg.Connection[Any], phase: str) -> None:
    print(f"-- {phase}: top statements (nested included) by total time")
    for calls, total, mean, wal, query in conn.execute(b"""
            select calls, total_exec_time, mean_exec_time, wal_bytes, regexp_replace(query, '\\s+', ' ', 'g')
            from extensions.pg_stat_statements where query not like '%%pg_stat%%'
            order by total_exec_time desc limit 14""").fetchall():
        print(f"  {calls:>7} calls {total:>9.0f} ms {mean:>7.3f} ms/call {int(wal):>11,} WAL B  {query[:110]}")
    for name, calls, total, own in conn.execute(b"""
            select schemaname || '.' || funcname, calls, total_time, self_time from pg_stat_user_functions
            order by self_time desc limit 8""").fetchall():
        print(f"  fn {name:<44}{calls:>8} calls {total:>9.0f} ms total {own:>9.0f} ms self")


@contextmanager
def _learner_row_table(dsn: str, users: list[str]) -> Iterator[None]:
    """--learner-row: a learner-level row per driven learner (a predictor's θ and answer count), dropped after."""
    if not users:
        yield
        return
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"""create table {LEARNER_ROW_TABLE} (user_id uuid primary key references auth.users(id)
                         on delete cascade, theta double precision not null default 0, answers integer not null
                         default 0, updated_at timestamptz not null default now()) with (fillfactor = 80)""".encode())
        conn.execute(f"insert into {LEARNER_ROW_TABLE} (user_id) select unnest(%s::uuid[])".encode(), (users,))
        conn.execute(f"grant update, select on {LEARNER_ROW_TABLE} to service_role".encode())
    try:
        yield
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"drop table {LEARNER_ROW_TABLE}".encode())


@contextmanager
def _durability(dsn: str, durable: bool, extra: list[str]) -> Iterator[None]:
    """Hosted Postgres runs with fsync and full_page_writes on; the local cluster turns both off (dev speed).
    --durable (the default) switches them on for the run, so commits wait for a real flush and WAL volume
    includes full-page images, and puts the cluster's settings back afterwards (and those of --set)."""
    settings = dict(item.split("=", 1) for item in extra)
    if durable:
        settings.update({"fsync": "on", "full_page_writes": "on"})
    if not settings:
        yield
        return
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, value in settings.items():
            conn.execute(sql.SQL("alter system set {} = {}").format(
                sql.Identifier(name), sql.Literal(value)))
        conn.execute(b"select pg_reload_conf()")
        time.sleep(0.5)
        conn.execute(b"checkpoint")  # so the run starts a checkpoint cycle (full-page images are counted)
    try:
        yield
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in settings:
                conn.execute(sql.SQL("alter system reset {}").format(sql.Identifier(name)))
            conn.execute(b"select pg_reload_conf()")


def _check(conn: psycopg.Connection[Any], sessions: list[str], before: dict[str, int], created: int,
           items: int, served: int) -> list[str]:
    """Exact counter checks: every acknowledged answer is one row, one event, one exposure, its history rows."""
    after = _totals(conn)
    ids = sessions
    answered = int(_scalar(conn, "select count(*) from session_questions where session_id = any(%s::uuid[]) "
                                 "and answered_at is not null", (ids,)))
    served_rows = int(_scalar(conn, "select count(*) from session_questions where session_id = any(%s::uuid[])",
                              (ids,)))
    events = dict(conn.execute(b"select event_type, count(*) from learning_events where session_id = any(%s::uuid[]) "
                               b"group by 1", (ids,)).fetchall())
    interactions = int(_scalar(conn, "select coalesce(sum(total_interactions), 0) from practice_sessions "
                                     "where id = any(%s::uuid[])", (ids,)))
    history = int(_scalar(conn, "select count(*) from mastery_history where session_id = any(%s::uuid[])", (ids,)))
    # Bounded influence: only a learner's first answer to a question moves question_skills (one per skill).
    first_skill_steps = int(_scalar(conn, """
        select count(*) from session_questions sq join question_skills qs on qs.question_id = sq.question_id
        where sq.session_id = any(%s::uuid[]) and sq.answered_at is not null
          and not exists (select 1 from session_questions o where o.user_id = sq.user_id
                          and o.question_id = sq.question_id and o.answered_at is not null and o.id <> sq.id)""",
                                    (ids,)))
    checks = {
        "answered rows = acknowledged answers": (answered, created),
        "served rows = serve_question calls": (served_rows, served),
        "answer_submitted events = answers": (int(events.get("answer_submitted", 0)), created),
        "question_served events = serves": (int(events.get("question_served", 0)), served),
        "sessions' total_interactions = answers": (interactions, created),
        "times_seen grew by answers": (after["times_seen"] - before["times_seen"], created),
        "mastery total_attempts grew by mastery items": (after["mastery_attempts"] - before["mastery_attempts"], items),
        "history rows of the run = mastery items": (history, items),
        "question_skills.attempts grew by first answers x skills": (
            after["qs_attempts"] - before["qs_attempts"], first_skill_steps),
    }
    failures = []
    for name, (got, want) in checks.items():
        print(f"  {'ok ' if got == want else 'BAD'} {name}: {got:,} (expected {want:,})")
        if got != want:
            failures.append(name)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1_000_000, help="bigdata size (learners = answers / 100)")
    parser.add_argument("--learners-driven", type=int, default=3000)
    parser.add_argument("--questions", type=int, default=10, help="questions per driven learner's session")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one (printed); a rerun with "
                        "the same seed answers the same questions again, which the 7-day repeat rule treats apart")
    parser.add_argument("--profile", action="store_true",
                        help="print the top statements (pg_stat_statements, nested) and plpgsql self times per phase")
    parser.add_argument("--learner-row", action="store_true",
                        help="record half of the answers with one more learner-level row update in the same "
                             "transaction (what a predictor's per-learner state costs), timed apart")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting for the run (alter system, reset afterwards), e.g. max_wal_size=4GB "
                             "(settable on hosted Supabase) or wal_compression=on (not settable there)")
    parser.add_argument("--wal-breakdown", action="store_true",
                        help="per phase, WAL records by type and relation (pg_walinspect over the phase's range)")
    parser.add_argument("--no-durable", dest="durable", action="store_false",
                        help="keep the local cluster's fsync=off/full_page_writes=off (hosted has both on)")
    args = parser.parse_args()
    settings = load_settings()
    cluster.up(settings)
    dsn = settings.dsn()
    _load(dsn, args.answers)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        users = [str(r[0]) for r in conn.execute(b"select id from auth.users where email like '%%@bench.test' "
                                                 b"order by id").fetchall()]
        bank = [int(r[0]) for r in conn.execute(b"select q.id from questions q where q.is_active and exists "
                                                b"(select 1 from question_skills qs where qs.question_id = q.id) "
                                                b"order by q.id").fetchall()]
        before = _totals(conn)
    driven = rng.sample(users, min(args.learners_driven, len(users)))
    tasks = [Task(user_id=u, questions=rng.sample(bank, args.questions)) for u in driven]
    chunks = [tasks[i::args.clients] for i in range(args.clients)]
    print(f"{len(driven):,} learners x {args.questions} questions (bank {len(bank)}), {args.clients} clients, "
          f"seed {seed}")
    report: dict[str, dict[str, float]] = {}
    outcomes: Counter[str] = Counter()
    with _durability(dsn, args.durable, args.settings), _learner_row_table(dsn, driven if args.learner_row else []):
        with psycopg.connect(dsn, autocommit=True) as conn:
            print("fsync={}, full_page_writes={}, synchronous_commit={}, max_wal_size={}, checkpoint_timeout={}, "
                  "wal_compression={}".format(*(_scalar(conn, f"show {k}") for k in (
                      "fsync", "full_page_writes", "synchronous_commit", "max_wal_size", "checkpoint_timeout",
                      "wal_compression"))))
        for phase in ("start", "serve", "context"):
            outcomes.update(_run(dsn, phase, chunks, report, args.profile))
        if args.learner_row:  # half of each client's learners without, then the other half with the extra row
            outcomes.update(_run(dsn, "record", [c[: len(c) // 2] for c in chunks], report, args.profile))
            outcomes.update(_run(dsn, "record+learner_row", [c[len(c) // 2:] for c in chunks], report,
                                 args.profile))
        else:
            outcomes.update(_run(dsn, "record", chunks, report, args.profile, args.wal_breakdown))
    sessions = [t.session_id for c in chunks for t in c]
    print(f"{'rpc':<26}{'n':>8}{'tx/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'be CPU ms/tx':>14}{'client ms/tx':>13}"
          f"{'WAL B/tx':>10}{'records':>9}{'FPI':>6}")
    for rpc, r in report.items():
        wal = f"{r['wal_bytes']:,.0f}" if r["wal_bytes"] == r["wal_bytes"] else f"({r['phase_wal']:,.0f})"
        print(f"{rpc:<26}{r['n']:>8,.0f}{r['tps']:>9,.0f}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['cpu_ms']:>14.3f}"
              f"{r['client_cpu_ms']:>13.3f}{wal:>10}{r['wal_records']:>9.1f}{r['fpi']:>6.2f}")
    print("  (serve and context phases: CPU and WAL per transaction of the phase's pair; be CPU = the Postgres "
          "backends' utime+stime per transaction, begin/role/commit included)")
    served = int(report["serve_question"]["n"])
    with psycopg.connect(dsn, autocommit=True) as conn:
        failures = _check(conn, sessions, before, outcomes.get("created", 0), outcomes.get("mastery_items", 0),
                          served)
    print(f"record_answer outcomes: {dict(outcomes)}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
