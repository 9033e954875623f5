"""run_maintenance duration for learners × skills of mastery rows, through HTTP like the scheduler calls it.

Fills the cluster with `bigdata.populate_mastery_only` (bench learners *@bench.test, `--skills` mastery rows
each, last reviews spread over 90 days so most rows decay), spawns the gateway, and POSTs run_maintenance
with X-Maintenance-Token for today's date (decay as of tonight 00:00 UTC), ONE CALL PER STEP in the server's
order, so a step that fails (e.g. on the functions' 10 s upstream read timeout) is reported and the others
still run; a failed one-SQL step is then timed directly as superuser. The maintenance_runs rows of the date
are deleted before (so no step is skipped) and after; the bench learners are removed at the end (unless --keep).

    .venv/bin/python benchmarks/bench_maintenance.py [--learners 100000] [--skills 20] [--quick] [--strict]

Step seconds are measured inside the function, wall seconds around the HTTP call. With mastery rows only (no
answers) decay and the aggregates' knowledge gaps / cohort statistics have work; snapshots and refits do not.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from datetime import UTC, datetime
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

# Steps that are one SQL call: timed directly (superuser) when the HTTP call fails, e.g. on the client timeout.
DIRECT_SQL = {"aggregates": ("refresh_aggregates", "select public.refresh_aggregates(%s)")}


def wait_until_idle(conn: psycopg.Connection[Any], function: str, limit: float = 1800.0) -> float:
    """Seconds until no other backend runs `function`: the gateway finishes an RPC its caller gave up on."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        row = conn.execute("select count(*) from pg_stat_activity where state = 'active' "
                           "and pid <> pg_backend_pid() and query like %s", (f"%{function}%",)).fetchone()
        if not row or not row[0]:
            break
        time.sleep(0.5)
    return time.perf_counter() - started


@dataclasses.dataclass(frozen=True)
class StepFigure:
    step: str
    wall: float
    cpu: float
    http_status: int
    seconds: float | None = None  # measured inside the function
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    error: str | None = None
    direct_sql: float | None = None  # the step's SQL run alone, after...
    orphan: float | None = None  # ...the abandoned server-side call finished (seconds after the failure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--skills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5_000, help="run_maintenance batch_size")
    parser.add_argument("--timeout", type=float, default=3600.0, help="HTTP timeout in seconds")
    parser.add_argument("--reuse", action="store_true", help="keep the bench data already loaded (no populate)")
    parser.add_argument("--keep", action="store_true", help="leave the bench learners in the database")
    parser.add_argument("--quick", action="store_true", help="10,000 learners")
    parser.add_argument("--log", type=Path, default=None, help="append the gateway's output to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a step fails")
    args = parser.parse_args()
    if args.quick:
        args.learners = 10_000
    settings = load_settings()
    cluster.up(settings)
    dsn = settings.dsn()
    print(f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, "
          f"{args.learners:,} learners × {args.skills} skills, batch_size {args.batch_size}")
    started = time.perf_counter()
    if not args.reuse:
        bigdata.populate_mastery_only(dsn, learners=args.learners, skills=args.skills, seed=args.seed, replace=True,
                                      verbose=False)
    print(f"bench data ready in {time.perf_counter() - started:.1f} s")
    run_date = datetime.now(UTC).date()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("delete from public.maintenance_runs where run_date = %s", (run_date,))
        rows = conn.execute("select count(*) from public.user_skill_mastery").fetchone()
    print(f"user_skill_mastery rows: {rows[0] if rows else 0:,}, run_date {run_date}")
    results: list[StepFigure] = []
    try:
        with (GatewayProcess(settings, maintenance_token=MAINTENANCE_TOKEN, log_path=args.log) as server,
              httpx.Client(timeout=args.timeout) as http):
            for step in MAINTENANCE_STEPS:  # one call per step: a failing step does not hide the others
                cpu0, t0 = cpu_seconds(process_tree(server.pid)), time.perf_counter()
                response = http.post(f"{server.url}/functions/v1/run_maintenance",
                                     json={"run_date": run_date.isoformat(), "steps": [step],
                                           "batch_size": args.batch_size},
                                     headers={"X-Maintenance-Token": MAINTENANCE_TOKEN})
                figure = StepFigure(step=step, wall=time.perf_counter() - t0,
                                    cpu=cpu_seconds(process_tree(server.pid)) - cpu0, http_status=response.status_code)
                if response.is_success:
                    (done,) = response.json()["steps"]
                    figure = dataclasses.replace(figure, seconds=float(done["seconds"]), counts=done["counts"])
                else:
                    figure = dataclasses.replace(figure, error=str(response.json()["error"]["code"]))
                    if step in DIRECT_SQL:  # how long the step's SQL takes without the HTTP client's timeout
                        with psycopg.connect(dsn, autocommit=True) as conn:
                            orphan = wait_until_idle(conn, DIRECT_SQL[step][0])
                            t1 = time.perf_counter()
                            conn.execute(DIRECT_SQL[step][1].encode(), (run_date,))
                            figure = dataclasses.replace(figure, direct_sql=time.perf_counter() - t1,
                                                         orphan=orphan)
                results.append(figure)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:  # so a real run for the date is not skipped
            conn.execute("delete from public.maintenance_runs where run_date = %s", (run_date,))
        if not args.keep:
            bigdata.clean(dsn, verbose=False)
    print(f"\n{'step':<17}{'HTTP':>5}{'step s':>9}{'wall s':>9}{'CPU s':>7}  counts / error")
    for f in results:
        detail = ", ".join(f"{k}={v:,}" for k, v in f.counts.items()) if f.error is None else (
            f"FAILED {f.error}" + (f"; the abandoned call ran on {f.orphan:.0f} s; the SQL alone takes "
                                   f"{f.direct_sql:.1f} s" if f.direct_sql is not None else ""))
        step_s = f"{f.seconds:.1f}" if f.seconds is not None else "-"
        print(f"{f.step:<17}{f.http_status:>5}{step_s:>9}{f.wall:>9.1f}{f.cpu:>7.1f}  {detail}")
    print(f"{'total':<22}{sum(f.seconds or 0.0 for f in results):>9.1f}{sum(f.wall for f in results):>9.1f}"
          f"{sum(f.cpu for f in results):>7.1f}")
    failed = [f.step for f in results if f.error is not None]
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
