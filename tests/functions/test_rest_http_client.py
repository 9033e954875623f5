"""The shared HTTP client keeps no cookies (one learner's upstream Set-Cookie never reaches another's request) and
builds every request exactly as plain httpx does."""

from __future__ import annotations

from typing import Any

import httpx

from smartpractice.db.http_client import RestHttpClient


def test_a_set_cookie_is_never_sent_back() -> None:
    seen: list[str | None] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "__cf_bm=learner-a; Path=/"}, json=[])

    with RestHttpClient(transport=httpx.MockTransport(upstream), base_url="http://rest.test") as client:
        client.get("/rest/v1/a", headers={"authorization": "Bearer learner-a"})
        client.get("/rest/v1/b", headers={"authorization": "Bearer learner-b"})
        assert seen == [None, None]
        assert len(client.cookies.jar) == 0


def test_the_default_transport_is_httpx_with_a_bounded_pool() -> None:
    with RestHttpClient() as client:
        transport = client._transport
        assert isinstance(transport, httpx.HTTPTransport)
        assert transport._pool._max_connections == 64


def _wire(request: httpx.Request) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
    return request.method, str(request.url), request.headers.raw, request.read()


def test_requests_are_built_as_plain_httpx_builds_them() -> None:
    """The parsed-URL cache and the empty-params shortcut change nothing that is sent."""
    plain = httpx.Client(headers={"apikey": "k"}, params={"client": "1"})
    ours = RestHttpClient(headers={"apikey": "k"}, params={"client": "1"})
    relative = RestHttpClient(base_url="http://rest.test/rest/v1")
    plain_relative = httpx.Client(base_url="http://rest.test/rest/v1")
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "http://rest.test/rest/v1/rpc/f", {"params": httpx.QueryParams(), "content": b'{"a":1}',
                                                     "headers": {"Authorization": "Bearer t"}}),
        ("GET", "http://rest.test/rest/v1/t", {"params": httpx.QueryParams({"select": "a,b", "id": "eq.5"})}),
        ("GET", "http://rest.test/rest/v1/t?x=1", {"params": {}}),
        ("GET", "http://rest.test/rest/v1/t?x=1", {"params": {"y": "2"}}),
        ("GET", "http://rest.test/rest/v1/t", {}),
    ]
    for _ in range(2):  # the second round reads the cached URLs
        for method, url, kwargs in cases:
            assert _wire(ours.build_request(method, url, **kwargs)) == _wire(plain.build_request(method, url, **kwargs))
        assert _wire(relative.build_request("POST", "/rpc/f", params=httpx.QueryParams())) == _wire(
            plain_relative.build_request("POST", "/rpc/f", params=httpx.QueryParams()))


def test_the_parsed_url_cache_is_bounded() -> None:
    from smartpractice.db.http_client import MAX_PARSED_URLS

    client = RestHttpClient()
    for i in range(MAX_PARSED_URLS + 10):
        assert str(client.build_request("GET", f"http://rest.test/t{i}").url) == f"http://rest.test/t{i}"
    assert len(client._parsed_urls) == MAX_PARSED_URLS
