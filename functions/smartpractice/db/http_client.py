"""The HTTP client under the official supabase/postgrest clients: httpx over httpcore, with no cookie jar.

One client (and its connection pool) serves every request of an instance, so it must carry nothing learner-
specific: the learner's JWT lives on each learner's supabase client (db/clients.py), and cookies are never kept
(PostgREST sets none, but a proxy in front of it may: a Set-Cookie answered to one learner must not travel with
another learner's request). Not keeping cookies also skips httpx's per-response cookie parsing (~5 % of the
functions' CPU in the profile, benchmarks/profile_functions.py).

A hand-written HTTP/1.1 transport on the raw socket was measured (~0.45 ms per REST call against ~1.0 ms for
httpcore/h11) and not kept: the protocol stays with a maintained library (framing, TLS, connection reuse
against hosted Supabase's proxies), at ~0.5 ms more CPU per call.
"""

from __future__ import annotations

from typing import Any

import httpx

MAX_CONNECTIONS = 64


class _NoCookies(httpx.Cookies):
    """A cookie jar that never stores."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class RestHttpClient(httpx.Client):
    """httpx.Client (default transport: httpcore, a pool of MAX_CONNECTIONS) without a cookie jar."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("limits", httpx.Limits(max_connections=MAX_CONNECTIONS))
        super().__init__(**kwargs)
        self._cookies = _NoCookies()
