"""Typed, frozen settings for the cloud functions, read from the environment once, on first use.

Nothing is read at import time: a function instance with a missing variable starts, and its requests fail
with a `ConfigurationError` naming the variable (the endpoint wrapper answers 503 `server_misconfigured`
naming it, and logs it once at start-up), never the values. The maintenance settings are checked on their
own: a bad one (e.g. a short MAINTENANCE_TOKEN) fails run_maintenance only, never the learner endpoints.
Secrets are `SecretStr`, so `repr`/`str`/logs show `**********`; call `.get_secret_value()` only where
the value is handed to a client library.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

GOOGLE_OIDC_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# k-anonymity: no peer figure is computed from fewer learners than this. The SQL side holds the same k in
# supabase/migrations/20261207020000_cohort_release_noise.sql (the refresh's `b.learners >= 50`, the cache's
# `true_learners >= 50` check, the release's p_k default and the `k` column served); the migrations squash
# (issue 12, deliverable 4) is to make SQL read it from one place too.
K_ANONYMITY_MIN_COHORT = 50


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Optimistic-concurrency retries in the services (mastery_version_conflict): how many re-reads after
    the first attempt, and the linear backoff step. The one source of these defaults (Settings uses it)."""

    max_conflict_retries: int = 3
    backoff_ms: int = 20


DEFAULT_RETRY = RetryPolicy()

# Environment variable → Settings field. Required ones have no default on the model.
CORE_ENV_VARS: Mapping[str, str] = {
    "SUPABASE_URL": "supabase_url",
    "SUPABASE_ANON_KEY": "supabase_anon_key",
    "SUPABASE_SERVICE_ROLE_KEY": "supabase_service_role_key",
    "SUPABASE_JWT_SECRET": "jwt_secret",
    "SUPABASE_JWKS_URL": "jwks_url",
    "SUPABASE_JWT_AUDIENCE": "jwt_audience",
    "SP_JWT_LEEWAY_SECONDS": "jwt_leeway_seconds",
    "SP_MAX_BODY_BYTES": "max_body_bytes",
    "SP_CONFLICT_MAX_RETRIES": "conflict_max_retries",
    "SP_CONFLICT_BACKOFF_MS": "conflict_backoff_ms",
    "SP_RETRY_AFTER_SECONDS": "retry_after_seconds",
    "SP_QUESTION_BANK_TTL_SECONDS": "question_bank_ttl_seconds",
    "SP_REQUEST_STATS_FLUSH_SECONDS": "request_stats_flush_seconds",
}
# Environment variable → MaintenanceSettings field (run_maintenance only).
MAINTENANCE_ENV_VARS: Mapping[str, str] = {
    "MAINTENANCE_TOKEN": "token",
    "MAINTENANCE_OIDC_AUDIENCE": "oidc_audience",
    "MAINTENANCE_OIDC_INVOKERS": "oidc_invokers",
    "MAINTENANCE_OIDC_JWKS_URL": "oidc_jwks_url",
}
ENV_VARS: Mapping[str, str] = {**CORE_ENV_VARS, **MAINTENANCE_ENV_VARS}
# The new API keys (supabase docs, guides/api/api-keys) under their own names: a publishable key
# (`sb_publishable_...`) stands for the anon key, a secret key (`sb_secret_...`) for the service_role key.
# Either name of a pair may be set, not both (the one in use must be unambiguous).
KEY_ALTERNATIVES: Mapping[str, str] = {"SUPABASE_ANON_KEY": "SUPABASE_PUBLISHABLE_KEY",
                                       "SUPABASE_SERVICE_ROLE_KEY": "SUPABASE_SECRET_KEY"}
PUBLISHABLE_KEY_PREFIX = "sb_publishable_"
SECRET_KEY_PREFIX = "sb_secret_"
_LIST_VARS = frozenset({"MAINTENANCE_OIDC_INVOKERS"})

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")]
M = TypeVar("M", bound=BaseModel)


class ConfigurationError(RuntimeError):
    """The environment lacks or mis-states a setting; the message names variables, never values."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)  # variable (or "" for a cross-field rule) → reason
        self.variables = tuple(var for var in self.problems if var)
        super().__init__("invalid function settings: " + "; ".join(
            f"{var}: {reason}" if var else reason for var, reason in self.problems.items()))


class MaintenanceSettings(BaseModel):
    """How the scheduled maintenance caller proves itself: a shared token (X-Maintenance-Token), a
    service-role JWT (always accepted), or Google OIDC from listed service accounts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr | None = Field(default=None, min_length=32)
    oidc_audience: str | None = None
    oidc_invokers: tuple[str, ...] = ()
    oidc_jwks_url: HttpUrl = GOOGLE_OIDC_JWKS_URL

    @model_validator(mode="after")
    def _consistent(self) -> MaintenanceSettings:
        # Anyone can mint a Google ID token for any audience, so the audience alone proves nothing:
        # OIDC callers are accepted only from an explicit list of service-account emails.
        if self.oidc_audience and not self.oidc_invokers:
            raise ValueError("MAINTENANCE_OIDC_AUDIENCE needs MAINTENANCE_OIDC_INVOKERS (account emails)")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MaintenanceSettings:
        return _load(cls, env, MAINTENANCE_ENV_VARS)


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
    # Scheduled maintenance, or why its settings are invalid (then only run_maintenance fails).
    maintenance: MaintenanceSettings = MaintenanceSettings()
    maintenance_problems: tuple[tuple[str, str], ...] = ()  # (variable, reason) pairs
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=10 * 1024 * 1024)
    # Optimistic-concurrency retries in the services (mastery_version_conflict), and Retry-After on 503.
    conflict_max_retries: int = Field(default=DEFAULT_RETRY.max_conflict_retries, ge=0, le=10)
    conflict_backoff_ms: int = Field(default=DEFAULT_RETRY.backoff_ms, ge=0, le=2000)
    retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # How long an instance reuses the question bank it read (structure, Elo difficulties, exposure) for
    # next_question; 0 reads it on every request.
    question_bank_ttl_seconds: int = Field(default=60, ge=0, le=3600)
    # How often an instance sends its request counts and latency histograms to function_request_stats
    # (api/request_stats.py); 0 turns the database request log off.
    request_stats_flush_seconds: int = Field(default=60, ge=0, le=3600)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_conflict_retries=self.conflict_max_retries, backoff_ms=self.conflict_backoff_ms)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.jwt_secret is None and self.jwks_url is None:
            raise ValueError("set SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL to verify learner tokens")
        # A key in the wrong slot: a secret key as the client key would hand every learner client the
        # service role's key; a publishable key as the service key would fail every service call.
        if self.supabase_anon_key.startswith(SECRET_KEY_PREFIX):
            raise ValueError("SUPABASE_ANON_KEY/SUPABASE_PUBLISHABLE_KEY holds a secret key (sb_secret_...)")
        if self.supabase_service_role_key.get_secret_value().startswith(PUBLISHABLE_KEY_PREFIX):
            raise ValueError("SUPABASE_SERVICE_ROLE_KEY/SUPABASE_SECRET_KEY holds a publishable key")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build from environment variables; empty values count as unset. Invalid maintenance settings do
        not fail this: they are kept as `maintenance_problems` for `require_maintenance`."""
        try:
            maintenance, problems = MaintenanceSettings.from_env(env), {}
        except ConfigurationError as exc:
            maintenance, problems = MaintenanceSettings(), exc.problems
        env, key_problems = _with_key_alternatives(env)
        try:
            settings = _load(cls, env, CORE_ENV_VARS, maintenance=maintenance,
                             maintenance_problems=tuple(problems.items()))
        except ConfigurationError as exc:
            raise ConfigurationError({**key_problems, **exc.problems}) from None
        if key_problems:
            raise ConfigurationError(key_problems)
        return settings

    def require_maintenance(self) -> MaintenanceSettings:
        """The maintenance settings; ConfigurationError (naming the variables) if they are invalid."""
        if self.maintenance_problems:
            raise ConfigurationError(dict(self.maintenance_problems))
        return self.maintenance


def _with_key_alternatives(env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The environment with SUPABASE_PUBLISHABLE_KEY / SUPABASE_SECRET_KEY read into the key they stand
    for, and the problems: both names of a pair set."""
    resolved, problems = dict(env), {}
    for legacy, new in KEY_ALTERNATIVES.items():
        legacy_value, new_value = env.get(legacy, "").strip(), env.get(new, "").strip()
        if legacy_value and new_value:
            problems[legacy] = f"set {legacy} or {new}, not both"
        elif new_value:
            resolved[legacy] = new_value
    return resolved, problems


def _load(model: type[M], env: Mapping[str, str], variables: Mapping[str, str], **extra: Any) -> M:
    values: dict[str, Any] = dict(extra)
    for var, field in variables.items():
        raw = env.get(var, "").strip()
        if raw:
            values[field] = tuple(i.strip() for i in raw.split(",") if i.strip()) if var in _LIST_VARS else raw
    try:
        # Lax validation of strings ("5" → 5) is what we want for environment values.
        return model.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(_problems(exc, {field: var for var, field in variables.items()})) from None


def _problems(exc: ValidationError, field_to_env: Mapping[str, str]) -> dict[str, str]:
    """Names and reasons only: pydantic's own message would echo the (secret) input values."""
    problems: dict[str, str] = {}
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        var = field_to_env.get(field, field)
        if error["type"] == "missing":
            reason = f"is required (or {KEY_ALTERNATIVES[var]})" if var in KEY_ALTERNATIVES else "is required"
        elif error["type"] in {"too_short", "string_too_short"}:  # pydantic's message tells the length
            reason = f"must be at least {error.get('ctx', {}).get('min_length')} characters"
        else:
            reason = error["msg"].removeprefix("Value error, ")
        problems[var] = f"{problems[var]}; {reason}" if var in problems else reason
    return problems


@functools.cache
def get_settings() -> Settings:
    """Process-wide settings, loaded on first call (not cached when loading fails)."""
    return Settings.from_env(os.environ)
