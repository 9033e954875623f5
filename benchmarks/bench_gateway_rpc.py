"""Gateway RPC round trip through the official supabase client: in-process (httpx.WSGITransport) and over
loopback (`python -m supalocal gateway`, gunicorn gthread). For scale it also times the bare database
work (BEGIN; set_config role/claims; SELECT fn(); COMMIT, one psycopg connection) and the gateway alone
(a WSGI call without any HTTP client).

    .venv/bin/python benchmarks/bench_gateway_rpc.py [--calls 1000] [--threads 4]
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import psycopg
from supabase import Client, ClientOptions, create_client
from werkzeug.test import EnvironBuilder

from supalocal import cluster
from supalocal.gateway import GatewayApp, create_gateway_app
from supalocal.gateway.app import authenticator_conninfo
from supalocal.keys import anon_key, learner_jwt
from supalocal.process import GatewayProcess
from supalocal.settings import StackSettings, load_settings


def _report(label: str, samples_s: list[float]) -> None:
    ordered = sorted(samples_s)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    print(f"{label:<38} n={len(ordered):>5}  mean={statistics.fmean(ordered) * 1e3:7.3f} ms  "
          f"p50={p50 * 1e3:7.3f} ms  p99={p99 * 1e3:7.3f} ms  max={ordered[-1] * 1e3:7.3f} ms")


def _measure(call: Callable[[], object], *, calls: int, warmup: int = 50) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


@contextmanager
def _bench_function(settings: StackSettings) -> Iterator[str]:
    name = f"benchgw_{secrets.token_hex(3)}_add"
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        conn.execute(f"create function public.{name}(a int, b int) returns int language sql stable "
                     f"as $$ select a + b $$".encode())
    try:
        yield name
    finally:
        with psycopg.connect(settings.dsn(), autocommit=True) as conn:
            conn.execute(f"drop function if exists public.{name}(int, int)".encode())


def _client(url: str, settings: StackSettings, http: httpx.Client) -> Client:
    token = learner_jwt(uuid.uuid4(), secret=settings.jwt_secret)
    return create_client(url, anon_key(secret=settings.jwt_secret),
                         ClientOptions(headers={"Authorization": f"Bearer {token}"}, httpx_client=http))


def _bench_database_floor(settings: StackSettings, function: str, calls: int) -> list[float]:
    claims = json.dumps({"role": "authenticated", "sub": str(uuid.uuid4())})
    with psycopg.connect(authenticator_conninfo(settings)) as conn:
        def call() -> None:
            conn.execute("select set_config('role', 'authenticated', true), "
                         "set_config('request.jwt.claims', %s, true)", (claims,))
            conn.execute(f"select public.{function}(%s, %s)".encode(), (1, 2)).fetchone()
            conn.commit()
        return _measure(call, calls=calls)


def _bench_wsgi_call(app: GatewayApp, settings: StackSettings, function: str, calls: int) -> list[float]:
    """The gateway's own cost: a prepared WSGI environ, no HTTP client in the way."""
    body = b'{"a":1,"b":2}'
    token = learner_jwt(uuid.uuid4(), secret=settings.jwt_secret)
    headers = [("apikey", anon_key(secret=settings.jwt_secret)), ("Authorization", f"Bearer {token}"),
               ("Content-Type", "application/json")]
    environ = EnvironBuilder(path=f"/rest/v1/rpc/{function}", method="POST", data=body,
                             headers=headers).get_environ()
    statuses: list[str] = []

    def call() -> None:
        request = {**environ, "wsgi.input": io.BytesIO(body)}
        b"".join(app(request, lambda status, _headers: statuses.append(status)))  # type: ignore[arg-type]

    samples = _measure(call, calls=calls)
    assert set(statuses) == {"200 OK"}, set(statuses)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    settings = load_settings()
    cluster.up(settings)
    with _bench_function(settings) as function:
        print(f"rpc {function}(a, b) as an authenticated learner; {args.calls} calls after 50 warm-up calls")
        _report("database floor (psycopg, 1 conn)", _bench_database_floor(settings, function, args.calls))

        app = create_gateway_app(settings, pool_size=4, listen=False)
        try:
            _report("gateway alone (WSGI call, no client)", _bench_wsgi_call(app, settings, function, args.calls))
            with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
                client = _client(settings.api_url, settings, http)
                assert client.rpc(function, {"a": 1, "b": 2}).execute().data == 3
                _report("in-process (WSGITransport)",
                        _measure(lambda: client.rpc(function, {"a": 1, "b": 2}).execute(), calls=args.calls))
        finally:
            app.close()

        with GatewayProcess(settings, threads=args.threads) as server, httpx.Client() as http:
            client = _client(server.url, settings, http)
            assert client.rpc(function, {"a": 1, "b": 2}).execute().data == 3
            _report(f"loopback (gunicorn, {args.threads} threads)",
                    _measure(lambda: client.rpc(function, {"a": 1, "b": 2}).execute(), calls=args.calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
