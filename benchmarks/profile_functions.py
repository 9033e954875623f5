"""Where the functions spend their own CPU: submit_answer and next_question called in this process (as
functions-framework calls them) against a REST-only gateway in another process, under cProfile with the
thread's CPU clock (time.thread_time), so waiting on REST calls costs nothing and only our work shows.

    .venv/bin/python benchmarks/profile_functions.py [--answers 60] [--top 25]

Prints each endpoint's cpu_ms (the request log's figure) p50/p95 and the functions with the most CPU.
Not part of `make bench` (its output is a profile, not a figure).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
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


def _call(app: flask.Flask, name: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = app.test_client().post(f"/{name}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 201), (name, response.status_code, response.get_data(as_text=True))
    return dict(response.get_json())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=60)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="measure cpu_ms only (cProfile's own overhead inflates it 2-3x)")
    parser.add_argument("--unfreeze", action="store_true",
                        help="undo functions/main.py's gc.freeze() after importing it (to measure what it saves)")
    args = parser.parse_args()
    settings = load_settings()
    cluster.up(settings)
    log = io.StringIO()
    with GatewayProcess(settings, port=args.port, rest_only=True) as gateway:
        os.environ.update(function_env(gateway.url, settings.jwt_secret))
        os.environ["SP_REQUEST_STATS_FLUSH_SECONDS"] = "0"
        get_settings.cache_clear()
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))
        import main as entry  # functions/main.py: the deploy unit's entry points

        if args.unfreeze:
            gc.unfreeze()

        configure_logging(stream=log)
        logging.getLogger("smartpractice").propagate = False
        app = flask.Flask(__name__)
        for name in ("start_session", "next_question", "submit_answer"):
            app.add_url_rule(f"/{name}", name, (lambda f: lambda: f(flask.request))(getattr(entry, name)),
                             methods=["POST"])
        # One learner per session of 20: the database serves a learner at most 20 new questions a minute.
        users = [uuid.uuid4() for _ in range((args.answers + 19) // 20)]
        with psycopg.connect(settings.dsn(), autocommit=True) as conn:
            for user in users:
                conn.execute("insert into auth.users (id) values (%s)", (user,))
            keys: dict[int, Any] = dict(
                conn.execute("select question_id, correct_answer from question_answer_keys").fetchall())
        profiler = cProfile.Profile(time.thread_time)
        try:
            token = ""
            session = ""
            for i in range(args.answers):
                if i % 20 == 0:
                    token = learner_jwt(users[i // 20])
                    session = _call(app, "start_session", token, {"target_questions": 20})["session_id"]
                if args.profile:
                    profiler.enable()
                served = _call(app, "next_question", token, {"session_id": session})
                question = served["question"]
                _call(app, "submit_answer", token, {
                    "session_id": session, "question_id": question["id"], "time_spent_seconds": 30,
                    "user_answer": keys[question["id"]] if i % 3 else ["Z"], "idempotency_key": f"p-{uuid.uuid4()}"})
                profiler.disable()
        finally:
            with psycopg.connect(settings.dsn(), autocommit=True) as conn:
                for user in users:
                    conn.execute("delete from auth.users where id = %s", (user,))
    cpu: dict[str, list[float]] = {}
    for line in log.getvalue().splitlines():
        record = json.loads(line)
        if "cpu_ms" in record:
            cpu.setdefault(str(record["function"]), []).append(float(record["cpu_ms"]))
    for name, values in cpu.items():
        ordered = sorted(values)
        print(f"{name:<16} n={len(values):>4}  cpu_ms p50 {statistics.median(values):.2f}  "
              f"p95 {ordered[round(0.95 * (len(ordered) - 1))]:.2f}  "
              f"p99 {ordered[round(0.99 * (len(ordered) - 1))]:.2f}  max {ordered[-1]:.2f}")
    print(f"gc collections per generation: {[s['collections'] for s in gc.get_stats()]}; load {os.getloadavg()}")
    if args.profile:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(args.top)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats("smartpractice", args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
