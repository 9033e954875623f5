"""`python -m supalocal gateway` over loopback: the real threaded server, official clients over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase import Client, ClientOptions, create_client

from supalocal.gateway.edge import MAX_REQUEST_LINE_BYTES
from supalocal.keys import anon_key, learner_jwt
from supalocal.process import free_port
from supalocal.settings import StackSettings
from tests.gateway.conftest import USER_A, Names, as_row
from tests.gateway.test_edge import padded_path

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def served_url(stack_settings: StackSettings, names: Names, functions_source: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SP_LOCAL_API_HOST": "127.0.0.1", "SP_LOCAL_API_PORT": str(port),
           "SP_LOCAL_FUNCTIONS_SOURCE": str(functions_source)}
    log = tmp_path_factory.mktemp("gateway_server") / "gateway.log"
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "supalocal", "gateway", "--threads", "4"],
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/rest/v1/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gateway did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    # An explicit httpx client: supabase's default path passes deprecated timeout arguments (warnings).
    with httpx.Client() as client:
        yield client


def _client(url: str, http: httpx.Client, settings: StackSettings) -> Client:
    token = learner_jwt(USER_A, secret=settings.jwt_secret)
    return create_client(url, anon_key(secret=settings.jwt_secret),
                         ClientOptions(headers={"Authorization": f"Bearer {token}"}, httpx_client=http))


def test_rest_rpc_and_functions_over_loopback(served_url: str, http: httpx.Client, stack_settings: StackSettings,
                                              names: Names) -> None:
    client = _client(served_url, http, stack_settings)
    assert client.table(names.things).select("id").gt("score", 25).order("id").execute().data == [
        {"id": 3}, {"id": 5}]
    assert as_row(client.rpc(names.fn("whoami"), {}).execute().data)["uid"] == str(USER_A)
    echoed = client.functions.invoke("echo", {"body": {"x": 1}, "responseType": "json"})
    assert isinstance(echoed, dict) and echoed["json"] == {"x": 1}
    with pytest.raises(APIError) as info:  # a UTF-8 path through a PEP 3333 server
        client.table(f"{names.prefix}_ñandú").select("*").execute()
    assert info.value.message == f"Could not find the table 'public.{names.prefix}_ñandú' in the schema cache"


def test_concurrent_requests_each_get_their_own_transaction(served_url: str, http: httpx.Client,
                                                            stack_settings: StackSettings, names: Names) -> None:
    client = _client(served_url, http, stack_settings)

    def call(i: int) -> int:
        result = client.rpc(names.fn("add"), {"a": i, "b": i}).execute().data
        assert isinstance(result, int), result
        return result

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(call, range(40))) == [2 * i for i in range(40)]


def test_the_request_line_limit_is_hosted_s_not_gunicorn_s(served_url: str, http: httpx.Client,
                                                            stack_settings: StackSettings, names: Names) -> None:
    """Over real HTTP: gunicorn's own 4094-byte default would refuse lines hosted serves (gateway/edge.py)."""
    headers = {"apikey": anon_key(secret=stack_settings.jwt_secret)}
    longest = http.get(served_url + padded_path(names, MAX_REQUEST_LINE_BYTES), headers=headers)
    assert (longest.status_code, longest.json()) == (200, [{"id": 1}])
    too_long = http.get(served_url + padded_path(names, MAX_REQUEST_LINE_BYTES + 1), headers=headers)
    assert (too_long.status_code, too_long.text) == (414, "URI too long\n")
