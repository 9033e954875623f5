"""The `is_anonymous` claim on the verified learner (README, "Anonymous users"): true only for Supabase Auth's
anonymous sign-ins, whose tokens are otherwise ordinary learner tokens (role authenticated)."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest

from smartpractice.api.auth import verify_learner_jwt
from smartpractice.config import Settings
from supalocal.keys import learner_jwt

SECRET = "unit-test-jwt-secret-with-at-least-32-characters"
SETTINGS = Settings.from_env({"SUPABASE_URL": "https://project.supabase.co", "SUPABASE_ANON_KEY": "anon-key",
                              "SUPABASE_SERVICE_ROLE_KEY": "service-role-key-value", "SUPABASE_JWT_SECRET": SECRET})
USER_ID = uuid.UUID("5f0c2b1a-8d7e-4c3b-a291-0e1f2d3c4b5a")


def test_a_hosted_shaped_anonymous_token_is_a_learner_marked_anonymous() -> None:
    token = learner_jwt(USER_ID, secret=SECRET, anonymous=True)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert (claims["role"], claims["is_anonymous"], claims["aal"], claims["email"]) == \
        ("authenticated", True, "aal1", "")
    assert [entry["method"] for entry in claims["amr"]] == ["anonymous"]
    user = verify_learner_jwt(token, SETTINGS)
    assert (user.user_id, user.is_anonymous, user.email) == (USER_ID, True, None)


def test_a_permanent_learner_token_is_not_anonymous() -> None:
    user = verify_learner_jwt(learner_jwt(USER_ID, secret=SECRET, email="a@example.test"), SETTINGS)
    assert (user.is_anonymous, user.email) == (False, "a@example.test")


@pytest.mark.parametrize("value", ["true", 1, "yes", None])
def test_only_a_literal_true_claim_counts(value: Any) -> None:
    token = jwt.encode({"sub": str(USER_ID), "aud": "authenticated", "role": "authenticated", "exp": 4_000_000_000,
                        "is_anonymous": value}, SECRET, algorithm="HS256")
    assert verify_learner_jwt(token, SETTINGS).is_anonymous is False
