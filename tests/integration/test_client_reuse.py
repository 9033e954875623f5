"""Reused Supabase clients never carry one learner's auth to another (db/clients.py): a learner's client is
cached under that exact token, the service client is shared. Checked on the wire (the Authorization each
request sends) and through the real stack (RLS returns each learner their own rows only), with learners
interleaved on one factory as a warm function instance serves them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

import httpx
import psycopg
import pytest

from smartpractice.db import clients
from smartpractice.db.clients import ClientFactory
from supalocal.keys import anon_key, service_role_key
from tests.integration.conftest import Learner, LiveStack


def _recording_factory(sent: list[str]) -> ClientFactory:
    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(200, json=[])

    return ClientFactory(url="http://project.test", anon_key="anon-key", service_role_key="service-key",
                         http=httpx.Client(transport=httpx.MockTransport(record)))


def test_each_request_sends_the_token_of_the_client_it_was_cached_under() -> None:
    sent: list[str] = []
    factory = _recording_factory(sent)
    try:
        for token in ("token-a", "token-b", "token-a", "token-c", "token-b"):
            factory.for_learner(token).rpc("f", {}).execute()
            factory.for_service().table("t").select("id").execute()
        assert factory.for_learner("token-a") is factory.for_learner("token-a")
        assert factory.for_learner("token-a") is not factory.for_learner("token-b")
        assert factory.for_service() is factory.for_service()
    finally:
        factory.close()
    assert sent == ["Bearer token-a", "Bearer service-key", "Bearer token-b", "Bearer service-key",
                    "Bearer token-a", "Bearer service-key", "Bearer token-c", "Bearer service-key",
                    "Bearer token-b", "Bearer service-key"]


def test_the_learner_cache_is_bounded_and_an_evicted_learner_gets_a_fresh_client(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "LEARNER_CLIENT_CACHE_SIZE", 2)
    sent: list[str] = []
    factory = _recording_factory(sent)
    try:
        first_a = factory.for_learner("token-a")
        factory.for_learner("token-b")
        factory.for_learner("token-c")  # evicts token-a, the least recently used
        again_a = factory.for_learner("token-a")
        again_a.rpc("f", {}).execute()
    finally:
        factory.close()
    assert again_a is not first_a
    assert sent == ["Bearer token-a"]


@pytest.mark.stack
def test_interleaved_learners_on_one_factory_read_only_their_own_rows(
        live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    learners = [make_learner(), make_learner()]
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        own = {}
        for learner in learners:
            row = conn.execute("select (public.start_session(%s, 'adaptive', '{}'::jsonb) ->> 'id')::uuid",
                               (learner.user_id,)).fetchone()
            assert row is not None
            own[learner.token] = {row[0]}
    factory = ClientFactory(url=live_stack.url, anon_key=anon_key(live_stack.settings.jwt_secret),
                            service_role_key=service_role_key(live_stack.settings.jwt_secret))
    try:
        seen: list[set[uuid.UUID]] = []
        for learner in (learners[0], learners[1], learners[0], learners[1]):
            rows = cast(list[dict[str, Any]], factory.for_learner(learner.token).table("practice_sessions")
                        .select("id").execute().data)
            seen.append({uuid.UUID(r["id"]) for r in rows})
        everyone = cast(list[dict[str, Any]], factory.for_service().table("practice_sessions").select("id")
                        .in_("user_id", [str(learner.user_id) for learner in learners]).execute().data)
    finally:
        factory.close()
    first, second = (own[learner.token] for learner in learners)
    assert seen == [first, second, first, second]
    assert {uuid.UUID(r["id"]) for r in everyone} == first | second
