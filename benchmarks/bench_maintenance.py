"""The nightly run on a real day: run_maintenance for the day, through HTTP like the scheduler calls it.

Fills the cluster with `bigdata.populate_day` (bench learners *@bench.test): `--learners` learners with
`--attempts` answers over the 90 days before today, `--active` of them answering `--answers` questions each
today, every learner with `--skills` mastery rows whose stored values were decayed last night. Then it
replays last night's run for yesterday (its BKT/IRT refits and aggregates, untimed) and records yesterday's steps as
done, as a scheduler running every night leaves them. Timed: ONE run_maintenance call for today with every
step (decay, snapshots, aggregates, BKT refit, IRT calibration, retention, partitions), as the scheduler
makes it. Prints each step's seconds (measured inside the function) and counts, the wall time, the
gateway's CPU seconds, and each RPC's calls and longest single call (the run's "maintenance calls" log line):
hosted Supabase cancels a statement after 8 s, so the longest call is the figure that must stay under it.
Today's and yesterday's maintenance_runs rows are removed before and after; the
bench learners are removed at the end (unless --keep).

    .venv/bin/python benchmarks/bench_maintenance.py [--learners 100000] [--active 10000] [--quick] [--strict]

Measure with hosted's timeouts on the cluster (`alter role authenticator set statement_timeout = '8s'` and
`lock_timeout`), as the README's nightly figures were.

The run date is today from 02:00 UTC (its answers are placed from 01:00 UTC to 45 minutes ago), else yesterday.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import bigdata
import httpx
import psycopg
from bench_throughput import MAINTENANCE_TOKEN, cpu_seconds, process_tree

from smartpractice.api.models import MAINTENANCE_STEPS
from supalocal import cluster
from supalocal.process import GatewayProcess
from supalocal.settings import load_settings

TARGET_SECONDS = 60.0
HOSTED_STATEMENT_TIMEOUT_SECONDS = 8.0


def replay_night_before(dsn: str, run_date: date, call: Any) -> float:
    """The run for the day before, as far as tonight's depends on it: its refits (through `call`, so tonight's
    start from last night's parameters), its aggregates (over everyone) and every step recorded done, started
    after the decay that populate_day stamped at 00:05 on run_date."""
    started = time.perf_counter()
    refits = ["bkt_refit", "irt_calibration"]
    refitted = call({"run_date": (run_date - timedelta(days=1)).isoformat(), "steps": refits})
    if refitted.status_code != 200:
        raise RuntimeError(f"last night's refits failed: {refitted.text}")
    bigdata.finish_night_before(dsn, run_date, steps=MAINTENANCE_STEPS, already_done=refits)
    return time.perf_counter() - started


def clear_runs(dsn: str, run_date: date) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("delete from public.maintenance_runs where run_date between %s and %s",
                     (run_date - timedelta(days=1), run_date))


def bench_run_date(now: datetime) -> date:
    """Today once its answers (placed from 01:00 UTC) can have happened, else yesterday."""
    return now.date() if now.hour >= 2 else now.date() - timedelta(days=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--active", type=int, default=10_000, help="learners answering today")
    parser.add_argument("--answers", type=int, default=20, help="answers of each active learner today")
    parser.add_argument("--attempts", type=int, default=3_000_000, help="answers over the 90 days before today")
    parser.add_argument("--skills", type=int, default=20, help="mastery rows per learner")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600.0, help="HTTP timeout in seconds")
    parser.add_argument("--reuse", action="store_true", help="keep the bench data already loaded (no populate)")
    parser.add_argument("--keep", action="store_true", help="leave the bench learners in the database")
    parser.add_argument("--quick", action="store_true", help="10,000 learners, 1,000 active, 300k answers")
    parser.add_argument("--log", type=Path, default=None, help="append the gateway's output to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a step fails or the target is missed")
    args = parser.parse_args()
    if args.quick:
        args.learners, args.active, args.attempts = 10_000, 1_000, 300_000
    settings = load_settings()
    cluster.up(settings)
    dsn = settings.dsn()
    print(f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; {args.learners:,} learners × "
          f"{args.skills} skills, {args.attempts:,} answers over 90 days, {args.active:,} active today × "
          f"{args.answers} answers", flush=True)
    run_date = bench_run_date(datetime.now(UTC))
    clear_runs(dsn, run_date)
    started = time.perf_counter()
    if not args.reuse:
        counts = bigdata.populate_day(dsn, day=run_date, learners=args.learners, skills=args.skills,
                                      attempts=args.attempts, active_today=args.active, answers_today=args.answers,
                                      seed=args.seed, replace=True, verbose=False)
        print("bench data: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    print(f"bench data ready in {time.perf_counter() - started:.1f} s", flush=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        day = conn.execute("select count(distinct user_id), count(*) from public.session_questions "
                           "where answered_at >= %s and answered_at < %s",
                           (run_date, run_date + timedelta(days=1))).fetchone()
        rows = conn.execute("select count(*) from public.user_skill_mastery").fetchone()
    print(f"run_date {run_date}: {day[0] if day else 0:,} learners answered {day[1] if day else 0:,} questions; "
          f"user_skill_mastery {rows[0] if rows else 0:,} rows")
    status, body, wall, cpu = 0, {}, 0.0, 0.0
    log_path = args.log or Path(tempfile.mkdtemp(prefix="bench-maintenance-")) / "gateway.log"
    calls: dict[str, dict[str, float]] = {}
    print(f"role settings: {role_timeouts(dsn)}", flush=True)
    try:
        with (GatewayProcess(settings, maintenance_token=MAINTENANCE_TOKEN, log_path=log_path) as server,
              httpx.Client(timeout=args.timeout) as http):
            def call(body: dict[str, Any]) -> httpx.Response:
                return http.post(f"{server.url}/functions/v1/run_maintenance", json=body,
                                 headers={"X-Maintenance-Token": MAINTENANCE_TOKEN})

            print(f"last night's run replayed in {replay_night_before(dsn, run_date, call):.1f} s", flush=True)
            cpu0, t0 = cpu_seconds(process_tree(server.pid)), time.perf_counter()
            response = call({"run_date": run_date.isoformat()})
            wall, cpu = time.perf_counter() - t0, cpu_seconds(process_tree(server.pid)) - cpu0
            status, body = response.status_code, response.json()
        calls = last_call_summary(log_path)
    finally:
        clear_runs(dsn, run_date)
        if not args.keep:
            bigdata.clean(dsn, verbose=False)
    return report(status=status, body=body, wall=wall, cpu=cpu, strict=args.strict, calls=calls)


def role_timeouts(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("select coalesce(rolconfig, '{}') from pg_roles where rolname = 'authenticator'").fetchone()
    settings = [item for item in (row[0] if row else []) if item.split("=")[0] in ("statement_timeout", "lock_timeout")]
    return "authenticator " + (", ".join(settings) if settings else "without timeouts (hosted: 8s each)")


def last_call_summary(log_path: Path) -> dict[str, dict[str, float]]:
    """The per-RPC timings of the last run in the gateway's log (run_maintenance logs them as it ends)."""
    summary: dict[str, dict[str, float]] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"maintenance calls"' in line:
            summary = json.loads(line).get("calls") or {}
    return summary


def report_calls(calls: dict[str, dict[str, float]]) -> bool:
    """Prints each RPC's calls and longest call, slowest first; True when every call stayed under 8 s."""
    if not calls:
        print("no per-call timings found in the gateway log")
        return False
    print(f"\n{'rpc':<34}{'calls':>7}{'seconds':>9}{'longest':>9}")
    for name, entry in calls.items():
        print(f"{name:<34}{int(entry['calls']):>7}{entry['seconds']:>9.1f}{entry['longest_seconds']:>9.2f}")
    slowest = max(calls.items(), key=lambda item: item[1]["longest_seconds"])
    print(f"slowest single call: {slowest[0]} {slowest[1]['longest_seconds']:.2f} s "
          f"(hosted cancels at {HOSTED_STATEMENT_TIMEOUT_SECONDS:.0f} s)")
    return slowest[1]["longest_seconds"] < HOSTED_STATEMENT_TIMEOUT_SECONDS


def report(*, status: int, body: dict[str, Any], wall: float, cpu: float, strict: bool,
           calls: dict[str, dict[str, float]]) -> int:
    print(f"\nrun_maintenance: HTTP {status}, wall {wall:.1f} s, gateway CPU {cpu:.1f} s "
          f"(target ≤ {TARGET_SECONDS:.0f} s)")
    within_limit = report_calls(calls)
    if status != 200:
        print(f"FAILED: {body.get('error')}")
        return 1 if strict else 0
    print(f"{'step':<17}{'seconds':>9}  counts")
    for step in body["steps"]:
        counts = ", ".join(f"{k}={v:,}" for k, v in step["counts"].items())
        print(f"{step['step']:<17}{step['seconds']:>9.1f}  {counts}")
    total = sum(float(s["seconds"]) for s in body["steps"])
    print(f"{'total':<17}{total:>9.1f}")
    return 1 if strict and (wall > TARGET_SECONDS or not within_limit) else 0


if __name__ == "__main__":
    sys.exit(main())
