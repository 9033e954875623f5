"""The functions' request log, as far as it reaches the database: counts and latency histograms per minute.

Every request is recorded in memory (function, status, error code, latency); about once a minute
(REQUEST_STATS_FLUSH_SECONDS) an instance sends what it holds to `record_function_request_stats` with the
service role, in one RPC call after the response is built. So the database sees one row per minute ×
function × outcome × instance, whatever a script sends, and a learner request pays for at most one extra
round trip a minute. Analysts read it with `monitoring.function_request_report` (sql/monitoring_queries.sql).

An instance that shuts down (SIGTERM on Cloud Run: gunicorn's worker exits gracefully) sends what it holds
from an atexit hook. A failed flush is logged and its counts kept for the next one; memory stays bounded
(MAX_PENDING_KEYS).
The full per-request detail stays in the JSON log lines (api/http.py).
"""

from __future__ import annotations

import atexit
import bisect
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smartpractice.api.logs import get_logger
from smartpractice.config import Settings
from smartpractice.service.deps import factory_for

# Upper bounds (ms) of the latency buckets; a 12th bucket holds the rest. Must equal the SQL side,
# private.latency_bucket_bounds_ms() (a test keeps them equal).
LATENCY_BOUNDS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
BUCKETS = len(LATENCY_BOUNDS_MS) + 1
# At most this many (minute, function, status, code) keys wait in memory (about 4 hours of one endpoint's
# outcomes); beyond it the oldest minutes are dropped, so a long database outage cannot grow the process.
MAX_PENDING_KEYS = 2000
MAX_ROWS_PER_CALL = 5000  # the RPC's own limit

Key = tuple[datetime, str, int, str]  # minute (UTC), function, HTTP status, error code ('' when none)


@dataclass(slots=True)
class _Cell:
    requests: int = 0
    latency_ms_sum: float = 0.0
    latency_ms_max: float = 0.0
    buckets: list[int] | None = None

    def add(self, *, requests: int, latency_ms_sum: float, latency_ms_max: float, buckets: list[int]) -> None:
        self.requests += requests
        self.latency_ms_sum += latency_ms_sum
        self.latency_ms_max = max(self.latency_ms_max, latency_ms_max)
        self.buckets = buckets.copy() if self.buckets is None else [a + b for a, b in zip(self.buckets, buckets,
                                                                                             strict=True)]


def bucket_index(latency_ms: float) -> int:
    """0-based bucket of a latency: the first bound it does not exceed, else the open last bucket."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, latency_ms)


class RequestStats:
    """Thread-safe in-memory aggregate; time comes from the caller (`now`, a UTC datetime)."""

    def __init__(self, *, started: datetime) -> None:
        self._lock = threading.Lock()
        self._cells: dict[Key, _Cell] = {}
        self._last_flush = started
        self._flushing = False

    def record(self, *, function: str, status: int, error_code: str | None, latency_ms: float,
               now: datetime) -> None:
        buckets = [0] * BUCKETS
        buckets[bucket_index(latency_ms)] = 1
        key = (now.astimezone(UTC).replace(second=0, microsecond=0), function, status, error_code or "")
        with self._lock:
            self._cells.setdefault(key, _Cell()).add(requests=1, latency_ms_sum=latency_ms,
                                                     latency_ms_max=latency_ms, buckets=buckets)

    def take_due(self, *, now: datetime, interval_seconds: int) -> list[dict[str, Any]]:
        """The rows to send when `interval_seconds` have passed since the last flush (else []); the caller
        must then call `flushed(rows, ok=...)`. Only one flush runs at a time."""
        with self._lock:
            if self._flushing or not self._cells or (now - self._last_flush).total_seconds() < interval_seconds:
                return []
            self._flushing = True
            self._last_flush = now
            keys = sorted(self._cells)[:MAX_ROWS_PER_CALL]
            return [_row(key, self._cells.pop(key)) for key in keys]

    def flushed(self, rows: list[dict[str, Any]], *, ok: bool) -> None:
        """Ends a flush; when it failed, its rows go back (merged with what arrived since), oldest dropped
        beyond MAX_PENDING_KEYS."""
        with self._lock:
            self._flushing = False
            if ok:
                return
            for row in rows:
                key = (datetime.fromisoformat(row["minute"]), row["function_name"], row["status"], row["error_code"])
                self._cells.setdefault(key, _Cell()).add(
                    requests=row["requests"], latency_ms_sum=row["latency_ms_sum"],
                    latency_ms_max=row["latency_ms_max"], buckets=row["latency_buckets"])
            for key in sorted(self._cells)[: max(0, len(self._cells) - MAX_PENDING_KEYS)]:
                del self._cells[key]

    def pending_requests(self) -> int:
        with self._lock:
            return sum(cell.requests for cell in self._cells.values())


def _row(key: Key, cell: _Cell) -> dict[str, Any]:
    minute, function, status, error_code = key
    return {"minute": minute.isoformat(), "function_name": function, "status": status, "error_code": error_code,
            "requests": cell.requests, "latency_ms_sum": round(cell.latency_ms_sum, 3),
            "latency_ms_max": round(cell.latency_ms_max, 3), "latency_buckets": cell.buckets or [0] * BUCKETS}


def instance_id() -> str:
    """Which instance wrote a row: the Cloud Run revision (set on Cloud Functions gen 2) plus a random part."""
    return f"{os.environ.get('K_REVISION', 'local')}:{uuid.uuid4().hex[:12]}"


_log = get_logger("api.request_stats")
INSTANCE_ID = instance_id()
STATS = RequestStats(started=datetime.now(UTC))


def flush_due(*, now: datetime, interval_seconds: int, send: Callable[[str, list[dict[str, Any]]], None],
              stats: RequestStats = STATS, instance: str = INSTANCE_ID) -> int:
    """Send the pending rows when due; returns how many requests were sent (0 when not due). `send` raises
    on failure; the rows are then kept for the next flush and the exception propagates to the caller."""
    rows = stats.take_due(now=now, interval_seconds=interval_seconds)
    if not rows:
        return 0
    try:
        send(instance, rows)
    except BaseException:
        stats.flushed(rows, ok=False)
        raise
    stats.flushed(rows, ok=True)
    return sum(row["requests"] for row in rows)


def send_with_service_role(settings: Settings) -> Callable[[str, list[dict[str, Any]]], None]:
    """A sender calling record_function_request_stats with the service role."""
    def send(instance: str, rows: list[dict[str, Any]]) -> None:
        client = factory_for(settings).for_service()
        client.rpc("record_function_request_stats", {"p_instance_id": instance, "p_rows": rows}).execute()

    return send


def publish(*, settings: Settings, function: str, status: int, error_code: str | None, latency_ms: float,
            now: datetime) -> None:
    """Record one request and flush when due; never raises (a failed flush is logged and retried later)."""
    interval = settings.request_stats_flush_seconds
    if interval == 0:
        return
    _flush_at_exit_once(settings)
    STATS.record(function=function, status=status, error_code=error_code, latency_ms=latency_ms, now=now)
    try:
        flush_due(now=now, interval_seconds=interval, send=send_with_service_role(settings))
    except Exception as exc:  # the learner's response is already built; the counts wait for the next flush
        _log.warning("request stats flush failed: %s", type(exc).__name__,
                     extra={"json_fields": {"error_type": type(exc).__name__,
                                            "pending_requests": STATS.pending_requests()}})


_exit_hook = threading.Lock()
_exit_hook_settings: list[Settings] = []


def _flush_at_exit_once(settings: Settings) -> None:
    with _exit_hook:
        if not _exit_hook_settings:
            atexit.register(_flush_at_exit)
        _exit_hook_settings[:] = [settings]


def _flush_at_exit() -> None:
    try:
        flush_due(now=datetime.now(UTC), interval_seconds=0, send=send_with_service_role(_exit_hook_settings[0]))
    except Exception:  # shutting down: nothing left to retry with
        _log.warning("request stats: the final flush failed; %d requests not recorded", STATS.pending_requests())
