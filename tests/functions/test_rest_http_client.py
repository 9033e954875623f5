"""The shared HTTP client keeps no cookies: one learner's upstream Set-Cookie never reaches another's request."""

from __future__ import annotations

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
