"""insights_context without the predictor's section curves (20261207100000), with them per question (20261207120000,
exact) and per logit bucket (20261207150000, now), by bank size.

    .venv/bin/python benchmarks/bench_insights_predictor_scores.py [--bank 720,10000] [--calls 15] [--answers 200]

In one transaction that is rolled back: the active bank is grown to each size (copies of the seeded questions with
their skills), a learner gets a predictor state over every skill and `--answers` graded answers spread over the
bank, and insights_context is called as that learner (role authenticated, request.jwt.claims as PostgREST sets
them): the current body, the one before the predictor block (loaded as pg_temp.insights_context_before) and the
current body calling the exact per-question curves of 20261207120000 (pg_temp.predictor_score_inputs_exact, via
pg_temp.insights_context_exact), in rounds that call each variant once in turn (the variants share the load of
the shared machine), after a vacuum of the bank's tables. Reports database time per call (p50/p95,
client-measured), the response's bytes and the largest |curve difference| between the bucketed and the exact
block, plus the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from supalocal.settings import load_settings

MIGRATIONS = Path(__file__).parent.parent / "supabase/migrations"
OLD = MIGRATIONS / "20261207100000_insights_history_in_sql.sql"
EXACT = MIGRATIONS / "20261207120000_insights_predictor_scores.sql"


def _function(path: Path, signature: str) -> str:
    text = path.read_text()
    start = text.index(f"create or replace function {signature}")
    return text[start:text.index("$$;", start) + 3]


def _old_body() -> str:
    return _function(OLD, "public.insights_context(p_since timestamptz, p_now timestamptz)").replace(
        "public.insights_context(", "pg_temp.insights_context_before(")


def _exact_bodies() -> list[str]:
    """20261207120000's per-question curves as pg_temp functions, and insights_context calling them."""
    inputs = _function(EXACT, "private.predictor_score_inputs()").replace(
        "private.predictor_score_inputs()", "pg_temp.predictor_score_inputs_exact()")
    context = _function(EXACT, "public.insights_context(p_since timestamptz, p_now timestamptz)").replace(
        "public.insights_context(", "pg_temp.insights_context_exact(").replace(
        "private.predictor_score_inputs()", "pg_temp.predictor_score_inputs_exact()")
    return [inputs, context]


def _curve_gap(conn: psycopg.Connection[Any], user_id: uuid.UUID) -> float:
    """max |bucketed − exact| over every section's curve point, as the learner."""
    with conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": str(user_id), "role": "authenticated"}),))
        conn.execute("set local role authenticated")
        row = conn.execute("select private.predictor_score_inputs()::text, "
                           "pg_temp.predictor_score_inputs_exact()::text").fetchone()
    assert row is not None
    now, exact = (json.loads(r) for r in row)
    gap = 0.0
    for a, b in zip(now["sections"], exact["sections"], strict=True):
        assert a["section"] == b["section"] and a["questions"] == b["questions"]
        gap = max(gap, *(abs(x - y) for x, y in zip(a["curve"], b["curve"], strict=True)))
    return gap


def _grow_bank(conn: psycopg.Connection[Any], size: int) -> int:
    have = conn.execute("select count(*) from questions where is_active").fetchone()
    assert have is not None
    missing = size - int(have[0])
    if missing <= 0:
        return int(have[0])
    conn.execute("""
        create temp table copies on commit drop as
        select q.id as source, g as copy from (select id, row_number() over (order by id) as n from questions) q
        cross join generate_series(1, ceil(%s::float8 / (select count(*) from questions))::int) g
        order by g, q.n limit %s""", (missing, missing))
    conn.execute("""
        with made as (
          insert into questions (external_ref, topic_id, question_type, difficulty_label, exam_section, stem,
                                 options, expected_time_seconds)
          select q.external_ref || '.bench' || c.copy, q.topic_id, q.question_type, q.difficulty_label,
                 q.exam_section, q.stem, q.options, q.expected_time_seconds
          from copies c join questions q on q.id = c.source
          returning id, external_ref)
        insert into question_skills (question_id, skill_id, weight, elo_difficulty)
        select m.id, qs.skill_id, qs.weight, qs.elo_difficulty + (random() - 0.5) * 200
        from made m join questions q on q.external_ref = split_part(m.external_ref, '.bench', 1)
        join question_skills qs on qs.question_id = q.id""")
    return size


def _learner(conn: psycopg.Connection[Any], answers: int) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn.execute("insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id}@bench.test"))
    conn.execute("insert into learner_predictor_state (user_id, theta, answers, correct) values (%s, 0.3, %s, %s)",
                 (user_id, answers, answers * 2 // 3))
    conn.execute("""insert into learner_skill_predictor_state (user_id, skill_id, deviation, answers, correct)
                    select %s, id, (random() - 0.5) * 0.8, 6, 4 from skills""", (user_id,))
    session = conn.execute("""insert into practice_sessions (user_id, mode, status) values (%s, 'adaptive', 'active')
                              returning id""", (user_id,)).fetchone()
    assert session is not None
    conn.execute("""
        insert into session_questions (session_id, user_id, question_id, position, served_at, answered_at,
                                       is_correct, user_answer, time_spent_seconds, confidence_score,
                                       idempotency_key)
        select %s, %s, q.id, row_number() over (order by q.id), now() - interval '1 hour', now(),
               random() < 0.65, '["A"]'::jsonb, 60, 3, 'bench-' || q.id
        from (select id from questions where is_active order by random() limit %s) q""",
                 (session[0], user_id, answers))
    return user_id


def _time(conn: psycopg.Connection[Any], functions: list[str], user_id: uuid.UUID, calls: int
          ) -> dict[str, tuple[list[float], int]]:
    """`calls` rounds, each calling every function once in turn (so the variants share the machine's load)."""
    out: dict[str, tuple[list[float], int]] = {f: ([], 0) for f in functions}
    with conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": str(user_id), "role": "authenticated"}),))
        conn.execute("set local role authenticated")
        for _ in range(calls):
            for function in functions:
                start = time.perf_counter()
                row = conn.execute(f"select {function}(now() - interval '30 days', now())::text").fetchone()
                out[function][0].append((time.perf_counter() - start) * 1000.0)
                assert row is not None
                out[function] = (out[function][0], len(row[0]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bank", default="720,10000")
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--answers", type=int, default=200)
    args = parser.parse_args()
    settings = load_settings()
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        # a previous run's rolled-back copies leave the bank's heaps bloated (a 720-row scan read thousands of
        # dead rows: 2x the predictor block's time at 720) until autovacuum passes
        conn.execute("vacuum analyze questions, question_skills, question_difficulty_params")
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print("| active bank | variant | p50 ms | p95 ms | response bytes |")
    print("|---|---|---|---|---|")
    with psycopg.connect(settings.dsn()) as conn:
        conn.execute(_old_body())
        for body in _exact_bodies():
            conn.execute(body)
        for size in (int(s) for s in args.bank.split(",")):
            with conn.transaction(force_rollback=True):
                bank = _grow_bank(conn, size)
                conn.execute("analyze questions; analyze question_skills")
                user_id = _learner(conn, args.answers)
                variants = {"pg_temp.insights_context_before": "no predictor block (20261207100000)",
                            "pg_temp.insights_context_exact": "exact curves (20261207120000)",
                            "public.insights_context": "bucketed curves (now)"}
                _time(conn, list(variants), user_id, 2)  # warm the plan caches
                for function, (times, size_bytes) in _time(conn, list(variants), user_id, args.calls).items():
                    p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
                    print(f"| {bank} | {variants[function]} | {statistics.median(times):.1f} | {p95:.1f} "
                          f"| {size_bytes} |")
                print(f"| {bank} | max abs(bucketed - exact) over the curves: {_curve_gap(conn, user_id):.1e} | | | |")
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
