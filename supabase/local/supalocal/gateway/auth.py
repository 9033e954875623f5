"""Request authentication: the API-gateway key check (like Supabase's Kong) then PostgREST's JWT rules.

- `apikey` (header or query parameter) is required and must be a key of this stack (anon or service_role);
- the JWT is `Authorization: Bearer <jwt>` when present, else the apikey itself;
- HS256 with the stack secret only; exp/nbf/iat are checked with PostgREST's 30 s skew;
- a token without `role` runs as anon (PostgREST's db-anon-role); any role outside the three API roles is
  refused with 401 before Postgres is touched.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jwt

from supalocal.gateway import errors
from supalocal.gateway.errors import ApiError

API_ROLES = frozenset({"anon", "authenticated", "service_role"})
API_KEY_ROLES = frozenset({"anon", "service_role"})
ANON_ROLE = "anon"
_ALLOWED_SKEW_S = 30
_JWS = jwt.PyJWS()


@dataclass(frozen=True, slots=True)
class AuthContext:
    role: str
    claims: Mapping[str, Any]

    @property
    def authed(self) -> bool:
        """PostgREST's notion of an authenticated request: 42501 answers 403 instead of 401."""
        return self.role != ANON_ROLE

    @property
    def claims_json(self) -> str:
        return json.dumps(dict(self.claims), separators=(",", ":"))


def _decode_signed_payload(token: str, secret: str) -> bytes:
    if token == "":
        raise errors.jwt_decode_error("Empty JWT is sent in Authorization header")
    parts = token.count(".") + 1
    if parts != 3:
        raise errors.jwt_decode_error(f"Expected 3 parts in JWT; got {parts}")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise errors.jwt_decode_error("JWT couldn't be decoded", str(exc)) from None
    algorithm = header.get("alg")
    if algorithm != "HS256":
        raise errors.jwt_decode_error("Wrong or unsupported encoding algorithm",
                                      f"JWT algorithm {algorithm!r} is not HS256")
    try:
        payload: bytes = _JWS.decode(token, secret, algorithms=["HS256"])
        return payload
    except jwt.InvalidSignatureError:
        raise errors.jwt_decode_error("JWT cryptographic operation failed") from None
    except jwt.PyJWTError as exc:
        raise errors.jwt_decode_error("JWT couldn't be decoded", str(exc)) from None


def _number_claim(claims: Mapping[str, Any], key: str) -> float | None:
    value = claims.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.jwt_claims_error(f"The JWT '{key}' claim must be a number")
    return float(value)


JWT_AUDIENCE = "authenticated"


def _validate_time_claims(claims: Mapping[str, Any], now: float) -> None:
    exp = _number_claim(claims, "exp")
    if exp is not None and now - _ALLOWED_SKEW_S > exp:
        raise errors.jwt_claims_error("JWT expired")
    nbf = _number_claim(claims, "nbf")
    if nbf is not None and now + _ALLOWED_SKEW_S < nbf:
        raise errors.jwt_claims_error("JWT not yet valid")
    iat = _number_claim(claims, "iat")
    if iat is not None and now + _ALLOWED_SKEW_S < iat:
        raise errors.jwt_claims_error("JWT issued at future")
    aud = claims.get("aud")
    if aud is not None and not isinstance(aud, str) and not (
            isinstance(aud, list) and all(isinstance(item, str) for item in aud)):
        raise errors.jwt_claims_error("The JWT 'aud' claim must be a string or an array of strings")
    # PostgREST's `jwt-aud` (set to Supabase's "authenticated"): a token naming other audiences is refused;
    # one without `aud` (the anon and service-role keys) is accepted.
    if aud is not None and JWT_AUDIENCE not in ([aud] if isinstance(aud, str) else aud):
        raise errors.jwt_claims_error("JWT not in audience")


@functools.lru_cache(maxsize=1024)
def _signed_claims(token: str, secret: str) -> Mapping[str, Any]:
    """Signature check and claims parsing, cached per token like PostgREST's JWT cache (only successes
    are cached; time claims are still checked on every request)."""
    payload = _decode_signed_payload(token, secret)
    try:
        claims = json.loads(payload)
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise errors.jwt_claims_error("Parsing claims failed")
    return MappingProxyType(claims)


def verify_jwt(token: str, *, secret: str, now: float) -> AuthContext:
    """Verify a JWT the way PostgREST does and return the role it runs as."""
    claims = _signed_claims(token, secret)
    _validate_time_claims(claims, now)
    role = claims.get("role", ANON_ROLE)
    if not isinstance(role, str) or role not in API_ROLES:
        raise errors.jwt_claims_error(
            "JWT role claim is not an API role",
            details=f"role {role!r} is not one of {', '.join(sorted(API_ROLES))}")
    return AuthContext(role=role, claims={**claims, "role": role})


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme == "" or (scheme.lower() == "bearer" and token.strip() == ""):
        raise errors.jwt_decode_error("Empty JWT is sent in Authorization header")
    if scheme.lower() != "bearer":
        raise errors.jwt_decode_error("Authorization header must use the Bearer scheme")
    return token.strip()


def _check_api_key(apikey: str, *, secret: str, now: float) -> None:
    try:
        key = verify_jwt(apikey, secret=secret, now=now)
    except ApiError as exc:
        raise ApiError(401, exc.code, "Invalid API key", details=exc.message, headers=exc.headers) from None
    if key.role not in API_KEY_ROLES:
        raise errors.jwt_decode_error("Invalid API key", "the apikey must be the anon or service_role key")


def authenticate(*, authorization: str | None, apikey: str | None, secret: str, now: float) -> AuthContext:
    """Authenticate one request from its Authorization header and apikey (header or query parameter)."""
    if apikey is None:
        # Like Supabase's API gateway: no key, no entry (even with an Authorization header).
        raise errors.jwt_token_required("No API key found in request",
                                        hint="No `apikey` request header or url param was found.")
    _check_api_key(apikey, secret=secret, now=now)
    token = _bearer_token(authorization) if authorization is not None else apikey
    return verify_jwt(token, secret=secret, now=now)
