"""Where one insights call spends its time, for the busiest learners (run after `bench_endpoints.py --big --keep`).

    .venv/bin/python benchmarks/profile_insights.py [--learners 10] [--rounds 3] [--top 25] [--port PORT]

1. Database: insights_context(now − 30 days, now) and private.predictor_score_inputs() called as each learner
   (role authenticated, request.jwt.claims as PostgREST sets them), server time per call (p50/p95 over the
   learners × rounds), the JSON's bytes, and each top-level key of the response built alone (the same
   subquery, `select json_build_object(...) -> 'key'` is not used: each block is timed by calling the function
   and by its EXPLAIN (ANALYZE, BUFFERS) with --explain).
2. Functions: insights called in this process (as functions-framework calls it) against a REST-only gateway
   in another process, under cProfile with the thread's CPU clock, so waiting on the REST call costs nothing.
   Prints cpu_ms (the request log's figure) p50/p95 and the functions with the most CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import flask
import psycopg

from smartpractice.api.logs import configure_logging
from smartpractice.config import get_settings
from supalocal import cluster
from supalocal.keys import function_env, learner_jwt
from supalocal.process import GatewayProcess
from supalocal.settings import load_settings


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _as_learner(conn: psycopg.Connection[Any], user: uuid.UUID) -> None:
    claims = json.dumps({"sub": str(user), "role": "authenticated"})
    conn.execute("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)",
                 (claims,))


def _database(dsn: str, users: list[uuid.UUID], rounds: int, explain: bool) -> None:
    timings: dict[str, list[float]] = {"insights_context": [], "predictor_score_inputs": []}
    sizes: dict[str, list[int]] = {}
    calls = {"insights_context": "select public.insights_context(now() - interval '30 days', now())::text",
             "predictor_score_inputs": "select private.predictor_score_inputs()::text"}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(rounds):
            for user in users:
                for name, statement in calls.items():
                    with conn.transaction():
                        _as_learner(conn, user)
                        t0 = time.perf_counter()
                        row = conn.execute(statement).fetchone()
                        timings[name].append((time.perf_counter() - t0) * 1000.0)
                        assert row is not None
                        if name == "insights_context":
                            for key, value in json.loads(row[0]).items():
                                sizes.setdefault(key, []).append(len(json.dumps(value)))
        if explain:
            with conn.transaction():
                _as_learner(conn, users[0])
                conn.execute("load 'auto_explain'")
                conn.execute("set local auto_explain.log_min_duration = 0")
                conn.execute("set local auto_explain.log_analyze = on")
                conn.execute("set local auto_explain.log_buffers = on")
                conn.execute("set local auto_explain.log_nested_statements = on")
                conn.execute(calls["insights_context"]).fetchone()
                print("auto_explain: the plans are in the cluster's log")
    for name, values in timings.items():
        print(f"db {name:<24} n={len(values):>3}  p50 {_percentile(values, 0.5):6.1f}  "
              f"p95 {_percentile(values, 0.95):6.1f}  max {max(values):6.1f} ms")
    total = sum(statistics.median(v) for v in sizes.values())
    print(f"insights_context JSON: median {total:,.0f} bytes; by key (median bytes): "
          + ", ".join(f"{k} {statistics.median(v):,.0f}" for k, v in sorted(sizes.items(), key=lambda kv: -max(kv[1]))))


def _functions(settings: Any, users: list[uuid.UUID], rounds: int, top: int, port: int | None,
               profile: bool) -> None:
    log = io.StringIO()
    with GatewayProcess(settings, port=port, rest_only=True) as gateway:
        os.environ.update(function_env(gateway.url, settings.jwt_secret))
        os.environ["SP_REQUEST_STATS_FLUSH_SECONDS"] = "0"
        get_settings.cache_clear()
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))
        import main as entry  # functions/main.py: the deploy unit's entry points

        configure_logging(stream=log)
        logging.getLogger("smartpractice").propagate = False
        app = flask.Flask(__name__)
        app.add_url_rule("/insights", "insights", lambda: entry.insights(flask.request), methods=["POST"])
        profiler = cProfile.Profile(time.thread_time)
        wall: list[float] = []
        for _ in range(rounds):
            for user in users:
                token = learner_jwt(user)
                if profile:
                    profiler.enable()
                t0 = time.perf_counter()
                response = app.test_client().post("/insights", json={"days": 30},
                                                  headers={"Authorization": f"Bearer {token}"})
                wall.append((time.perf_counter() - t0) * 1000.0)
                profiler.disable()
                assert response.status_code == 200, response.get_data(as_text=True)
    cpu = [float(r["cpu_ms"]) for r in map(json.loads, log.getvalue().splitlines()) if "cpu_ms" in r]
    print("cpu_ms per call, in order:", " ".join(f"{c:.1f}" for c in cpu))
    print("wall ms per call, in order:", " ".join(f"{w:.1f}" for w in wall))
    print(f"insights in-process n={len(cpu)}  cpu_ms p50 {statistics.median(cpu):.2f}  "
          f"p95 {_percentile(cpu, 0.95):.2f}; wall p50 {statistics.median(wall):.1f} p95 {_percentile(wall, 0.95):.1f}")
    if profile:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(top)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--explain", action="store_true", help="log the nested plans with auto_explain")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--db-only", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    cluster.up(settings)
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        users = [r[0] for r in conn.execute(
            "select user_id from session_questions group by user_id order by count(*) desc limit %s",
            (args.learners,)).fetchall()]
    print(f"load average {os.getloadavg()}")
    _database(settings.dsn(), users, args.rounds, args.explain)
    if not args.db_only:
        _functions(settings, users, args.rounds, args.top, args.port, args.profile)
    print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
