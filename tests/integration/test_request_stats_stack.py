"""The functions' request log reaches the database: real requests through the local stack, one flush, then
the rows, the analyst report and the access rules are checked."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from smartpractice.api import request_stats
from smartpractice.config import get_settings
from supalocal.keys import anon_key
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack


@pytest.fixture()
def request_log_on(monkeypatch: pytest.MonkeyPatch, live_stack: LiveStack, pg: psycopg.Connection) -> Iterator[str]:
    """Request stats recorded (never flushed on their own: an hour's interval) under a fresh instance id. The
    process-wide log starts and ends empty: tests/conftest.py drains it after every test."""
    monkeypatch.setenv("SP_REQUEST_STATS_FLUSH_SECONDS", "3600")
    get_settings.cache_clear()
    instance = f"test-{uuid.uuid4().hex[:8]}"
    try:
        yield instance
    finally:
        pg.execute("delete from public.function_request_stats where instance_id = %s", (instance,))
        monkeypatch.undo()
        get_settings.cache_clear()


def test_requests_are_counted_by_outcome_and_flushed_in_one_call(
        live_stack: LiveStack, make_learner: Callable[[], Learner], request_log_on: str,
        pg: psycopg.Connection) -> None:
    learner = make_learner()
    for _ in range(3):
        assert live_stack.call("start_session", token=learner.token, json={}).status_code == 201
    for _ in range(2):
        assert live_stack.call("submit_answer", token=learner.token, json={"question_id": "x"}).status_code == 400
    assert live_stack.call("insights", token=None, method="GET").status_code == 401

    sent = request_stats.flush_due(now=datetime.now(UTC), interval_seconds=0, instance=request_log_on,
                                   send=request_stats.send_with_service_role(get_settings()))
    assert sent == 6
    rows = pg.execute("""select function_name, status, error_code, requests, cardinality(latency_buckets),
                                (select sum(n) from unnest(latency_buckets) n)
                         from public.function_request_stats where instance_id = %s
                         order by function_name, status""", (request_log_on,)).fetchall()
    # (A request straddling a minute boundary splits its outcome over two minutes: sum per outcome.)
    totals: dict[tuple[str, int, str], int] = {}
    for function, status, code, requests, buckets, in_buckets in rows:
        assert (buckets, in_buckets) == (12, requests)
        totals[(function, status, code)] = totals.get((function, status, code), 0) + requests
    assert totals == {("insights", 401, "missing_token"): 1, ("start_session", 201, ""): 3,
                      ("submit_answer", 400, "validation_failed"): 2}


def test_learners_can_neither_read_nor_write_the_request_log(live_stack: LiveStack,
                                                             make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    headers = {"apikey": anon_key(live_stack.settings.jwt_secret)}
    read = live_stack.http.get(f"{live_stack.url}/rest/v1/function_request_stats",
                               headers={**headers, "Authorization": f"Bearer {learner.token}"})
    write = live_stack.http.post(f"{live_stack.url}/rest/v1/rpc/record_function_request_stats",
                                 headers={**headers, "Authorization": f"Bearer {learner.token}"},
                                 json={"p_instance_id": "forged", "p_rows": []})
    assert (read.status_code, read.json()["code"]) == (403, "42501")  # PostgREST: 42501 as a signed-in role is 403
    assert (write.status_code, write.json()["code"]) == (403, "42501")  # PostgREST: 42501 as a signed-in role is 403
