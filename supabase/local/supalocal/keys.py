"""Keys and JWT minting for the local stack: the legacy anon/service-role JWT keys, the new publishable and
secret API keys, learner tokens (HS256 with the legacy secret, or ES256/RS256 with a signing key).

Claims follow Supabase Auth's shape (iss, ref-less; role, aud, sub, exp, iat) so function code cannot
tell a local token from a hosted one except by the key that signed it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

import jwt

from supalocal.settings import StackSettings, load_settings
from supalocal.signing import JWKS_PATH, SigningKey, signing_keys

_TEN_YEARS_S = 10 * 365 * 24 * 3600


def mint_jwt(
    *,
    role: str,
    secret: str | None = None,
    sub: str | None = None,
    ttl_seconds: int = 3600,
    now: float | None = None,
    extra: dict[str, Any] | None = None,
    algorithm: str = "HS256",
    signing_key: SigningKey | None = None,
) -> str:
    """HS256 with the legacy secret, or `algorithm` ES256/RS256 with `signing_key` (default: the stack's
    first signing key of that algorithm)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"iss": "supabase-local", "role": role, "iat": issued, "exp": issued + ttl_seconds}
    if sub is not None:
        claims["sub"] = sub
        claims["aud"] = "authenticated"
    if extra:
        claims.update(extra)
    if algorithm == "HS256":
        return jwt.encode(claims, secret or load_settings().jwt_secret, algorithm="HS256")
    if signing_key is None:
        settings = load_settings()
        keys = signing_keys(replace(settings, jwt_secret=secret) if secret else settings)
        signing_key = next((key for key in keys if key.algorithm == algorithm), None)
        if signing_key is None:
            raise ValueError(f"the stack has no {algorithm} signing key (SP_LOCAL_SIGNING_KEYS names a key file)")
    if signing_key.algorithm != algorithm:
        raise ValueError(f"signing key {signing_key.kid!r} is {signing_key.algorithm}, not {algorithm}")
    return signing_key.sign(claims)


def anon_key(secret: str | None = None) -> str:
    # Fixed iat so the key is stable across runs (it is printed and pasted into clients).
    return mint_jwt(role="anon", secret=secret, ttl_seconds=_TEN_YEARS_S, now=1_700_000_000)


def service_role_key(secret: str | None = None) -> str:
    return mint_jwt(role="service_role", secret=secret, ttl_seconds=_TEN_YEARS_S, now=1_700_000_000)


def learner_jwt(user_id: uuid.UUID | str, *, email: str | None = None, ttl_seconds: int = 3600,
                secret: str | None = None, anonymous: bool = False, now: float | None = None,
                algorithm: str = "HS256", signing_key: SigningKey | None = None) -> str:
    """A learner's access token with the claims Supabase Auth puts in every session token
    (https://supabase.com/docs/guides/auth/jwt-fields): aal, amr, session_id, email, phone, app_metadata,
    user_metadata and is_anonymous. `anonymous` gives the token of a signInAnonymously() session:
    role authenticated, no email, amr method "anonymous", is_anonymous true."""
    issued = int(time.time() if now is None else now)
    method = "anonymous" if anonymous else "password"
    extra: dict[str, Any] = {
        "email": "" if anonymous else (email or ""),
        "phone": "",
        "app_metadata": {} if anonymous else {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
        "aal": "aal1",
        "amr": [{"method": method, "timestamp": issued}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": anonymous,
    }
    return mint_jwt(role="authenticated", sub=str(user_id), ttl_seconds=ttl_seconds, secret=secret, now=issued,
                    extra=extra, algorithm=algorithm, signing_key=signing_key)


def function_env(supabase_url: str, secret: str | None = None, *, new_keys: bool = False,
                 settings: StackSettings | None = None) -> dict[str, str]:
    """The functions' settings (functions/smartpractice/config.py) for a local stack served at `supabase_url`.

    Legacy: the anon/service-role JWT keys and the HS256 secret. `new_keys`: what a project that moved to
    the new keys configures: the publishable and secret keys and the JWKS URL, and no JWT secret.
    """
    settings = settings or load_settings()
    if new_keys:
        return {
            "SUPABASE_URL": supabase_url,
            "SUPABASE_PUBLISHABLE_KEY": settings.publishable_key,
            "SUPABASE_SECRET_KEY": settings.secret_key,
            "SUPABASE_JWKS_URL": supabase_url + JWKS_PATH,
        }
    secret = secret or settings.jwt_secret
    return {
        "SUPABASE_URL": supabase_url,
        "SUPABASE_ANON_KEY": anon_key(secret),
        "SUPABASE_SERVICE_ROLE_KEY": service_role_key(secret),
        "SUPABASE_JWT_SECRET": secret,
    }
