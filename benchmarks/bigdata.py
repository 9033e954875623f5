"""Fill a local cluster with benchmark-sized learner data, set-based in SQL (generate_series, no per-row Python).

    .venv/bin/python benchmarks/bigdata.py --learners 10000 --attempts 1000000 [--seed 1] [--replace]
    .venv/bin/python benchmarks/bigdata.py --mastery-only --learners 100000 --skills 20 [--replace]
    .venv/bin/python benchmarks/bigdata.py --clean

Full mode (`populate`) writes, over the last ~90 days: bench learners in auth.users (emails *@bench.test),
their practice_sessions (8–25 questions each, most completed), answered session_questions with the stored
submit_answer response, user_skill_mastery consistent with the answers (total/correct attempts, version =
answers + one decay), mastery_history (one 'question' row per answer × skill, then one 'decay' row as the
nightly maintenance writes), learning_events in their monthly partitions (created with the migrations'
private.ensure_learning_event_partitions), and user_performance_snapshots (one per completed session, one
per learner per active day). question_skills.attempts and question_difficulty_params.times_seen grow by
the answers, as record_answer does (and shrink again on clean). Left to the maintenance run, as in real
use before it runs: the aggregate tables (daily/weekly stats, knowledge_gaps, ...) and the cohort cache.
`populate_mastery_only` writes auth.users and user_skill_mastery only (no answers, no history rows).

Generative model: P(correct) = 0.2 + 0.75·σ(θ_learner + growth·progress − b_question) with b the
question's IRT difficulty; learners' activity is log-normal (a few practise a lot); time spent and
confidence follow smartpractice_dev.simulation's forms. BKT mastery per answer is the guess/slip-inverted smoothed
running accuracy shrunk towards p_init (a plausible trajectory, not a BKT forward pass); Elo per answer is
the running mean difficulty plus the logit of that accuracy; fsrs stability grows with correct answers.

Triggers: the load runs as superuser with `set local session_replication_role = replica`, which disables
user triggers AND foreign-key checks for the transaction: the version-bump trigger (we set version = number
of writes), the mastery_history trigger and its direct-insert guard (we write exactly the rows the trigger
would), and the append-only guards. Every referenced id is generated from the rows it points at; CHECK and
UNIQUE constraints stay enforced. Everything runs in one transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from bigdata_sql import (  # the statements, kept apart so this module stays readable
    CLEAN_COUNTERS_QUESTIONS,
    CLEAN_COUNTERS_SKILLS,
    FULL_STEPS,
    MASTERY_ONLY_ROWS,
    MASTERY_ONLY_USERS,
    MASTERY_TOP_UP,
    PREDICTOR_LEARNERS,
    PREDICTOR_SKILLS,
)

from smartpractice.learner.memory import forgetting_curve
from supalocal.settings import load_settings

BENCH_EMAIL_SUFFIX = "@bench.test"
FSRS_CURVE = forgetting_curve()  # R(t) = (1 + factor·days/S)^decay: the product's own constants
# A standard normal draw (Box–Muller), inlined: a SQL function call costs ~15 µs per row, the expression ~0.1.
GAUSS = "(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))"
TEMP_TABLE = re.compile(r"\s*create temp table (\w+)")


class BenchDataExistsError(RuntimeError):
    """Bench users are already in the database and `replace` was not asked for."""


class _Loader:
    """Runs the load statements in one transaction, timing and reporting each one."""

    def __init__(self, conn: psycopg.Connection[Any], params: dict[str, Any], verbose: bool) -> None:
        self.conn, self.params, self.verbose = conn, params, verbose
        self.counts: dict[str, int] = {}

    def run(self, label: str, sql: str, *, count: bool = True) -> int:
        started = time.perf_counter()
        # The SQL is module constants; bytes satisfy psycopg's LiteralString typing for a non-literal str.
        cursor = self.conn.execute(sql.replace("GAUSS()", GAUSS).encode(), self.params)
        rows = max(cursor.rowcount, 0)
        created = TEMP_TABLE.match(sql)
        if created:  # autovacuum never analyzes temp tables: without statistics the joins go nested-loop
            self.conn.execute(f"analyze {created.group(1)}".encode())
        if count:
            self.counts[label] = self.counts.get(label, 0) + rows
        if self.verbose:
            print(f"  {label:<34}{rows:>12,} rows {time.perf_counter() - started:>8.1f} s", flush=True)
        return rows


@contextmanager
def _bulk_transaction(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(dsn) as conn:  # one transaction, committed on success
        conn.execute("set local session_replication_role = replica")
        conn.execute("set local work_mem = '256MB'")
        yield conn


def _scalar(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql.encode(), params).fetchone()
    return None if row is None else row[0]


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def bench_user_count(dsn: str, suffix: str = BENCH_EMAIL_SUFFIX) -> int:
    with psycopg.connect(dsn) as conn:
        return int(_scalar(conn, "select count(*) from auth.users where email like %s", (f"%{suffix}",)))


def _prepare(dsn: str, replace: bool, verbose: bool, suffix: str = BENCH_EMAIL_SUFFIX) -> None:
    existing = bench_user_count(dsn, suffix)
    if existing and not replace:
        raise BenchDataExistsError(f"{existing} bench users (*{suffix}) exist; use replace=True")
    if existing:
        clean(dsn, verbose=verbose, suffix=suffix)


def clean(dsn: str, *, verbose: bool = True, suffix: str = BENCH_EMAIL_SUFFIX) -> dict[str, int]:
    """Delete every bench user's rows, take their answers back out of the global counters, and withdraw the
    cohort release if it holds anything (a maintenance run over bench data filled it)."""
    with _bulk_transaction(dsn) as conn:
        loader = _Loader(conn, {"suffix": f"%{suffix}"}, verbose)
        loader.run("bench users found", "create temp table bench_ids as "
                   "select id from auth.users where email like %(suffix)s")
        conn.execute("create index on bench_ids (id)")
        loader.run("question_skills.attempts", CLEAN_COUNTERS_SKILLS, count=False)
        loader.run("question_difficulty_params.times_seen", CLEAN_COUNTERS_QUESTIONS, count=False)
        # Replica mode skips FK cascades too, so every table referencing auth.users is emptied explicitly.
        references = conn.execute(
            "select c.conrelid::regclass::text, a.attname from pg_constraint c "
            "join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1] "
            "where c.contype = 'f' and c.confrelid = 'auth.users'::regclass and c.conparentid = 0").fetchall()
        for table, column in references:
            loader.run(table, f"delete from {table} t using bench_ids b where t.{column} = b.id")
        loader.run("auth.users", "delete from auth.users u using bench_ids b where u.id = b.id")
        # A night's noised release is never recomputed (the same noise on other data would leak the difference):
        # one that counted bench learners is withdrawn, and learners see no peer figures until the next night.
        if _scalar(conn, "select to_regclass('private.cohort_mastery_stats') is not null"):
            loader.run("(cohort release withdrawn)", "delete from private.cohort_mastery_stats where true",
                       count=False)
        return loader.counts


def populate(dsn: str, *, learners: int, attempts: int, seed: int, replace: bool = False,
             verbose: bool = True) -> dict[str, int]:
    """Bench learners with `attempts` answered questions in total; returns rows created per table."""
    if learners < 1 or attempts < learners:
        raise ValueError("need learners >= 1 and attempts >= learners (every learner answers at least once)")
    _prepare(dsn, replace, verbose)
    return _populate(dsn, {"learners": learners, "attempts": attempts, "seed": seed, "today_every": 0,
                           "today_answers": 0, "day_start": _day_start(datetime.now(UTC).date())},
                     extra_steps=[], verbose=verbose)


def populate_day(dsn: str, *, day: date, learners: int, skills: int, attempts: int, active_today: int,
                 answers_today: int, seed: int, replace: bool = False, verbose: bool = True,
                 suffix: str = BENCH_EMAIL_SUFFIX) -> dict[str, int]:
    """A real day's data: `learners` with `attempts` answers over ~90 days before `day`, `active_today` of them
    answering `answers_today` questions each on `day` (from 01:00 UTC to 23:00, or to 45 minutes ago when
    `day` is today), every learner with `skills` mastery rows, stored mastery decayed as of `day` 00:00 (last
    night's run), and a predictor state (θ, and δ with counts per mastery row's skill). `day` is today (from
    02:00 UTC) or an earlier day. Emails end in `suffix`."""
    if not 1 <= active_today <= learners or attempts < learners or answers_today < 1:
        raise ValueError("need 1 <= active_today <= learners, attempts >= learners, answers_today >= 1")
    day_start = _day_start(day)
    if datetime.now(UTC) < day_start + timedelta(hours=2):
        raise ValueError(f"{day} has not reached 02:00 UTC: its answers are placed from 01:00")
    _prepare(dsn, replace, verbose, suffix)
    return _populate(dsn, {"learners": learners, "attempts": attempts, "seed": seed, "skills": skills,
                           "today_every": learners // active_today, "today_answers": answers_today,
                           "day_start": day_start, "suffix": suffix},
                     extra_steps=[("user_skill_mastery (skills met before the window)", MASTERY_TOP_UP, True),
                                  ("(analyze again)", "analyze public.user_skill_mastery", False),
                                  ("learner_predictor_state", PREDICTOR_LEARNERS, True),
                                  ("learner_skill_predictor_state", PREDICTOR_SKILLS, True)],
                     verbose=verbose)


def finish_night_before(dsn: str, day: date, *, steps: Sequence[str], already_done: Sequence[str] = ()) -> None:
    """Complete the run for the day before `day` as a nightly scheduler leaves it: its aggregates (over everyone)
    and every step of `steps` recorded done, started after the decay populate_day stamped at 00:05 on `day`
    (`already_done`: steps the caller ran itself, e.g. the refits through HTTP, left as they are)."""
    night = day - timedelta(days=1)
    start = _day_start(day) + timedelta(minutes=10)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select public.refresh_aggregates(%s)", (night,))
        for step in (s for s in steps if s not in already_done):
            conn.execute("insert into public.maintenance_runs (run_date, step, status, started_at, finished_at) "
                         "values (%s, %s, 'done', %s, %s)", (night, step, start, start + timedelta(minutes=1)))


def _populate(dsn: str, params: dict[str, Any], *, extra_steps: list[tuple[str, str, bool]],
              verbose: bool) -> dict[str, int]:
    params = {"suffix": BENCH_EMAIL_SUFFIX} | params | {"fsrs_decay": FSRS_CURVE.decay,
                                                        "fsrs_factor": FSRS_CURVE.factor}
    seed = int(params["seed"])
    with _bulk_transaction(dsn) as conn:
        conn.execute("select setseed(%s)", ((seed % 1999) / 1000.0 - 0.999,))
        loader = _Loader(conn, params, verbose)
        for label, sql, counted in [*FULL_STEPS, *extra_steps]:
            loader.run(label, sql, count=counted)
        return {k: v for k, v in loader.counts.items() if not k.startswith("(")}


def populate_mastery_only(dsn: str, *, learners: int, skills: int, seed: int, replace: bool = False,
                          verbose: bool = True) -> dict[str, int]:
    """Bench learners × `skills` user_skill_mastery rows only (no answers): work for the decay step."""
    _prepare(dsn, replace, verbose)
    params = {"learners": learners, "skills": skills, "seed": seed, "suffix": BENCH_EMAIL_SUFFIX}
    with _bulk_transaction(dsn) as conn:
        conn.execute("select setseed(%s)", ((seed % 1999) / 1000.0 - 0.999,))
        total_skills = int(_scalar(conn, "select count(*) from public.skills"))
        if not 1 <= skills <= total_skills:
            raise ValueError(f"--skills must be between 1 and {total_skills}")
        loader = _Loader(conn, params, verbose)
        loader.run("auth.users", MASTERY_ONLY_USERS)
        loader.run("user_skill_mastery", MASTERY_ONLY_ROWS)
        loader.run("(analyze)", "analyze public.user_skill_mastery", count=False)
        return {k: v for k, v in loader.counts.items() if not k.startswith("(")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--attempts", type=int, default=1_000_000, help="answered questions in total")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mastery-only", action="store_true", help="only user_skill_mastery rows (decay benchmark)")
    parser.add_argument("--skills", type=int, default=20, help="skills per learner with --mastery-only")
    parser.add_argument("--replace", action="store_true", help="delete existing bench users first")
    parser.add_argument("--clean", action="store_true", help="only delete the bench users and their rows")
    parser.add_argument("--dsn", default=None, help="superuser DSN (default: the SP_LOCAL_* cluster)")
    args = parser.parse_args()
    dsn = args.dsn or load_settings().dsn()
    print(f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    try:
        if args.clean:
            counts = clean(dsn)
        elif args.mastery_only:
            counts = populate_mastery_only(dsn, learners=args.learners, skills=args.skills, seed=args.seed,
                                           replace=args.replace)
        else:
            counts = populate(dsn, learners=args.learners, attempts=args.attempts, seed=args.seed,
                              replace=args.replace)
    except BenchDataExistsError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"{'table':<34}{'rows':>12}")
    for table, rows in counts.items():
        print(f"{table:<34}{rows:>12,}")
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
