"""The database goes away under the gateway: answers are quick 503 PGRST000 (as PostgREST), never a hang,
a 500 or a 504, and the pool recovers by itself once the database takes connections again.

The outage is simulated without stopping the shared cluster: the gateway's connections are terminated and
`authenticator` may not log in until the test restores it (in `finally`). tests/integration/test_faults.py
does the real thing (a Postgres restart under load).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from supalocal.gateway import GatewayApp, create_gateway_app
from supalocal.keys import service_role_key
from supalocal.settings import StackSettings

pytestmark = pytest.mark.stack
BASE_URL = "http://gateway.test"


@pytest.fixture()
def private_app(stack_settings: StackSettings) -> Iterator[GatewayApp]:
    app = create_gateway_app(stack_settings, listen=False, pool_size=3)
    try:
        yield app
    finally:
        app.close()


def _get(http: httpx.Client, key: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = http.get("/rest/v1/skills", params={"select": "id", "limit": "1"},
                        headers={"apikey": key, "Authorization": f"Bearer {key}"})
    return response, time.perf_counter() - started


def test_outage_answers_503_quickly_and_the_pool_recovers(private_app: GatewayApp, stack_settings: StackSettings,
                                                          pg: psycopg.Connection) -> None:
    key = service_role_key(stack_settings.jwt_secret)
    http = httpx.Client(transport=httpx.WSGITransport(app=private_app), base_url=BASE_URL)
    assert _get(http, key)[0].status_code == 200
    try:
        pg.execute("alter role authenticator nologin")
        pg.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s",
                   (private_app.application_name,))
        during = [_get(http, key) for _ in range(3)]
    finally:
        pg.execute("alter role authenticator login")
    statuses = [(r.status_code, r.json()["code"]) for r, _ in during]
    assert statuses == [(503, "PGRST000")] * 3
    assert max(seconds for _, seconds in during) < 3.0  # no hanging until the 10 s pool timeout

    deadline = time.monotonic() + 10.0
    while (response := _get(http, key)[0]).status_code != 200:
        assert (response.status_code, response.json()["code"]) == (503, "PGRST000")
        assert time.monotonic() < deadline, "the pool never recovered"
        time.sleep(0.2)
    assert response.json() != []
    http.close()
