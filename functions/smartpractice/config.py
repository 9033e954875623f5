"""Typed, frozen settings for the cloud functions, read from the environment once, on first use.

Nothing is read at import time: a function instance with a missing variable starts, and its first
request fails with a `ConfigurationError` naming the variable (the endpoint wrapper turns that into a
generic 500 and logs the names, never the values). Secrets are `SecretStr`, so `repr`/`str`/logs show
`**********`; call `.get_secret_value()` only where the value is handed to a client library.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

GOOGLE_OIDC_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
DEFAULT_MAX_BODY_BYTES = 64 * 1024

# Environment variable → Settings field. Required ones have no default on the model.
ENV_VARS: Mapping[str, str] = {
    "SUPABASE_URL": "supabase_url",
    "SUPABASE_ANON_KEY": "supabase_anon_key",
    "SUPABASE_SERVICE_ROLE_KEY": "supabase_service_role_key",
    "SUPABASE_JWT_SECRET": "jwt_secret",
    "SUPABASE_JWKS_URL": "jwks_url",
    "SUPABASE_JWT_AUDIENCE": "jwt_audience",
    "SP_JWT_LEEWAY_SECONDS": "jwt_leeway_seconds",
    "MAINTENANCE_TOKEN": "maintenance_token",
    "MAINTENANCE_OIDC_AUDIENCE": "maintenance_oidc_audience",
    "MAINTENANCE_OIDC_INVOKERS": "maintenance_oidc_invokers",
    "MAINTENANCE_OIDC_JWKS_URL": "maintenance_oidc_jwks_url",
    "SP_MAX_BODY_BYTES": "max_body_bytes",
    "SP_CONFLICT_MAX_RETRIES": "conflict_max_retries",
    "SP_CONFLICT_BACKOFF_MS": "conflict_backoff_ms",
    "SP_RETRY_AFTER_SECONDS": "retry_after_seconds",
    "SP_QUESTION_BANK_TTL_SECONDS": "question_bank_ttl_seconds",
}
_FIELD_TO_ENV = {field: var for var, field in ENV_VARS.items()}

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")]


class ConfigurationError(RuntimeError):
    """The environment lacks or mis-states a setting; the message names variables, never values."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    supabase_url: HttpUrl
    supabase_anon_key: str = Field(min_length=1)
    supabase_service_role_key: SecretStr = Field(min_length=1)
    # HS256 verification (legacy Supabase JWT secret) and/or asymmetric keys (RS256/ES256) via JWKS.
    jwt_secret: SecretStr | None = Field(default=None, min_length=32)
    jwks_url: HttpUrl | None = None
    jwt_audience: str = Field(default="authenticated", min_length=1)
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)
    # Scheduled maintenance: a shared token (X-Maintenance-Token), a service-role JWT, or Google OIDC.
    maintenance_token: SecretStr | None = Field(default=None, min_length=32)
    maintenance_oidc_audience: str | None = None
    maintenance_oidc_invokers: tuple[str, ...] = ()
    maintenance_oidc_jwks_url: HttpUrl = GOOGLE_OIDC_JWKS_URL
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=10 * 1024 * 1024)
    # Optimistic-concurrency retries in the services (mastery_version_conflict), and Retry-After on 503.
    conflict_max_retries: int = Field(default=3, ge=0, le=10)
    conflict_backoff_ms: int = Field(default=20, ge=0, le=2000)
    retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # How long an instance reuses the question bank it read (structure, Elo difficulties, exposure) for
    # next_question; 0 reads it on every request.
    question_bank_ttl_seconds: int = Field(default=60, ge=0, le=3600)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.jwt_secret is None and self.jwks_url is None:
            raise ValueError("set SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL to verify learner tokens")
        # Anyone can mint a Google ID token for any audience, so the audience alone proves nothing:
        # OIDC callers are accepted only from an explicit list of service-account emails.
        if self.maintenance_oidc_audience and not self.maintenance_oidc_invokers:
            raise ValueError("MAINTENANCE_OIDC_AUDIENCE needs MAINTENANCE_OIDC_INVOKERS (account emails)")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build from environment variables; empty values count as unset."""
        values: dict[str, Any] = {}
        for var, field in ENV_VARS.items():
            raw = env.get(var, "").strip()
            if not raw:
                continue
            if field == "maintenance_oidc_invokers":
                values[field] = tuple(item.strip() for item in raw.split(",") if item.strip())
            else:
                values[field] = raw
        try:
            # Lax validation of strings ("5" → 5) is what we want for environment values.
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """Names and reasons only: pydantic's own message would echo the (secret) input values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        var = _FIELD_TO_ENV.get(field, field)
        reason = "is required" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
        problems.append(f"{var}: {reason}" if var else reason)
    return "invalid function settings: " + "; ".join(problems)


@functools.cache
def get_settings() -> Settings:
    """Process-wide settings, loaded on first call (not cached when loading fails)."""
    return Settings.from_env(os.environ)
