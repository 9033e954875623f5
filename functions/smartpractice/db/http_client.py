"""The HTTP client under the official supabase/postgrest clients: httpx over httpcore, with no cookie jar.

One client (and its connection pool) serves every request of an instance, so it must carry nothing learner-
specific: the learner's JWT lives on each learner's supabase client (db/clients.py), and cookies are never kept
(PostgREST sets none, but a proxy in front of it may: a Set-Cookie answered to one learner must not travel with
another learner's request). Not keeping cookies also skips httpx's per-response cookie parsing (~5 % of the
functions' CPU in the profile, benchmarks/profile_functions.py). It also parses each request URL once per
instance, not twice per request (~50 us of CPU per RPC call, of ~0.7 ms; the request built is the same).

A hand-written HTTP/1.1 transport on the raw socket was measured (~0.45 ms per REST call against ~1.0 ms for
httpcore/h11) and not kept: the protocol stays with a maintained library (framing, TLS, connection reuse
against hosted Supabase's proxies), at ~0.5 ms more CPU per call.
"""

from __future__ import annotations

from typing import Any

import httpx

MAX_CONNECTIONS = 64
# Parsed request URLs kept per client: postgrest sends the path without its query (that goes in `params`), so
# the functions use a few dozen (one per RPC and table); past the bound, URLs are parsed per request as before.
MAX_PARSED_URLS = 256


class _NoCookies(httpx.Cookies):
    """A cookie jar that never stores."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class RestHttpClient(httpx.Client):
    """httpx.Client (default transport: httpcore, a pool of MAX_CONNECTIONS) without a cookie jar, parsing each
    request URL once."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("limits", httpx.Limits(max_connections=MAX_CONNECTIONS))
        super().__init__(**kwargs)
        self._cookies = _NoCookies()
        self._parsed_urls: dict[str, httpx.URL] = {}

    def build_request(self, method: str, url: httpx.URL | str, *, params: Any = None, **kwargs: Any) -> httpx.Request:
        """httpx's build_request, with the URL parsed once per distinct string (httpx.URL is immutable) and an
        empty `params` (postgrest's RPC calls send a QueryParams() with nothing in it) passed as None: httpx
        would otherwise re-parse the URL to merge nothing into its query. The request built is the same."""
        if isinstance(url, str):
            parsed = self._parsed_urls.get(url)
            if parsed is None:
                parsed = httpx.URL(url)
                if len(self._parsed_urls) < MAX_PARSED_URLS:
                    self._parsed_urls[url] = parsed
            url = parsed
        return super().build_request(method, url, params=params or None, **kwargs)
