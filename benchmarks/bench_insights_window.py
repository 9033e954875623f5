"""insights' window read for the busiest learners: raw history rows (before issue 16) vs aggregated in SQL (now).

    .venv/bin/python benchmarks/bench_insights_window.py [--learners 10] [--calls 20] [--days 30]

Needs bench data (benchmarks/bigdata.py). For each of the busiest learners (most answers) it calls, as that learner
(role authenticated, request.jwt.claims as PostgREST sets them), the current public.insights_context and the body it
had before (migration 20261207050100, loaded as a temporary function), and reports per variant: database time per
call (p50/p95, client-measured, no gateway), response bytes, and the function's CPU for that response (json.loads,
InsightsContext validation and service/insights.insights; process CPU time), p50/p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import psycopg

from smartpractice.db.contexts import InsightsContext
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.insights import insights
from smartpractice.service.models_requests import InsightsRequest
from supalocal.settings import load_settings

OLD = Path(__file__).parent.parent / "supabase/migrations/20261207050100_plan_cached_context_reads.sql"


def _old_body() -> str:
    """The raw-rows insights_context of 20261207050100, as pg_temp.insights_context_rows(p_since, p_now)."""
    text = OLD.read_text()
    start = text.index("create or replace function public.insights_context(p_since timestamptz)")
    end = text.index("$$;", start) + 3
    return text[start:end].replace("public.insights_context(p_since timestamptz)",
                                   "pg_temp.insights_context_rows(p_since timestamptz, p_now timestamptz)")


class _Fixed:
    def __init__(self, context: InsightsContext) -> None:
        self.context = context

    def insights_context(self, *_: str) -> InsightsContext:  # (since) before issue 16, (since, now) after
        return self.context


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--variants", default="rows,sql",
                        help="rows: the raw-rows body; sql: the current function (rows alone runs on older code)")
    args = parser.parse_args()
    db: dict[str, list[float]] = {"rows": [], "sql": []}
    cpu: dict[str, list[float]] = {"rows": [], "sql": []}
    size: dict[str, list[int]] = {"rows": [], "sql": []}
    with psycopg.connect(load_settings().dsn(), autocommit=True) as conn:
        users = [r[0] for r in conn.execute("select user_id from session_questions group by user_id "
                                            "order by count(*) desc limit %s", (args.learners,)).fetchall()]
        if not users:
            print("no answers: load benchmarks/bigdata.py first", file=sys.stderr)
            return 1
        conn.execute(_old_body())
        functions = {name: function for name, function in (("rows", "pg_temp.insights_context_rows"),
                                                           ("sql", "public.insights_context"))
                     if name in args.variants.split(",")}
        for user in users:
            conn.execute("select set_config('request.jwt.claims', %s, false)",
                         (json.dumps({"sub": str(user), "role": "authenticated"}),))
            conn.execute("set role authenticated")
            now = datetime.now(UTC)
            since = now - timedelta(days=args.days)
            for name, function in functions.items():
                for _ in range(args.calls):
                    t0 = time.perf_counter()
                    row = conn.execute(f"select {function}(%s, %s)::text", (since, now)).fetchone()
                    db[name].append((time.perf_counter() - t0) * 1000.0)
                    assert row is not None
                    text = cast(str, row[0])
                    size[name].append(len(text.encode()))
                    c0 = time.process_time()
                    context = InsightsContext.model_validate(json.loads(text))
                    deps = cast(LearnerDeps, type("Deps", (), {"learner": _Fixed(context), "now": now})())
                    insights(user_id=user, body=InsightsRequest(days=args.days), deps=deps)
                    cpu[name].append((time.process_time() - c0) * 1000.0)
            conn.execute("reset role")
    print(f"{len(users)} busiest learners x {args.calls} calls, window {args.days} days")
    print(f"{'variant':<8}{'db p50 ms':>11}{'db p95 ms':>11}{'bytes p50':>11}{'bytes max':>11}"
          f"{'cpu p50 ms':>12}{'cpu p95 ms':>12}")
    for name, label in (("rows", "raw rows (before)"), ("sql", "aggregated (now)")):
        if name not in functions:
            continue
        print(f"{name:<8}{statistics.median(db[name]):>11.1f}{_p95(db[name]):>11.1f}"
              f"{statistics.median(size[name]):>11.0f}{max(size[name]):>11}"
              f"{statistics.median(cpu[name]):>12.1f}{_p95(cpu[name]):>12.1f}   {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
