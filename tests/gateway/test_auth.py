"""Authentication: every bad/forged/expired JWT class answers 401 with PostgREST's code; good tokens set
the Postgres role, request.jwt.claims (auth.uid()/auth.role()) and the role's own settings."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from postgrest.exceptions import APIError

from tests.gateway.conftest import USER_A, Gateway, Names, as_row

pytestmark = pytest.mark.stack

WRONG_SECRET = "not-the-local-secret-but-long-enough-for-hs256-0123456789"


def _token(secret: str, *, algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 600, **claims}, secret, algorithm=algorithm)


def _bad_tokens(secret: str) -> dict[str, tuple[str, str, str]]:
    """class -> (Authorization header, PostgREST code, message)."""
    now = int(time.time())
    return {
        "empty header": ("", "PGRST301", "Empty JWT is sent in Authorization header"),
        "empty bearer": ("Bearer ", "PGRST301", "Empty JWT is sent in Authorization header"),
        "two parts": ("Bearer abc.def", "PGRST301", "Expected 3 parts in JWT; got 2"),
        "garbage": ("Bearer a.b.c", "PGRST301", "JWT couldn't be decoded"),
        "alg none": ("Bearer " + jwt.encode({"role": "service_role"}, "", algorithm="none"),
                     "PGRST301", "Wrong or unsupported encoding algorithm"),
        "alg HS512": ("Bearer " + _token(secret * 2, algorithm="HS512", role="service_role"),
                      "PGRST301", "Wrong or unsupported encoding algorithm"),
        "wrong secret": ("Bearer " + _token(WRONG_SECRET, role="authenticated", sub=str(USER_A)),
                         "PGRST301", "JWT cryptographic operation failed"),
        "forged service_role": ("Bearer " + _token(WRONG_SECRET, role="service_role"),
                                "PGRST301", "JWT cryptographic operation failed"),
        "expired": ("Bearer " + _token(secret, role="authenticated", exp=now - 120), "PGRST303", "JWT expired"),
        "not yet valid": ("Bearer " + _token(secret, role="authenticated", nbf=now + 120),
                          "PGRST303", "JWT not yet valid"),
        "issued in future": ("Bearer " + _token(secret, role="authenticated", iat=now + 120),
                             "PGRST303", "JWT issued at future"),
        "exp not a number": ("Bearer " + _token(secret, role="authenticated", exp="tomorrow"),
                             "PGRST303", "The JWT 'exp' claim must be a number"),
        "unknown role": ("Bearer " + _token(secret, role="hacker"), "PGRST303", "JWT role claim is not an API role"),
        "superuser role": ("Bearer " + _token(secret, role="postgres"),
                           "PGRST303", "JWT role claim is not an API role"),
        "non-bearer scheme": ("Basic dXNlcjpwYXNz", "PGRST301", "Authorization header must use the Bearer scheme"),
    }


BAD_CLASSES = sorted(_bad_tokens("x" * 64))


@pytest.mark.parametrize("token_class", BAD_CLASSES)
def test_bad_tokens_answer_401_with_postgrest_codes(gw: Gateway, names: Names, token_class: str) -> None:
    authorization, code, message = _bad_tokens(gw.settings.jwt_secret)[token_class]
    client = gw.client(authorization=authorization)
    with pytest.raises(APIError) as info:
        client.table(names.things).select("id").execute()
    assert (info.value.code, info.value.message) == (code, message)
    assert gw.last.status_code == 401
    assert gw.last.headers["WWW-Authenticate"].startswith("Bearer")
    with pytest.raises(APIError) as rpc_info:
        client.rpc(names.fn("add"), {"a": 1}).execute()
    assert rpc_info.value.code == code


def test_token_within_the_30s_skew_is_accepted(gw: Gateway, names: Names) -> None:
    token = _token(gw.settings.jwt_secret, role="authenticated", sub=str(USER_A), exp=int(time.time()) - 10)
    assert gw.client(token).rpc(names.fn("add"), {"a": 1}).execute().data == 2


def test_claims_role_and_role_settings_reach_postgres(gw: Gateway, names: Names) -> None:
    whoami = names.fn("whoami")
    assert gw.user(USER_A).rpc(whoami, {}).execute().data == {
        "user": "authenticated", "uid": str(USER_A), "role": "authenticated", "method": "POST", "timeout": "8s"}
    assert gw.anon().rpc(whoami, {}, get=True).execute().data == {
        "user": "anon", "uid": None, "role": "anon", "method": "GET", "timeout": "3s"}
    assert as_row(gw.service().rpc(whoami, {}).execute().data)["user"] == "service_role"


def test_token_without_role_runs_as_anon(gw: Gateway, names: Names) -> None:
    token = _token(gw.settings.jwt_secret, sub=str(USER_A))
    assert as_row(gw.client(token).rpc(names.fn("whoami"), {}).execute().data)["user"] == "anon"


def test_apikey_is_the_jwt_when_there_is_no_authorization_header(gw: Gateway, names: Names) -> None:
    response = gw.raw("POST", f"/rest/v1/rpc/{names.fn('whoami')}", apikey=gw.service_key, json={})
    assert response.status_code == 200
    assert response.json()["user"] == "service_role"
    by_query = gw.raw("GET", f"/rest/v1/{names.things}?select=id&id=eq.1&apikey={gw.anon_key}", apikey=None)
    assert (by_query.status_code, by_query.json()) == (200, [{"id": 1}])


def test_missing_or_invalid_apikey_is_401(gw: Gateway, names: Names) -> None:
    learner = _token(gw.settings.jwt_secret, role="authenticated", sub=str(USER_A))
    missing = gw.raw("GET", f"/rest/v1/{names.things}", apikey=None, headers={"Authorization": f"Bearer {learner}"})
    assert (missing.status_code, missing.json()["code"]) == (401, "PGRST302")
    for bad_key in (learner, _token(WRONG_SECRET, role="anon")):
        response = gw.raw("GET", f"/rest/v1/{names.things}", apikey=bad_key)
        assert (response.status_code, response.json()["message"]) == (401, "Invalid API key")
