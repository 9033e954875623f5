"""The functions' in-memory request log (api/request_stats.py): buckets, flush timing, failure, bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smartpractice.api.request_stats import (
    BUCKETS,
    LATENCY_BOUNDS_MS,
    MAX_PENDING_KEYS,
    RequestStats,
    bucket_index,
    flush_due,
)

T0 = datetime(2026, 12, 6, 22, 0, 30, tzinfo=UTC)


def _stats() -> RequestStats:
    return RequestStats(started=T0)


@pytest.mark.parametrize(("latency_ms", "bucket"), [
    (0.0, 0), (5.0, 0), (5.01, 1), (10.0, 1), (24.9, 2), (1000.0, 7), (10_000.0, 10), (10_000.1, 11), (1e9, 11)])
def test_a_latency_falls_in_the_first_bucket_whose_bound_it_does_not_exceed(latency_ms: float, bucket: int) -> None:
    assert bucket_index(latency_ms) == bucket
    assert BUCKETS == len(LATENCY_BOUNDS_MS) + 1 == 12


def test_requests_aggregate_per_minute_function_status_and_code() -> None:
    stats = _stats()
    outcomes = ((4.0, 200, None), (20.0, 200, None), (80.0, 200, None), (3.0, 400, "validation_failed"))
    for latency, status, code in outcomes:
        stats.record(function="submit_answer", status=status, error_code=code, latency_ms=latency, now=T0)
    stats.record(function="submit_answer", status=200, error_code=None, latency_ms=7.0, now=T0 + timedelta(minutes=1))
    rows = stats.take_due(now=T0 + timedelta(seconds=60), interval_seconds=60)
    assert rows == [
        {"minute": "2026-12-06T22:00:00+00:00", "function_name": "submit_answer", "status": 200, "error_code": "",
         "requests": 3, "latency_ms_sum": 104.0, "latency_ms_max": 80.0,
         "latency_buckets": [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]},
        {"minute": "2026-12-06T22:00:00+00:00", "function_name": "submit_answer", "status": 400,
         "error_code": "validation_failed", "requests": 1, "latency_ms_sum": 3.0, "latency_ms_max": 3.0,
         "latency_buckets": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]},
        {"minute": "2026-12-06T22:01:00+00:00", "function_name": "submit_answer", "status": 200, "error_code": "",
         "requests": 1, "latency_ms_sum": 7.0, "latency_ms_max": 7.0,
         "latency_buckets": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]},
    ]
    stats.flushed(rows, ok=True)
    assert stats.pending_requests() == 0


def test_nothing_is_sent_before_the_interval_nor_while_a_flush_runs() -> None:
    stats = _stats()
    stats.record(function="next_question", status=200, error_code=None, latency_ms=9.0, now=T0)
    assert stats.take_due(now=T0 + timedelta(seconds=59), interval_seconds=60) == []
    rows = stats.take_due(now=T0 + timedelta(seconds=60), interval_seconds=60)
    assert len(rows) == 1
    stats.record(function="next_question", status=200, error_code=None, latency_ms=9.0, now=T0)
    assert stats.take_due(now=T0 + timedelta(hours=1), interval_seconds=0) == []  # the first is still running
    stats.flushed(rows, ok=True)
    assert [r["requests"] for r in stats.take_due(now=T0 + timedelta(hours=1), interval_seconds=0)] == [1]


def test_ten_thousand_requests_of_one_outcome_are_one_row() -> None:
    stats = _stats()
    for i in range(10_000):
        stats.record(function="submit_answer", status=409, error_code="idempotency_key_reused",
                     latency_ms=float(i % 40), now=T0 + timedelta(seconds=i % 25))
    rows = stats.take_due(now=T0 + timedelta(minutes=2), interval_seconds=60)
    assert [(r["requests"], sum(r["latency_buckets"])) for r in rows] == [(10_000, 10_000)]


def test_a_failed_flush_keeps_the_counts_for_the_next_one() -> None:
    stats = _stats()
    stats.record(function="insights", status=200, error_code=None, latency_ms=30.0, now=T0)
    sent: list[tuple[str, list[dict[str, Any]]]] = []

    def failing(instance: str, rows: list[dict[str, Any]]) -> None:
        raise ConnectionError("database unreachable")

    with pytest.raises(ConnectionError):
        flush_due(now=T0 + timedelta(minutes=1), interval_seconds=60, send=failing, stats=stats, instance="i-1")
    stats.record(function="insights", status=200, error_code=None, latency_ms=70.0, now=T0)
    assert flush_due(now=T0 + timedelta(minutes=2), interval_seconds=60,
                     send=lambda i, rows: sent.append((i, rows)), stats=stats, instance="i-1") == 2
    assert [(i, r["requests"], r["latency_ms_max"], r["latency_buckets"][3:5]) for i, rows in sent for r in rows] == [
        ("i-1", 2, 70.0, [1, 1])]


def test_a_long_outage_keeps_only_the_newest_minutes() -> None:
    stats = _stats()
    minutes = MAX_PENDING_KEYS + 500
    for m in range(minutes):
        stats.record(function="submit_answer", status=200, error_code=None, latency_ms=5.0,
                     now=T0 + timedelta(minutes=m))
    rows = stats.take_due(now=T0 + timedelta(days=3), interval_seconds=60)
    stats.flushed(rows, ok=False)
    assert stats.pending_requests() == MAX_PENDING_KEYS
    kept = stats.take_due(now=T0 + timedelta(days=4), interval_seconds=60)
    assert kept[0]["minute"] == (T0 + timedelta(minutes=500)).replace(second=0).isoformat()
