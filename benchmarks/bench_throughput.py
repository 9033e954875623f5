"""Sustained submit_answer throughput through the full local stack, with an end-to-end durability check.

Spawns `python -m supalocal gateway` (gunicorn, one worker, gthread) on a spare port with the functions'
settings pointing back at it, then runs `--clients` client threads for `--seconds`: each has its own
learner and session and loops next_question → submit_answer, starting a new session (complete_session +
start_session) every `--session-questions` answers. A submit that gets a retryable answer (409 with
retryable=true, 5xx, or a transport error) is repeated with the SAME idempotency key, up to 3 times.
Every acknowledged answer (final 2xx) is looked up in session_questions at the end: lost must be 0.

    .venv/bin/python benchmarks/bench_throughput.py [--clients 32] [--seconds 60] [--quick]

The gateway's pools keep their defaults (16 threads for function calls, 16 for the REST calls the functions
make, in a server of its own: see supalocal/gateway/server.py), whatever the number of clients;
--gateway-threads sets the function pool.

The throughput figure counts acknowledged submits only; next_question calls are reported beside it.
CPU seconds of the client process, the gateway (functions run in it) and its Postgres backends show
which side is saturated.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from supalocal import cluster
from supalocal.keys import learner_jwt
from supalocal.process import GatewayProcess
from supalocal.settings import load_settings

MAINTENANCE_TOKEN = "bench-maintenance-token-0123456789abcdef"
RETRIES = 3


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (0 for ones that are gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    if children.exists():
        for child in children.read_text().split():
            found.extend(process_tree(int(child)))
    return found


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class ClientStats:
    statuses: Counter[str] = field(default_factory=Counter)  # per submit attempt
    other_statuses: Counter[str] = field(default_factory=Counter)  # next_question / sessions
    submit_ms: list[float] = field(default_factory=list)
    next_ms: list[float] = field(default_factory=list)
    acknowledged: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    unacknowledged: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    next_calls: int = 0
    sessions: int = 0


def status_class(response: httpx.Response | None) -> str:
    if response is None:
        return "transport error"
    code = response.status_code
    if 200 <= code < 300:
        return "2xx"
    if code == 409:
        try:
            retryable = bool(response.json().get("error", {}).get("retryable"))
        except ValueError:
            retryable = False
        return "409 retryable" if retryable else "409 other"
    return "4xx" if code < 500 else "5xx"


class Client:
    def __init__(self, *, url: str, user: uuid.UUID, token: str, keys: dict[int, list[str]], args: argparse.Namespace,
                 seed: int) -> None:
        self.url, self.user, self.keys, self.args = url, user, keys, args
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(timeout=60.0)
        self.rng = random.Random(seed)
        self.stats = ClientStats()
        self.session: str | None = None
        self.answered = 0

    def post(self, name: str, body: dict[str, Any]) -> httpx.Response | None:
        try:
            return self.http.post(f"{self.url}/functions/v1/{name}", json=body, headers=self.headers)
        except httpx.TransportError:
            return None

    def new_session(self) -> bool:
        if self.session is not None:
            done = self.post("complete_session", {"session_id": self.session})
            self.stats.other_statuses[f"complete_session {status_class(done)}"] += 1
        started = self.post("start_session", {})
        self.stats.other_statuses[f"start_session {status_class(started)}"] += 1
        ok = started is not None and started.is_success
        self.session = str(started.json()["session_id"]) if ok and started is not None else None
        self.answered = 0
        self.stats.sessions += int(ok)
        return ok

    def step(self) -> None:
        if (self.session is None or self.answered >= self.args.session_questions) and not self.new_session():
            return
        t0 = time.perf_counter()
        served = self.post("next_question", {"session_id": self.session})
        self.stats.next_ms.append((time.perf_counter() - t0) * 1000.0)
        self.stats.next_calls += 1
        self.stats.other_statuses[f"next_question {status_class(served)}"] += 1
        if served is None or served.status_code >= 500:
            return  # transient: ask again in the same session
        if not served.is_success or served.json().get("status") != "served":
            self.session = None  # exhausted or refused (e.g. no longer active): start a new session
            return
        question = int(served.json()["question"]["id"])
        answer = self.keys[question] if self.rng.random() < self.args.correct_rate else ["Z"]
        key = f"tp-{uuid.uuid4()}"
        body = {"session_id": self.session, "question_id": question, "user_answer": answer,
                "confidence_score": self.rng.randint(1, 5), "time_spent_seconds": round(self.rng.uniform(20, 120), 1),
                "idempotency_key": key}
        for _ in range(RETRIES + 1):
            t0 = time.perf_counter()
            response = self.post("submit_answer", body)
            self.stats.submit_ms.append((time.perf_counter() - t0) * 1000.0)
            kind = status_class(response)
            self.stats.statuses[kind] += 1
            if kind == "2xx":
                self.stats.acknowledged.append((self.user, key))
                self.answered += 1
                return
            if kind not in ("409 retryable", "5xx", "transport error"):
                break
        self.stats.unacknowledged.append((self.user, key))
        self.session = None  # start afresh rather than loop on a broken session

    def run(self, start: threading.Barrier, deadline: list[float]) -> None:
        start.wait()
        while time.perf_counter() < deadline[0]:
            self.step()
        self.http.close()


def create_learners(dsn: str, n: int) -> list[uuid.UUID]:
    users = [uuid.uuid4() for _ in range(n)]
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("insert into auth.users (id, email) values (%s, %s)",
                        [(u, f"throughput-{u}@bench.test") for u in users])
    return users


def verify(dsn: str, acknowledged: list[tuple[uuid.UUID, str]],
           unacknowledged: list[tuple[uuid.UUID, str]]) -> dict[str, int]:
    """Acknowledged answers missing from the database (lost), and the stored-but-unacknowledged ones."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        def stored(pairs: list[tuple[uuid.UUID, str]]) -> int:
            if not pairs:
                return 0
            row = conn.execute(
                "select count(*) from public.session_questions sq "
                "join unnest(%s::uuid[], %s::text[]) as k(user_id, key) "
                "on sq.user_id = k.user_id and sq.idempotency_key = k.key where sq.answered_at is not null",
                ([u for u, _ in pairs], [k for _, k in pairs])).fetchone()
            return int(row[0]) if row else 0

        users = sorted({u for u, _ in acknowledged})
        counters = conn.execute(
            "select (select coalesce(sum(m.total_attempts), 0) from public.user_skill_mastery m "
            "        where m.user_id = any(%s)), "
            "       (select count(*) from public.session_questions sq "
            "        join public.question_skills qs on qs.question_id = sq.question_id "
            "        where sq.user_id = any(%s) and sq.answered_at is not null)", (users, users)).fetchone()
        assert counters is not None
        found = stored(acknowledged)
        return {"acknowledged": len(acknowledged), "found": found, "lost": len(acknowledged) - found,
                "unacknowledged stored": stored(unacknowledged),
                "mastery counter mismatch": int(counters[0]) - int(counters[1])}


def gateway_backends(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("select pid from pg_stat_activity where application_name like 'supalocal-gateway%'")
        return [int(r[0]) for r in rows.fetchall()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--session-questions", type=int, default=20)
    parser.add_argument("--correct-rate", type=float, default=0.65)
    parser.add_argument("--gateway-threads", type=int, default=None, help="function pool threads (default 16)")
    parser.add_argument("--port", type=int, default=0, help="gateway port (default: a free one)")
    parser.add_argument("--quick", action="store_true", help="8 clients for 15 s")
    parser.add_argument("--log", type=Path, default=None, help="append the gateway's output to this file")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = 8, 15.0
    settings = load_settings()
    cluster.up(settings)
    dsn = settings.dsn()
    print(f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, clients={args.clients} threads, "
          f"gateway threads={args.gateway_threads or 'default'}, {args.seconds:.0f} s")
    with psycopg.connect(dsn, autocommit=True) as conn:
        keys = {int(q): list(a) for q, a in conn.execute(
            "select question_id, correct_answer from public.question_answer_keys").fetchall()}
        answered_rows = conn.execute("select count(*) from public.session_questions").fetchone()
    print(f"database: {answered_rows[0] if answered_rows else 0:,} session_questions rows before the run")
    users = create_learners(dsn, args.clients)
    try:
        with GatewayProcess(settings, port=args.port, threads=args.gateway_threads,
                            maintenance_token=MAINTENANCE_TOKEN, log_path=args.log) as server:
            clients = [Client(url=server.url, user=u, keys=keys, args=args, seed=i,
                              token=learner_jwt(u, secret=settings.jwt_secret, ttl_seconds=7200))
                       for i, u in enumerate(users)]
            start = threading.Barrier(len(clients) + 1)
            deadline = [float("inf")]
            threads = [threading.Thread(target=c.run, args=(start, deadline), daemon=True) for c in clients]
            for thread in threads:
                thread.start()
            server_pids = process_tree(server.pid)
            server_cpu0, client_cpu0 = cpu_seconds(server_pids), time.process_time()
            began = time.perf_counter()
            deadline[0] = began + args.seconds
            start.wait()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            server_cpu = cpu_seconds(process_tree(server.pid)) - server_cpu0
            client_cpu = time.process_time() - client_cpu0
            db_cpu = cpu_seconds(gateway_backends(dsn))
        stats = ClientStats()
        for c in clients:
            stats.statuses.update(c.stats.statuses)
            stats.other_statuses.update(c.stats.other_statuses)
            stats.submit_ms += c.stats.submit_ms
            stats.next_ms += c.stats.next_ms
            stats.acknowledged += c.stats.acknowledged
            stats.unacknowledged += c.stats.unacknowledged
            stats.next_calls += c.stats.next_calls
            stats.sessions += c.stats.sessions
        check = verify(dsn, stats.acknowledged, stats.unacknowledged)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("delete from auth.users where id = any(%s)", (users,))
    acked = len(stats.acknowledged)
    print(f"\n{'figure':<34}{'value':>14}")
    rows: list[tuple[str, str]] = [
        ("elapsed s", f"{elapsed:.1f}"),
        ("acknowledged submits", f"{acked:,}"),
        ("submits/s", f"{acked / elapsed:.1f}"),
        ("next_question calls", f"{stats.next_calls:,}"),
        ("next_question/s", f"{stats.next_calls / elapsed:.1f}"),
        ("sessions started", f"{stats.sessions:,}"),
        ("submit p50 ms", f"{percentile(stats.submit_ms, 0.5):.0f}"),
        ("submit p95 ms", f"{percentile(stats.submit_ms, 0.95):.0f}"),
        ("submit p99 ms", f"{percentile(stats.submit_ms, 0.99):.0f}"),
        ("submit mean ms", f"{statistics.fmean(stats.submit_ms) if stats.submit_ms else float('nan'):.0f}"),
        ("next_question p50 ms", f"{percentile(stats.next_ms, 0.5):.0f}"),
        ("next_question p95 ms", f"{percentile(stats.next_ms, 0.95):.0f}"),
        *((f"submit attempts {k}", f"{v:,}") for k, v in sorted(stats.statuses.items())),
        *((k, f"{v:,}") for k, v in sorted(stats.other_statuses.items()) if not k.endswith("2xx")),
        *((f"durability: {k}", f"{v:,}") for k, v in check.items()),
        ("CPU s client process", f"{client_cpu:.1f}"),
        ("CPU s gateway + functions", f"{server_cpu:.1f}"),
        ("CPU s its Postgres backends", f"{db_cpu:.1f}"),
    ]
    for name, value in rows:
        print(f"{name:<34}{value:>14}")
    return 0 if check["lost"] == 0 and check["mastery counter mismatch"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
