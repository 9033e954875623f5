"""Request authentication: Supabase's API-gateway key check, then PostgREST's JWT rules.

API key (`apikey` header or query parameter), as hosted Supabase's gateway checks it
(supabase docs, guides/api/api-keys):
- required, even with an Authorization header (401 "No API key found in request");
- a publishable key (`sb_publishable_...`) means `anon`, a secret key (`sb_secret_...`) `service_role`;
  the gateway forwards such a request as that role unless Authorization carries another value. The key in
  `Authorization: Bearer` is accepted only when it equals the apikey ("Known limitations": otherwise it
  reaches PostgREST as a non-JWT and fails PGRST301). A secret key from a browser (a `Mozilla/` User-Agent)
  is refused with 401 ("You cannot use a secret key in the browser ... HTTP 401 Unauthorized");
- a legacy key is the anon or service_role JWT, HS256 with the legacy JWT secret: a JWT minted with a
  signing key is never an API key ("Using your minted JWT is not possible in this header",
  guides/auth/signing-keys).

JWT (Authorization, else the legacy apikey itself), as PostgREST verifies it with a JWKS (configuration,
`jwt-secret` "JSON Web Key (JWK) (or set)"): HS256 with the legacy secret, ES256/RS256 with a key of the
stack's JWKS (by `kid` when the token names one); exp/nbf/iat checked with PostgREST's 30 s skew; no
`role` runs as anon (db-anon-role); a role outside the three API roles is refused with 401.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from supalocal.gateway import errors
from supalocal.gateway.errors import ApiError
from supalocal.settings import PUBLISHABLE_PREFIX, SECRET_PREFIX

API_ROLES = frozenset({"anon", "authenticated", "service_role"})
API_KEY_ROLES = frozenset({"anon", "service_role"})
ANON_ROLE = "anon"
JWT_AUDIENCE = "authenticated"
_ALLOWED_SKEW_S = 30
_JWS = jwt.PyJWS()

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


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


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    algorithm: str  # ES256 | RS256
    key: PublicKey


@dataclass(frozen=True, slots=True)
class ApiKeys:
    """The project's new-style API keys (the legacy ones are JWTs, checked by signature)."""

    publishable: str
    secret: str

    def role_of(self, apikey: str) -> str | None:
        return {self.publishable: "anon", self.secret: "service_role"}.get(apikey)


def _number_claim(claims: Mapping[str, Any], key: str) -> float | None:
    value = claims.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.jwt_claims_error(f"The JWT '{key}' claim must be a number")
    return float(value)


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


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme == "" or (scheme.lower() == "bearer" and token.strip() == ""):
        raise errors.jwt_decode_error("Empty JWT is sent in Authorization header")
    if scheme.lower() != "bearer":
        raise errors.jwt_decode_error("Authorization header must use the Bearer scheme")
    return token.strip()


def _is_browser(user_agent: str | None) -> bool:
    """Hosted refuses secret keys from browsers by User-Agent; every browser's starts with Mozilla/."""
    return user_agent is not None and user_agent.startswith("Mozilla/")


class Authenticator:
    """Verifies API keys and JWTs for one stack (legacy secret, JWKS, new API keys). Thread-safe."""

    def __init__(self, *, jwt_secret: str, jwks: Sequence[VerificationKey] = (),
                 api_keys: ApiKeys | None = None) -> None:
        self._secret = jwt_secret
        self._jwks = tuple(jwks)
        self._api_keys = api_keys
        # Signature check and claims parsing, cached per token like PostgREST's JWT cache (successes only;
        # time claims are still checked on every request).
        self._signed_claims = functools.lru_cache(maxsize=1024)(self._verify_signature)

    def _candidates(self, header: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """(algorithm, key) pairs that may have signed a token with this header."""
        algorithm = header.get("alg")
        if algorithm == "HS256":
            return [("HS256", self._secret)]
        if algorithm in ("ES256", "RS256"):
            kid = header.get("kid")
            return [(key.algorithm, key.key) for key in self._jwks
                    if key.algorithm == algorithm and (kid is None or key.kid == kid)]
        raise errors.jwt_decode_error("Wrong or unsupported encoding algorithm",
                                      f"JWT algorithm {algorithm!r} is not HS256, ES256 or RS256")

    def _verify_signature(self, token: str, hs256_only: bool) -> Mapping[str, Any]:
        if token == "":
            raise errors.jwt_decode_error("Empty JWT is sent in Authorization header")
        parts = token.count(".") + 1
        if parts != 3:
            raise errors.jwt_decode_error(f"Expected 3 parts in JWT; got {parts}")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise errors.jwt_decode_error("JWT couldn't be decoded", str(exc)) from None
        candidates = self._candidates(header)
        if hs256_only and header.get("alg") != "HS256":
            raise errors.jwt_decode_error("Wrong or unsupported encoding algorithm",
                                          "an API key JWT is signed with the legacy JWT secret (HS256)")
        payload: bytes | None = None
        for algorithm, key in candidates:
            try:
                payload = _JWS.decode(token, key, algorithms=[algorithm])
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise errors.jwt_decode_error("JWT couldn't be decoded", str(exc)) from None
        if payload is None:  # no key of the set verifies it (or none has its kid)
            raise errors.jwt_decode_error("JWT cryptographic operation failed")
        try:
            claims = json.loads(payload)
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            raise errors.jwt_claims_error("Parsing claims failed")
        return MappingProxyType(claims)

    def verify_jwt(self, token: str, *, now: float, hs256_only: bool = False) -> AuthContext:
        """Verify a JWT the way PostgREST does and return the role it runs as."""
        claims = self._signed_claims(token, hs256_only)
        _validate_time_claims(claims, now)
        role = claims.get("role", ANON_ROLE)
        if not isinstance(role, str) or role not in API_ROLES:
            raise errors.jwt_claims_error(
                "JWT role claim is not an API role",
                details=f"role {role!r} is not one of {', '.join(sorted(API_ROLES))}")
        return AuthContext(role=role, claims={**claims, "role": role})

    def _legacy_key_role(self, apikey: str, now: float) -> str:
        try:
            key = self.verify_jwt(apikey, now=now, hs256_only=True)
        except ApiError as exc:
            raise ApiError(401, exc.code, "Invalid API key", details=exc.message, headers=exc.headers) from None
        if key.role not in API_KEY_ROLES:
            raise errors.jwt_decode_error("Invalid API key", "the apikey must be the anon or service_role key")
        return key.role

    def _new_key_role(self, apikey: str, user_agent: str | None) -> str:
        role = self._api_keys.role_of(apikey) if self._api_keys is not None else None
        if role is None:
            raise errors.jwt_decode_error("Invalid API key", "not a publishable or secret key of this project")
        if role == "service_role" and _is_browser(user_agent):
            raise ApiError(401, "PGRST301", "Forbidden use of secret API key in browser",
                           hint="Secret API keys can only be used in a protected environment and should never "
                                "be used in a browser; use the publishable key instead.")
        return role

    def authenticate(self, *, authorization: str | None, apikey: str | None, now: float,
                     user_agent: str | None = None) -> AuthContext:
        """Authenticate one request from its Authorization header and apikey (header or query parameter)."""
        if apikey is None:
            # Like Supabase's API gateway: no key, no entry (even with an Authorization header).
            raise errors.jwt_token_required("No API key found in request",
                                            hint="No `apikey` request header or url param was found.")
        if apikey.startswith((PUBLISHABLE_PREFIX, SECRET_PREFIX)):
            role = self._new_key_role(apikey, user_agent)
            token = _bearer_token(authorization) if authorization is not None else None
            if token is None or token == apikey:
                # The gateway forwards the request with a JWT of the key's role (it holds no user).
                return AuthContext(role=role, claims={"iss": "supabase-local", "role": role})
            return self.verify_jwt(token, now=now)
        self._legacy_key_role(apikey, now)
        token = _bearer_token(authorization) if authorization is not None else apikey
        return self.verify_jwt(token, now=now)
