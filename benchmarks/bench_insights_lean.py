"""insights_context's database time for the busiest learners, before and after issue 16 item 3 (20261207170000–
20261207170300), in one session, blocks alternated so both share the machine's load. Run on the 1M-answer data
(`bench_endpoints.py --big --keep` first).

    .venv/bin/python benchmarks/bench_insights_lean.py [--learners 10] [--blocks 3] [--rounds 3]

Before: in a transaction that is rolled back, the window index as it was (without session_id/confidence_score),
and the previous bodies loaded as pg_temp functions (insights_context of 20261207120000 calling
predictor_score_inputs of 20261207160000). After: public.insights_context as migrated. Each call as the learner
(role authenticated, request.jwt.claims as PostgREST sets them), one 30-day window; asserts the responses are
identical, prints p50/p95/max per variant and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from supalocal.settings import load_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "supabase/migrations"
OLD_INDEX = ("create index session_questions_user_id_answered_at_idx on public.session_questions "
             "(user_id, answered_at) include (question_id, is_correct, time_spent_seconds) "
             "where answered_at is not null")
WINDOW = ("2026-11-07 15:00+00", "2026-12-07 15:00+00")


def _function(path: Path, signature: str) -> str:
    text = path.read_text()
    start = text.index(f"create or replace function {signature}")
    return text[start:text.index("$$;", start) + 3]


def load_before(conn: psycopg.Connection[Any]) -> None:
    """insights_context and predictor_score_inputs as before issue 16 item 3, as pg_temp.*_before (the stack test
    compares them too)."""
    inputs = _function(MIGRATIONS / "20261207160000_predictor_seed_line.sql", "private.predictor_score_inputs()")
    context = _function(MIGRATIONS / "20261207120000_insights_predictor_scores.sql",
                        "public.insights_context(p_since timestamptz, p_now timestamptz)")
    conn.execute(inputs.replace("private.predictor_score_inputs()", "pg_temp.predictor_score_inputs_before()"))
    conn.execute(context.replace("public.insights_context(", "pg_temp.insights_context_before(")
                 .replace("private.predictor_score_inputs()", "pg_temp.predictor_score_inputs_before()"))


def _calls(conn: psycopg.Connection[Any], function: str, users: list[uuid.UUID], rounds: int,
           times: list[float]) -> dict[uuid.UUID, Any]:
    out: dict[uuid.UUID, Any] = {}
    for _ in range(rounds):
        for user in users:
            conn.execute("select set_config('request.jwt.claims', %s, true)",
                         (json.dumps({"sub": str(user), "role": "authenticated"}),))
            conn.execute("set local role authenticated")
            start = time.perf_counter()
            row = conn.execute(f"select {function}(%s, %s)::text", WINDOW).fetchone()
            times.append((time.perf_counter() - start) * 1000.0)
            conn.execute("reset role")
            assert row is not None
            out[user] = json.loads(row[0])
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"before": [], "after": []}
    with psycopg.connect(load_settings().dsn(), autocommit=True) as conn:
        users = [r[0] for r in conn.execute(
            "select user_id from session_questions group by user_id order by count(*) desc limit %s",
            (args.learners,)).fetchall()]
        if not users:
            print("no answers in the database: nothing to measure (load the data with bench_endpoints.py --big --keep)")
            return 0
        load_before(conn)
        print(f"load average {os.getloadavg()}")
        for _ in range(args.blocks):
            with conn.transaction():
                conn.execute("drop index public.session_questions_user_id_answered_at_idx")
                conn.execute(OLD_INDEX)
                before = _calls(conn, "pg_temp.insights_context_before", users, args.rounds, times["before"])
                raise psycopg.Rollback()
            with conn.transaction():
                after = _calls(conn, "public.insights_context", users, args.rounds, times["after"])
            assert before == after, "the responses differ"
    for name, values in times.items():
        ordered = sorted(values)
        print(f"{name:<7} n={len(values)}  p50 {statistics.median(values):6.2f}  "
              f"p95 {ordered[round(0.95 * (len(ordered) - 1))]:6.2f}  max {ordered[-1]:6.2f} ms")
    print(f"identical responses for the {len(users)} learners; load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
