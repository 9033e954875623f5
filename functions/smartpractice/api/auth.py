"""Caller verification: learner JWTs (Supabase Auth) and the scheduled maintenance caller.

The functions verify tokens themselves (trust boundary): signature, exp/nbf/iat, audience, role.
The user id comes only from the verified `sub`.

Algorithm handling is keyed on our configuration, not on the token: HS256 is verified only with the
project's JWT secret; RS256/ES256 only with a key from the configured JWKS whose own algorithm matches.
So `alg: none` and the RS→HS confusion trick (public key used as an HMAC secret) cannot pass.
"""

from __future__ import annotations

import functools
import hmac
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKClientError
from jwt.types import Options

from smartpractice.api.errors import Forbidden, ServiceUnavailable, Unauthorized
from smartpractice.config import SECRET_KEY_PREFIX, Settings

LEARNER_ROLE = "authenticated"
SERVICE_ROLE = "service_role"
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "ES256"})
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
MAINTENANCE_TOKEN_HEADER = "X-Maintenance-Token"
_MAX_TOKEN_CHARS = 16 * 1024
_BEARER = re.compile(r"^Bearer[ \t]+([A-Za-z0-9_\-.=+/]+)[ \t]*$", re.IGNORECASE)


class HeaderSource(Protocol):
    """werkzeug `Headers` (case-insensitive) or a plain dict."""

    def get(self, key: str, /) -> str | None: ...

    def items(self) -> Iterable[tuple[str, str]]: ...


class SigningKeySource(Protocol):
    """What we need from `jwt.PyJWKClient` (tests pass a client whose fetch is local)."""

    def get_signing_key_from_jwt(self, token: str) -> PyJWK: ...


@dataclass(frozen=True, slots=True)
class VerifiedUser:
    user_id: uuid.UUID
    role: str
    email: str | None = field(repr=False)  # personal data: kept out of logs that print the object
    claims: Mapping[str, Any] = field(repr=False)
    # The raw token, for the learner-scoped Supabase client (RLS); kept out of repr and logs.
    access_token: str = field(repr=False)
    # Supabase Auth's `is_anonymous` claim (signInAnonymously()): such learners practise but move no shared
    # value (README, "Anonymous users"); only a literal true counts, as Supabase Auth writes it.
    is_anonymous: bool = False


@dataclass(frozen=True, slots=True)
class MaintenanceCaller:
    method: Literal["maintenance_token", "service_key", "service_role_jwt", "google_oidc"]
    subject: str | None  # the invoking service account for OIDC, else None


def header_value(headers: HeaderSource, name: str) -> str | None:
    """Case-insensitive header lookup for werkzeug `Headers` and plain dicts alike."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def bearer_token(headers: HeaderSource) -> str:
    """The token of `Authorization: Bearer <token>`; Unauthorized if absent or malformed."""
    value = header_value(headers, "Authorization")
    if value is None or not value.strip():
        raise Unauthorized("send Authorization: Bearer <access token>", code="missing_token")
    match = _BEARER.match(value.strip())
    if match is None or len(match.group(1)) > _MAX_TOKEN_CHARS:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'",
                           code="malformed_authorization_header")
    return match.group(1)


@functools.cache
def jwks_client(url: str) -> PyJWKClient:
    """One cached JWKS client per URL: keys are fetched once and refreshed on an unknown `kid`."""
    return PyJWKClient(url, cache_keys=True, lifespan=600, timeout=5)


class VerifiedTokens:
    """Learner tokens this instance verified recently, so a learner's next requests skip the signature check
    (~0.2 ms of each request's CPU). A hit needs the exact token string and the same verification settings,
    and is re-checked against the clock: past `exp` (with PyJWT's leeway rule) it is gone and the full
    check answers token_expired. Entries live at most `ttl_seconds`, below the JWKS client's own key cache
    (lifespan 600 s), so a withdrawn signing key stops being honoured no later than it does today."""

    def __init__(self, *, max_entries: int = 4096, ttl_seconds: float = 60.0) -> None:
        self._max = max_entries
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, tuple[Any, ...]], tuple[VerifiedUser, float, float]] = OrderedDict()

    def get(self, token: str, scope: tuple[Any, ...], *, now: float, monotonic: float,
            leeway: int) -> VerifiedUser | None:
        key = (token, scope)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            user, exp, stored_at = entry
            if exp <= now - leeway or monotonic - stored_at > self._ttl:  # PyJWT: expired if exp <= now - leeway
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return user

    def put(self, token: str, scope: tuple[Any, ...], user: VerifiedUser, *, monotonic: float) -> None:
        exp = user.claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return
        with self._lock:
            self._entries[(token, scope)] = (user, float(exp), monotonic)
            self._entries.move_to_end((token, scope))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_verified = VerifiedTokens()


def _cache_scope(settings: Settings) -> tuple[Any, ...]:
    """What a verification depended on besides the token: a changed secret, JWKS, audience or leeway
    never reuses a result obtained under the old ones."""
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret is not None else None
    return (secret, str(settings.jwks_url) if settings.jwks_url else None, settings.jwt_audience,
            settings.jwt_leeway_seconds)


def verify_learner_jwt(
    token: str, settings: Settings, *, jwks: SigningKeySource | None = None
) -> VerifiedUser:
    """Verify a Supabase learner access token; raises Unauthorized with a specific `code`.

    Codes: missing_token, malformed_token, unsupported_algorithm, unknown_signing_key, invalid_signature,
    token_expired, token_not_yet_valid, missing_claim, invalid_token, service_role_not_allowed,
    invalid_role, invalid_audience, invalid_subject. JWKS unreachable → ServiceUnavailable.
    A token verified in the last minute (with the process's own key sources) is answered from VerifiedTokens.
    """
    if jwks is not None:  # an explicit key source (tests): always the full check
        return _verify_learner_jwt(token, settings, jwks=jwks)
    scope = _cache_scope(settings)
    cached = _verified.get(token, scope, now=time.time(), monotonic=time.monotonic(),
                           leeway=settings.jwt_leeway_seconds)
    if cached is not None:
        return cached
    user = _verify_learner_jwt(token, settings, jwks=None)
    _verified.put(token, scope, user, monotonic=time.monotonic())
    return user


def _verify_learner_jwt(token: str, settings: Settings, *, jwks: SigningKeySource | None) -> VerifiedUser:
    claims = _decode_supabase_token(token, settings, jwks=jwks)
    role = claims.get("role")
    if role == SERVICE_ROLE:
        raise Unauthorized("learner endpoints need a learner's token, not the service key",
                           code="service_role_not_allowed")
    if role != LEARNER_ROLE:
        raise Unauthorized("the token is not a signed-in learner's token", code="invalid_role")
    if "aud" not in claims:
        raise Unauthorized("the token has no 'aud' claim", code="missing_claim")
    if not _audience_matches(claims["aud"], settings.jwt_audience):
        raise Unauthorized("the token is for another audience", code="invalid_audience")
    if "sub" not in claims:
        raise Unauthorized("the token has no 'sub' claim", code="missing_claim")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthorized("the token subject is not a user id", code="invalid_subject") from None
    email = claims.get("email")
    return VerifiedUser(
        user_id=user_id,
        role=role,
        email=email if isinstance(email, str) and email else None,
        claims=MappingProxyType(dict(claims)),
        access_token=token,
        is_anonymous=claims.get("is_anonymous") is True,
    )


def verify_maintenance_caller(
    headers: HeaderSource,
    settings: Settings,
    *,
    jwks: SigningKeySource | None = None,
    oidc_jwks: SigningKeySource | None = None,
) -> MaintenanceCaller:
    """Accept X-Maintenance-Token (constant-time compare), the functions' own service credential (a secret
    key `sb_secret_...` in `apikey` or `Authorization: Bearer`, as Supabase callers such as pg_net send it),
    a service-role JWT, or an allowed Google OIDC invoker. No credential → 401; a valid credential of
    someone else (a learner, anon) → 403. Invalid maintenance settings → ConfigurationError, whatever the
    credential."""
    maintenance = settings.require_maintenance()
    presented = header_value(headers, MAINTENANCE_TOKEN_HEADER)
    if presented is not None:
        expected = maintenance.token
        if expected is None or not hmac.compare_digest(
            presented.encode(), expected.get_secret_value().encode()
        ):
            raise Unauthorized("the maintenance token is not valid", code="invalid_maintenance_token")
        return MaintenanceCaller(method="maintenance_token", subject=None)
    apikey = header_value(headers, "apikey")
    if apikey is not None and header_value(headers, "Authorization") is None:
        return _service_key_caller(apikey, settings)
    token = bearer_token(headers)
    if token.startswith(SECRET_KEY_PREFIX):
        return _service_key_caller(token, settings)
    if maintenance.oidc_audience and _unverified_issuer(token) in GOOGLE_ISSUERS:
        return _verify_google_oidc(token, settings, oidc_jwks)
    claims = _decode_supabase_token(token, settings, jwks=jwks)
    if claims.get("role") != SERVICE_ROLE:
        raise Forbidden("maintenance needs the service role", code="service_role_required")
    return MaintenanceCaller(method="service_role_jwt", subject=None)


def _service_key_caller(presented: str, settings: Settings) -> MaintenanceCaller:
    """The caller holds our own service credential (constant-time compare; never logged)."""
    expected = settings.supabase_service_role_key.get_secret_value()
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthorized("the service key is not valid", code="invalid_service_key")
    return MaintenanceCaller(method="service_key", subject=None)


def _audience_matches(aud: object, expected: str) -> bool:
    if isinstance(aud, str):
        return aud == expected
    return isinstance(aud, list) and expected in aud


def _unverified_issuer(token: str) -> object:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        return None


def _signing_key(token: str, settings: Settings, jwks: SigningKeySource | None) -> tuple[str, Any]:
    """(algorithm, key) chosen by our configuration for this token's declared algorithm."""
    if not token:
        raise Unauthorized("send Authorization: Bearer <access token>", code="missing_token")
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is not a JWT", code="malformed_token") from None
    if alg == "HS256" and settings.jwt_secret is not None:
        return alg, settings.jwt_secret.get_secret_value()
    if alg in ASYMMETRIC_ALGORITHMS and settings.jwks_url is not None:
        source = jwks if jwks is not None else jwks_client(settings.jwks_url)
        return alg, _jwk_for(token, alg, source, retry_after_seconds=settings.retry_after_seconds)
    raise Unauthorized("the token's signing algorithm is not accepted", code="unsupported_algorithm")


def _jwk_for(token: str, alg: str, source: SigningKeySource, *, retry_after_seconds: int) -> Any:
    try:
        signing_key = source.get_signing_key_from_jwt(token)
    except PyJWKClientConnectionError:
        raise ServiceUnavailable("the token signing keys cannot be fetched", code="auth_keys_unavailable",
                                 retry_after_seconds=retry_after_seconds) from None
    except PyJWKClientError:
        raise Unauthorized("the token was signed with an unknown key", code="unknown_signing_key") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is not a JWT", code="malformed_token") from None
    if signing_key.algorithm_name != alg:
        raise Unauthorized("the token's algorithm does not match its key", code="unsupported_algorithm")
    return signing_key.key


def _decode_supabase_token(
    token: str, settings: Settings, *, jwks: SigningKeySource | None
) -> dict[str, Any]:
    alg, key = _signing_key(token, settings, jwks)
    return _decode(token, key, alg, leeway=settings.jwt_leeway_seconds,
                   options={"require": ["exp"], "verify_aud": False, "enforce_minimum_key_length": True})


def _decode(token: str, key: Any, alg: str, *, leeway: int, options: Options,
            audience: str | None = None, issuer: tuple[str, ...] | None = None) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=[alg], leeway=leeway, options=options,
                                            audience=audience, issuer=issuer)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired", code="token_expired") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("the token is not valid yet", code="token_not_yet_valid") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("the token signature is invalid", code="invalid_signature") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"the token has no '{exc.claim}' claim", code="missing_claim") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("the token is for another audience", code="invalid_audience") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("the token has an unexpected issuer", code="invalid_issuer") from None
    except jwt.DecodeError:
        raise Unauthorized("the token is not a JWT", code="malformed_token") from None
    except (jwt.InvalidTokenError, jwt.InvalidKeyError):
        raise Unauthorized("the token is invalid", code="invalid_token") from None
    return claims


def _verify_google_oidc(
    token: str, settings: Settings, oidc_jwks: SigningKeySource | None
) -> MaintenanceCaller:
    """Cloud Scheduler's OIDC token: Google-signed (RS256), our audience, an allowed service account."""
    if _unverified_alg(token) != "RS256":
        raise Unauthorized("the token's signing algorithm is not accepted", code="unsupported_algorithm")
    maintenance = settings.maintenance
    source = oidc_jwks if oidc_jwks is not None else jwks_client(maintenance.oidc_jwks_url)
    key = _jwk_for(token, "RS256", source, retry_after_seconds=settings.retry_after_seconds)
    claims = _decode(token, key, "RS256", leeway=settings.jwt_leeway_seconds,
                     options={"require": ["exp", "iat", "iss", "aud"], "enforce_minimum_key_length": True},
                     audience=maintenance.oidc_audience, issuer=GOOGLE_ISSUERS)
    email = claims.get("email")
    if claims.get("email_verified") is not True or email not in maintenance.oidc_invokers:
        raise Forbidden("this service account may not run maintenance", code="invoker_not_allowed")
    return MaintenanceCaller(method="google_oidc", subject=str(email))


def _unverified_alg(token: str) -> object:
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        return None
