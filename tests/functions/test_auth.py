"""JWT verification (learner + maintenance caller) and the settings it depends on."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.utils import base64url_encode
from werkzeug.datastructures import Headers

from smartpractice.api.auth import (
    MaintenanceCaller,
    bearer_token,
    verify_learner_jwt,
    verify_maintenance_caller,
)
from smartpractice.api.errors import Forbidden, ServiceUnavailable, Unauthorized
from smartpractice.config import ConfigurationError, Settings, get_settings

SECRET = "unit-test-jwt-secret-with-at-least-32-characters"
OTHER_SECRET = "another-jwt-secret-that-is-also-32-characters-long"
MAINT_TOKEN = "maintenance-token-0123456789-abcdefghijklmnop"
USER_ID = uuid.UUID("0b8f6c1e-3d4a-4b5c-9d6e-7f8091a2b3c4")
JWKS_URL = "https://project.supabase.co/auth/v1/.well-known/jwks.json"
SCHEDULER = "scheduler@project.iam.gserviceaccount.com"
FUNCTION_URL = "https://europe-west1-project.cloudfunctions.net/run_maintenance"
BASE_ENV = {
    "SUPABASE_URL": "https://project.supabase.co",
    "SUPABASE_ANON_KEY": "anon-key",
    "SUPABASE_SERVICE_ROLE_KEY": "service-role-key-value",
    "SP_REQUEST_STATS_FLUSH_SECONDS": "0",  # no flush to the (fake) project at a wall-clock moment
}


def make_settings(**env: str) -> Settings:
    return Settings.from_env({**BASE_ENV, "SUPABASE_JWT_SECRET": SECRET, **env})


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": str(USER_ID), "aud": "authenticated", "role": "authenticated",
                            "email": "learner@example.com", "iat": now, "exp": now + 3600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(key: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="HS256")


SETTINGS = make_settings()

# --- learner tokens: the failure matrix ---------------------------------------------------------

LEARNER_FAILURES: list[tuple[str, Callable[[], str], str]] = [
    ("empty", lambda: "", "missing_token"),
    ("not a jwt", lambda: "not-a-jwt", "malformed_token"),
    ("three garbage segments", lambda: "abc.def.ghi", "malformed_token"),
    ("alg none", lambda: jwt.encode(claims(), "", algorithm="none"), "unsupported_algorithm"),
    ("HS512", lambda: jwt.encode(claims(), SECRET * 2, algorithm="HS512"), "unsupported_algorithm"),
    ("wrong secret", lambda: hs256(OTHER_SECRET), "invalid_signature"),
    ("expired", lambda: hs256(exp=int(time.time()) - 3600), "token_expired"),
    ("nbf in the future", lambda: hs256(nbf=int(time.time()) + 3600), "token_not_yet_valid"),
    ("iat in the future", lambda: hs256(iat=int(time.time()) + 3600), "token_not_yet_valid"),
    ("no exp", lambda: hs256(exp=None), "missing_claim"),
    ("wrong audience", lambda: hs256(aud="somebody-else"), "invalid_audience"),
    ("no audience", lambda: hs256(aud=None), "missing_claim"),
    ("anon role", lambda: hs256(role="anon"), "invalid_role"),
    ("no role", lambda: hs256(role=None), "invalid_role"),
    ("service role", lambda: hs256(role="service_role", aud=None, sub=None), "service_role_not_allowed"),
    ("no sub", lambda: hs256(sub=None), "missing_claim"),
    ("sub not a uuid", lambda: hs256(sub="user-42"), "invalid_subject"),
]


@pytest.mark.parametrize(("make_token", "code"), [(f, c) for _, f, c in LEARNER_FAILURES],
                         ids=[name for name, _, _ in LEARNER_FAILURES])
def test_learner_token_failures_are_401_with_specific_codes(make_token: Callable[[], str], code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_learner_jwt(make_token(), SETTINGS)
    assert (caught.value.status, caught.value.code) == (401, code)


def test_failure_codes_are_distinct_per_kind_of_fault() -> None:
    assert {code for _, _, code in LEARNER_FAILURES} == {
        "missing_token", "malformed_token", "unsupported_algorithm", "invalid_signature",
        "token_expired", "token_not_yet_valid", "missing_claim", "invalid_audience", "invalid_role",
        "service_role_not_allowed", "invalid_subject",
    }


def test_valid_token_yields_exact_user() -> None:
    token = hs256()
    user = verify_learner_jwt(token, SETTINGS)
    assert user.user_id == USER_ID
    assert (user.role, user.email, user.access_token) == ("authenticated", "learner@example.com", token)
    assert user.claims["aud"] == "authenticated"
    assert token not in repr(user) and "learner@example.com" not in repr(user)


def test_small_clock_skew_is_tolerated_within_leeway() -> None:
    now = int(time.time())
    assert verify_learner_jwt(hs256(exp=now - 3), SETTINGS).user_id == USER_ID
    assert verify_learner_jwt(hs256(iat=now + 3, nbf=now + 3), SETTINGS).user_id == USER_ID
    strict = make_settings(SP_JWT_LEEWAY_SECONDS="0")
    with pytest.raises(Unauthorized, match="expired"):
        verify_learner_jwt(hs256(exp=now - 3), strict)


def test_audience_list_and_missing_email() -> None:
    user = verify_learner_jwt(hs256(aud=["other", "authenticated"], email=None), SETTINGS)
    assert (user.user_id, user.email) == (USER_ID, None)


def test_hs256_refused_when_only_jwks_is_configured() -> None:
    jwks_only = Settings.from_env({**BASE_ENV, "SUPABASE_JWKS_URL": JWKS_URL})
    with pytest.raises(Unauthorized) as caught:
        verify_learner_jwt(hs256(), jwks_only)
    assert caught.value.code == "unsupported_algorithm"


# --- asymmetric keys via JWKS (no network: the client's fetch is replaced) -----------------------


class LocalJWKClient(jwt.PyJWKClient):
    """The real PyJWKClient (kid lookup, caching) with the HTTP fetch replaced by a local JWK set."""

    def __init__(self, keys: list[dict[str, Any]], *, fail: bool = False) -> None:
        super().__init__(JWKS_URL, cache_keys=True, lifespan=600)
        self.keys, self.fail, self.fetches = keys, fail, 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        if self.fail:
            raise jwt.PyJWKClientConnectionError("connection refused")
        return {"keys": self.keys}


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_JWK = {**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "rsa-1", "alg": "RS256"}
EC_JWK = {**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": "ec-1", "alg": "ES256"}
JWKS_SETTINGS = Settings.from_env({**BASE_ENV, "SUPABASE_JWKS_URL": JWKS_URL})


def signed(key: Any, alg: str, kid: str, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm=alg, headers={"kid": kid})


def hmac_with_public_key() -> str:
    """Hand-made, since PyJWT refuses to sign with a PEM key as an HMAC secret."""
    pem = RSA_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    segments = [base64url_encode(json.dumps(part).encode())
                for part in ({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims())]
    signing_input = b".".join(segments)
    signature = base64url_encode(hmac.new(pem, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def test_rs256_and_es256_tokens_verify_against_the_jwks_with_one_fetch() -> None:
    client = LocalJWKClient([RSA_JWK, EC_JWK])
    rs = verify_learner_jwt(signed(RSA_KEY, "RS256", "rsa-1"), JWKS_SETTINGS, jwks=client)
    es = verify_learner_jwt(signed(EC_KEY, "ES256", "ec-1"), JWKS_SETTINGS, jwks=client)
    assert (rs.user_id, es.user_id, client.fetches) == (USER_ID, USER_ID, 1)


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda: signed(OTHER_RSA_KEY, "RS256", "rsa-1"), "invalid_signature"),
        (lambda: signed(RSA_KEY, "RS256", "unknown-kid"), "unknown_signing_key"),
        (lambda: signed(RSA_KEY, "RS256", "rsa-1", exp=int(time.time()) - 3600), "token_expired"),
        (lambda: signed(RSA_KEY, "RS256", "ec-1"), "unsupported_algorithm"),  # key says ES256
        # RS→HS confusion: HMAC keyed with the public key; HS256 is only ever checked with the secret.
        (lambda: hmac_with_public_key(), "unsupported_algorithm"),
    ],
    ids=["foreign key", "unknown kid", "expired", "alg does not match jwk", "hs256 with public key"],
)
def test_jwks_failures(make_token: Callable[[], str], code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_learner_jwt(make_token(), JWKS_SETTINGS, jwks=LocalJWKClient([RSA_JWK, EC_JWK]))
    assert caught.value.code == code


def test_public_key_as_hmac_secret_fails_even_with_both_key_kinds_configured() -> None:
    both = Settings.from_env({**BASE_ENV, "SUPABASE_JWT_SECRET": SECRET, "SUPABASE_JWKS_URL": JWKS_URL})
    with pytest.raises(Unauthorized) as caught:
        verify_learner_jwt(hmac_with_public_key(), both, jwks=LocalJWKClient([RSA_JWK]))
    assert caught.value.code == "invalid_signature"
    assert verify_learner_jwt(hs256(), both).user_id == USER_ID


def test_unreachable_jwks_is_503_not_401() -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        verify_learner_jwt(signed(RSA_KEY, "RS256", "rsa-1"), JWKS_SETTINGS,
                           jwks=LocalJWKClient([], fail=True))
    assert (caught.value.status, caught.value.code, caught.value.retry_after_seconds) == (
        503, "auth_keys_unavailable", 5)


def test_rs256_refused_without_jwks_configuration() -> None:
    with pytest.raises(Unauthorized) as caught:
        verify_learner_jwt(signed(RSA_KEY, "RS256", "rsa-1"), SETTINGS)
    assert caught.value.code == "unsupported_algorithm"


# --- Authorization header --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_token"), ({"Authorization": "  "}, "missing_token"),
     ({"Authorization": "Basic dXNlcjpwdw=="}, "malformed_authorization_header"),
     ({"Authorization": "Bearer"}, "malformed_authorization_header"),
     ({"Authorization": "Bearer a b"}, "malformed_authorization_header"),
     ({"Authorization": "Bearer " + "a" * 20_000}, "malformed_authorization_header")],
    ids=["absent", "blank", "basic", "no token", "two tokens", "oversized"],
)
def test_bearer_token_rejects(headers: dict[str, str], code: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        bearer_token(headers)
    assert caught.value.code == code


def test_bearer_token_extraction_is_case_insensitive() -> None:
    assert bearer_token({"authorization": "bearer abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token(Headers({"AUTHORIZATION": "Bearer  x.y.z "})) == "x.y.z"


# --- maintenance caller ----------------------------------------------------------------------------

MAINT = make_settings(MAINTENANCE_TOKEN=MAINT_TOKEN)


def service_role_jwt(key: str = SECRET, **overrides: Any) -> str:
    now = int(time.time())  # the shape of Supabase's service key: no sub, no aud
    return jwt.encode({"iss": "supabase", "role": "service_role", "iat": now, "exp": now + 3600, **overrides},
                      key, algorithm="HS256")


def test_maintenance_token_accepted_with_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr("smartpractice.api.auth.hmac.compare_digest", spy)
    caller = verify_maintenance_caller({"X-Maintenance-Token": MAINT_TOKEN}, MAINT)
    assert caller == MaintenanceCaller(method="maintenance_token", subject=None)
    assert compared == [(MAINT_TOKEN.encode(), MAINT_TOKEN.encode())]


@pytest.mark.parametrize(
    ("headers", "settings", "status", "code"),
    [
        ({"X-Maintenance-Token": MAINT_TOKEN[:-1] + "x"}, MAINT, 401, "invalid_maintenance_token"),
        ({"X-Maintenance-Token": MAINT_TOKEN}, SETTINGS, 401, "invalid_maintenance_token"),  # not configured
        ({}, MAINT, 401, "missing_token"),
        ({"Authorization": f"Bearer {service_role_jwt(OTHER_SECRET)}"}, MAINT, 401, "invalid_signature"),
        ({"Authorization": f"Bearer {service_role_jwt(exp=int(time.time()) - 60)}"}, MAINT, 401,
         "token_expired"),
        ({"Authorization": f"Bearer {hs256()}"}, MAINT, 403, "service_role_required"),
        ({"Authorization": f"Bearer {hs256(role='anon', sub=None, aud=None)}"}, MAINT, 403,
         "service_role_required"),
    ],
    ids=["wrong token", "token not configured", "no credential", "forged service jwt", "expired service jwt",
         "learner", "anon key"],
)
def test_maintenance_refusals(headers: dict[str, str], settings: Settings, status: int, code: str) -> None:
    with pytest.raises((Unauthorized, Forbidden)) as caught:
        verify_maintenance_caller(headers, settings)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_service_role_jwt_is_a_maintenance_caller() -> None:
    caller = verify_maintenance_caller({"Authorization": f"Bearer {service_role_jwt()}"}, SETTINGS)
    assert caller == MaintenanceCaller(method="service_role_jwt", subject=None)


OIDC = make_settings(MAINTENANCE_OIDC_AUDIENCE=FUNCTION_URL,
                     MAINTENANCE_OIDC_INVOKERS=f"{SCHEDULER}, ops@x.iam")
GOOGLE_JWK = {**RSAAlgorithm.to_jwk(OTHER_RSA_KEY.public_key(), as_dict=True), "kid": "g-1", "alg": "RS256"}


def google_token(**overrides: Any) -> str:
    now = int(time.time())
    payload = {"iss": "https://accounts.google.com", "aud": FUNCTION_URL, "sub": "1234567890",
               "email": SCHEDULER, "email_verified": True, "iat": now, "exp": now + 3600, **overrides}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, OTHER_RSA_KEY, algorithm="RS256",
                      headers={"kid": "g-1"})


def test_google_oidc_invoker_is_a_maintenance_caller() -> None:
    caller = verify_maintenance_caller({"Authorization": f"Bearer {google_token()}"}, OIDC,
                                       oidc_jwks=LocalJWKClient([GOOGLE_JWK]))
    assert caller == MaintenanceCaller(method="google_oidc", subject=SCHEDULER)


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [({"email": "someone@else.iam.gserviceaccount.com"}, 403, "invoker_not_allowed"),
     ({"email_verified": False}, 403, "invoker_not_allowed"),
     ({"aud": "https://elsewhere.example"}, 401, "invalid_audience"),
     ({"exp": int(time.time()) - 3600}, 401, "token_expired")],
    ids=["other account", "unverified email", "other audience", "expired"],
)
def test_google_oidc_refusals(overrides: dict[str, Any], status: int, code: str) -> None:
    with pytest.raises((Unauthorized, Forbidden)) as caught:
        verify_maintenance_caller({"Authorization": f"Bearer {google_token(**overrides)}"}, OIDC,
                                  oidc_jwks=LocalJWKClient([GOOGLE_JWK]))
    assert (caught.value.status, caught.value.code) == (status, code)


# --- settings -------------------------------------------------------------------------------------


def test_missing_settings_fail_at_first_use_naming_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET",
                "SUPABASE_JWKS_URL", "SUPABASE_PUBLISHABLE_KEY", "SUPABASE_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError) as caught:
        get_settings()
    assert str(caught.value) == (
        "invalid function settings: SUPABASE_URL: is required; SUPABASE_ANON_KEY: is required (or "
        "SUPABASE_PUBLISHABLE_KEY); SUPABASE_SERVICE_ROLE_KEY: is required (or SUPABASE_SECRET_KEY)"
    )
    monkeypatch.setenv("SUPABASE_URL", "https://project.supabase.co")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role-key-value")
    with pytest.raises(ConfigurationError, match="set SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL"):
        get_settings()  # failures are not cached: the next call reads the environment again
    monkeypatch.setenv("SUPABASE_JWT_SECRET", SECRET)
    assert get_settings() is get_settings()
    get_settings.cache_clear()


def test_secrets_never_show_in_repr_or_errors() -> None:
    text = repr(make_settings(MAINTENANCE_TOKEN=MAINT_TOKEN)) + str(make_settings())
    for secret in ("service-role-key-value", SECRET, MAINT_TOKEN):
        assert secret not in text
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**BASE_ENV, "SUPABASE_JWT_SECRET": "short-secret-value"})
    assert "short-secret-value" not in str(caught.value)
    assert str(caught.value).startswith("invalid function settings: SUPABASE_JWT_SECRET:")


def test_settings_defaults_and_oidc_requires_an_allow_list() -> None:
    assert (SETTINGS.jwt_audience, SETTINGS.max_body_bytes, SETTINGS.conflict_max_retries,
            SETTINGS.retry_after_seconds, SETTINGS.jwt_leeway_seconds) == ("authenticated", 65536, 3, 5, 10)
    assert OIDC.require_maintenance().oidc_invokers == (SCHEDULER, "ops@x.iam")
    audience_only = make_settings(MAINTENANCE_OIDC_AUDIENCE=FUNCTION_URL)  # learner endpoints still work
    assert audience_only.supabase_url == BASE_ENV["SUPABASE_URL"]
    with pytest.raises(ConfigurationError, match="MAINTENANCE_OIDC_INVOKERS"):
        audience_only.require_maintenance()
