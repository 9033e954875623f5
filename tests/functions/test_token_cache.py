"""Verified learner tokens are reused only for the same token under the same verification settings, and
never past the token's expiry or the cache's TTL (api/auth.py, VerifiedTokens)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import MappingProxyType

import pytest

from smartpractice.api import auth
from smartpractice.api.auth import VerifiedTokens, VerifiedUser, verify_learner_jwt
from smartpractice.api.errors import Unauthorized
from tests.functions.test_auth import OTHER_SECRET, SETTINGS, USER_ID, hs256, make_settings

SCOPE = ("secret", None, "authenticated", 10)


def _user(exp: object) -> VerifiedUser:
    return VerifiedUser(user_id=USER_ID, role="authenticated", email=None, claims=MappingProxyType({"exp": exp}),
                        access_token="t")


@pytest.fixture(autouse=True)
def _empty_process_cache() -> Iterator[None]:
    auth._verified.clear()
    yield
    auth._verified.clear()


@pytest.mark.parametrize(("now", "hit"), [(1000.0, True), (1009.5, True), (1010.0, False), (2000.0, False)])
def test_a_cached_token_expires_by_pyjwts_rule(now: float, hit: bool) -> None:
    """PyJWT rejects a token when exp <= now - leeway; so does the cache (leeway 10 s here)."""
    cache = VerifiedTokens()
    user = _user(1000)
    cache.put("t", SCOPE, user, monotonic=0.0)
    assert (cache.get("t", SCOPE, now=now, monotonic=1.0, leeway=10) is user) is hit


def test_entries_end_after_the_ttl_and_belong_to_one_token_and_one_scope() -> None:
    cache = VerifiedTokens(ttl_seconds=60.0)
    user = _user(10_000)
    cache.put("t", SCOPE, user, monotonic=100.0)
    assert cache.get("t", SCOPE, now=0.0, monotonic=160.0, leeway=0) is user
    assert cache.get("other", SCOPE, now=0.0, monotonic=160.0, leeway=0) is None
    assert cache.get("t", ("another secret", None, "authenticated", 10), now=0.0, monotonic=160.0, leeway=0) is None
    assert cache.get("t", SCOPE, now=0.0, monotonic=160.5, leeway=0) is None
    assert cache.get("t", SCOPE, now=0.0, monotonic=100.0, leeway=0) is None  # the expired entry was dropped


def test_a_token_without_a_numeric_exp_is_never_cached_and_the_cache_is_bounded() -> None:
    cache = VerifiedTokens(max_entries=2)
    cache.put("no-exp", SCOPE, _user(None), monotonic=0.0)
    cache.put("bool-exp", SCOPE, _user(True), monotonic=0.0)
    assert cache.get("no-exp", SCOPE, now=0.0, monotonic=0.0, leeway=0) is None
    assert cache.get("bool-exp", SCOPE, now=0.0, monotonic=0.0, leeway=0) is None
    for token in ("a", "b", "c"):
        cache.put(token, SCOPE, _user(100), monotonic=0.0)
    assert [cache.get(t, SCOPE, now=0.0, monotonic=0.0, leeway=0) is not None for t in "abc"] == [False, True, True]


def test_verify_reuses_a_verified_token_but_not_under_another_secret() -> None:
    token = hs256()
    first = verify_learner_jwt(token, SETTINGS)
    assert verify_learner_jwt(token, SETTINGS) is first
    assert first.user_id == USER_ID
    with pytest.raises(Unauthorized) as caught:
        verify_learner_jwt(token, make_settings(SUPABASE_JWT_SECRET=OTHER_SECRET))
    assert caught.value.code == "invalid_signature"


def test_a_refused_token_is_not_remembered() -> None:
    token = hs256(role="anon")
    for _ in range(2):
        with pytest.raises(Unauthorized) as caught:
            verify_learner_jwt(token, SETTINGS)
        assert caught.value.code == "invalid_role"
    other = hs256(sub=str(uuid.uuid4()))
    assert verify_learner_jwt(other, SETTINGS).user_id != USER_ID
