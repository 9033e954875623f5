"""Per-endpoint latency through the full local stack: gunicorn gateway -> functions -> gateway -> Postgres.

Starts `python -m supalocal gateway` on a spare port with the functions' settings pointing back at it,
creates learners, and drives start_session -> (next_question -> submit_answer) x N -> complete_session ->
insights with real learner JWTs. Prints p50/p95/p99 per endpoint and the REST round trips each makes
(measured: every function request logs `upstream_calls`; median and max over the run).

    .venv/bin/python benchmarks/bench_endpoints.py [--learners 10] [--questions 15]
    .venv/bin/python benchmarks/bench_endpoints.py --big [--keep]   # at 10k learners / 1M answers
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import bigdata  # benchmarks/bigdata.py, next to this script
import httpx
import psycopg

from supalocal import cluster
from supalocal.keys import learner_jwt
from supalocal.process import GatewayProcess
from supalocal.settings import load_settings

# REST calls each function makes (read off the service code; see db/repository.py).


BIG_LEARNERS, BIG_ATTEMPTS = 10_000, 1_000_000


def _request_log(log_path: str) -> tuple[dict[str, list[int]], dict[str, list[float]]]:
    """REST calls and the function's own CPU ms per request, from the functions' JSON request log lines
    (`upstream_calls`, `cpu_ms`: the serving thread's CPU time, upstream waits excluded)."""
    trips: dict[str, list[int]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    with open(log_path, encoding="utf-8") as log:
        for line in log:
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if "upstream_calls" in record and "function" in record:
                trips[str(record["function"])].append(int(record["upstream_calls"]))
                cpu[str(record["function"])].append(float(record["cpu_ms"]))
    return trips, cpu


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _load_big(dsn: str) -> None:
    if bigdata.bench_user_count(dsn) < BIG_LEARNERS:
        bigdata.populate(dsn, learners=BIG_LEARNERS, attempts=BIG_ATTEMPTS, seed=1, replace=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # what the nightly maintenance leaves behind (a night already released keeps its figures)
        conn.execute("select public.refresh_cohort_stats(current_date)")
        conn.execute("analyze")
        answers = conn.execute("select count(*) from session_questions where answered_at is not null").fetchone()
        learners = conn.execute("select count(distinct user_id) from session_questions").fetchone()
    assert answers is not None and learners is not None
    print(f"data: {answers[0]:,} answered questions by {learners[0]:,} learners")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--questions", type=int, default=15)
    parser.add_argument("--port", type=int, default=54361)
    parser.add_argument("--big", action="store_true",
                        help="measure at a realistic size: load 10k learners / 1M answers (bigdata.py) unless present, "
                             "refresh the cohort cache as the nightly job does, and drive the most active learners")
    parser.add_argument("--keep", action="store_true", help="with --big: keep the bench data afterwards")
    args = parser.parse_args()
    settings = load_settings()
    cluster.up(settings)
    if args.big:
        _load_big(settings.dsn())
    log_path = Path(tempfile.mkdtemp(prefix="bench-endpoints-")) / "gateway.log"
    timings: dict[str, list[float]] = defaultdict(list)
    users: list[uuid.UUID] = []
    try:
        with GatewayProcess(settings, port=args.port, log_path=log_path) as server, \
                httpx.Client(timeout=30.0) as http:
            url = server.url

            def call(name: str, token: str, body: dict[str, object]) -> dict[str, object]:
                t0 = time.perf_counter()
                response = http.post(f"{url}/functions/v1/{name}", json=body,
                                     headers={"Authorization": f"Bearer {token}"})
                timings[name].append((time.perf_counter() - t0) * 1000.0)
                response.raise_for_status()
                return dict(response.json())

            with psycopg.connect(settings.dsn(), autocommit=True) as conn:
                keys: dict[int, object] = dict(
                    conn.execute("select question_id, correct_answer from question_answer_keys").fetchall())
                if args.big:  # the busiest learners: the longest histories to read
                    bench_users = [r[0] for r in conn.execute(
                        "select user_id from session_questions group by user_id order by count(*) desc limit %s",
                        (args.learners,)).fetchall()]
                for _ in range(0 if args.big else args.learners):
                    user = uuid.uuid4()
                    conn.execute("insert into auth.users (id) values (%s)", (user,))
                    users.append(user)
            if args.big:
                users = bench_users
            for i, user in enumerate(users):
                token = learner_jwt(user)
                session = call("start_session", token, {})["session_id"]
                for j in range(args.questions):
                    served = call("next_question", token, {"session_id": session})
                    question = served["question"]
                    assert isinstance(question, dict)
                    answer = keys[question["id"]] if (i + j) % 3 else ["Z"]
                    call("submit_answer", token, {"session_id": session, "question_id": question["id"],
                                                  "user_answer": answer, "time_spent_seconds": 30,
                                                  "idempotency_key": f"b-{uuid.uuid4()}"})
                call("complete_session", token, {"session_id": session})
                call("insights", token, {"days": 30})
    finally:
        if args.big:
            if not args.keep:
                bigdata.clean(settings.dsn())
        else:
            with psycopg.connect(settings.dsn(), autocommit=True) as conn:
                for user in users:
                    conn.execute("delete from auth.users where id = %s", (user,))
    trips, cpu = _request_log(str(log_path))
    shutil.rmtree(log_path.parent)
    print(f"{'endpoint':<18}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'mean ms':>10}{'REST calls':>16}"
          f"{'CPU p50/p95 ms':>17}")
    for name, values in timings.items():
        calls, own = trips.get(name, []), cpu.get(name, [])
        measured = f"{statistics.median(calls):g} (max {max(calls)})" if calls else "?"
        cpu_text = f"{_percentile(own, 0.5):.1f}/{_percentile(own, 0.95):.1f}" if own else "?"
        print(f"{name:<18}{len(values):>6}{_percentile(values, 0.5):>10.1f}{_percentile(values, 0.95):>10.1f}"
              f"{_percentile(values, 0.99):>10.1f}{statistics.fmean(values):>10.1f}{measured:>16}{cpu_text:>17}")
    print("CPU: the function's own CPU per request (cpu_ms in its log line: the serving thread's CPU time, "
          "which waits on REST calls do not advance)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
