"""Supabase clients over a process-wide HTTP connection pool, reused across requests where that is safe.

Building a supabase client with its own httpx pool costs ~80 ms (TLS context, pools); sharing one
`httpx.Client` as the transport brings it to ~0.3 ms (plus its postgrest client, built on first use). The
shared HTTP client is only a transport (db/http_client.py: no cookie jar, nothing request-specific).

Reuse: the service-role client carries only the service key, so one serves every request. A learner's
client carries that learner's JWT in its headers, so it is cached under that exact token string: only a
request presenting the same token (already verified by api/auth.py) gets it back, and a different token
(another learner, or the same learner's refreshed token) gets its own client. Request builders copy the
client's headers per call (postgrest _sync/client.py), so concurrent requests on one client share nothing
mutable. Cached learner clients are bounded (LRU), and never outlive the token's use.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import httpx
from supabase import Client, create_client
from supabase.lib.client_options import SyncClientOptions

from smartpractice.db.http_client import RestHttpClient

R = TypeVar("R")
DEFAULT_READ_TIMEOUT_SECONDS = 10.0
# Learner clients kept per instance: a warm function instance serves a few hundred learners at most
# between scale-downs; each entry is a supabase Client (~20 kB).
LEARNER_CLIENT_CACHE_SIZE = 512
# REST calls made while serving the current request (the request's log line reports them). A one-element
# list so threads started with a copy of the context (prefetches) add to the same count.
_upstream_calls: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("upstream_calls", default=None)


def count_upstream_calls() -> list[int]:
    """Start counting this context's REST calls; the returned cell holds the running count."""
    cell = [0]
    _upstream_calls.set(cell)
    return cell


# CPU seconds that helper threads (prefetches) spent for the current request, added to its cpu_ms.
_helper_cpu: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("helper_cpu", default=None)


def count_helper_cpu() -> list[float]:
    """Start counting this context's helper-thread CPU; the returned cell holds the running seconds."""
    cell = [0.0]
    _helper_cpu.set(cell)
    return cell


def run_counting_cpu(fn: Callable[[], R]) -> R:
    """Run `fn` on a helper thread (inside a copy of the request's context), adding its thread CPU to the
    request's count. The addition happens before the future resolves, so the request sees it once it waits."""
    started = time.thread_time()
    try:
        return fn()
    finally:
        cell = _helper_cpu.get()
        if cell is not None:
            cell[0] += time.thread_time() - started


def _count_request(request: httpx.Request) -> None:
    cell = _upstream_calls.get()
    if cell is not None:
        cell[0] += 1


class ClientFactory:
    """Creates learner-scoped and service-role clients for one Supabase project."""

    def __init__(
        self,
        *,
        url: str,
        anon_key: str,
        service_role_key: str,
        http: httpx.Client | None = None,
        read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
    ) -> None:
        self._url = url
        self._anon_key = anon_key
        self._service_role_key = service_role_key
        self._http = http or RestHttpClient(timeout=httpx.Timeout(read_timeout_seconds, connect=3.0),
                                            event_hooks={"request": [_count_request]})
        self._lock = threading.Lock()
        self._service: Client | None = None
        self._learners: OrderedDict[str, Client] = OrderedDict()

    def _client(self, *, key: str, bearer: str) -> Client:
        options = SyncClientOptions(
            headers={"Authorization": f"Bearer {bearer}"},
            httpx_client=self._http,
            # Functions fail fast with 503 instead of sleeping through PostgREST client retries.
            postgrest_client_retry=False,
            auto_refresh_token=False,
            persist_session=False,
        )
        return create_client(self._url, key, options)

    def for_learner(self, jwt: str) -> Client:
        """A client acting as the learner whose token is `jwt`: every read goes through RLS. Cached under
        the token itself, so it only ever sends this token."""
        with self._lock:
            client = self._learners.get(jwt)
            if client is not None:
                self._learners.move_to_end(jwt)
                return client
        client = self._client(key=self._anon_key, bearer=jwt)
        _ = client.postgrest  # built now, once, rather than lazily on the first call of every request
        with self._lock:
            self._learners[jwt] = client
            while len(self._learners) > LEARNER_CLIENT_CACHE_SIZE:
                self._learners.popitem(last=False)
        return client

    def for_service(self) -> Client:
        """The service-role client, only for the service-role RPCs and server-only reads (answer keys)."""
        with self._lock:
            if self._service is None:
                self._service = self._client(key=self._service_role_key, bearer=self._service_role_key)
                _ = self._service.postgrest
            return self._service

    def close(self) -> None:
        self._http.close()


_lock = threading.Lock()
_factories: dict[tuple[str, str, float], ClientFactory] = {}


def shared_factory(*, url: str, anon_key: str, service_role_key: str,
                   read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS) -> ClientFactory:
    """The process-wide factory for a project (Cloud Functions reuse a warm instance across requests).

    Learner requests keep the short default read timeout (fail fast with 503); the maintenance job's
    set-based RPCs legitimately run for minutes at scale and get a factory with a longer one.
    """
    cache_key = (url, anon_key, read_timeout_seconds)
    with _lock:
        factory = _factories.get(cache_key)
        if factory is None:
            factory = ClientFactory(url=url, anon_key=anon_key, service_role_key=service_role_key,
                                    read_timeout_seconds=read_timeout_seconds)
            _factories[cache_key] = factory
        return factory
