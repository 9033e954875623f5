"""Map failures of the backing services (PostgREST via the supabase client, httpx, JWKS) to `ApiError`.

Sources of codes:
- our RPCs raise `PTxyz` SQLSTATEs whose message is a snake_case slug (see RPC_CONTRACT): HTTP xyz,
  code = the slug; the retryable 409s are those db/upstream.py retries;
- PostgREST's own `PGRSTxxx` codes (connection/pool trouble → 503, JWT rejected → 401, no row → 404);
- plain SQLSTATEs (serialization/deadlock → retryable 409, unique violation → retryable 409, data
  exceptions → 400, connection/resource classes → 503, statement or lock timeout → 503 database_timeout:
  the database was too slow, so the client should wait (Retry-After) rather than repeat at once);
- postgrest-py's fallback for non-JSON error bodies uses the HTTP status as the code ('502', ...).
Anything else maps to None, and the endpoint answers a generic 500 (details only in the log).
"""

from __future__ import annotations

import json
import re

import httpx
from jwt import PyJWKClientConnectionError
from postgrest.exceptions import APIError as PostgrestAPIError

from smartpractice.api.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from smartpractice.db.upstream import RETRYABLE_CONFLICT_SLUGS, SERIALIZATION_SQLSTATES, UNIQUE_VIOLATION

DEFAULT_RETRY_AFTER_SECONDS = 5

# Client-facing wording for the slugs our RPCs raise; unknown slugs fall back to the slug in words.
_SLUG_MESSAGES = {
    "mastery_version_conflict": "your progress changed while this answer was processed; retry",
    "session_not_found": "practice session not found",
    "question_not_found": "question not found",
    "session_not_active": "the practice session is no longer active",
    "question_already_answered": "this question was already answered in this session",
    "question_not_served": "this question was not served in this session",
    "session_target_reached": "the session reached its target number of questions; complete it",
    "idempotency_key_reused": "this idempotency key was used for another answer; send a fresh key",
    "rate_limited": "too many requests from this learner; retry after the Retry-After seconds",
}

_PT_CODE = re.compile(r"^PT(\d{3})$")
_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Transport failures worth a retry; not UnsupportedProtocol/InvalidURL, which are configuration bugs.
_TRANSPORT_FAILURES = (
    httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError,
)
_HTTP_CODE = re.compile(r"^\d{3}$")
_UNAVAILABLE_PGRST = frozenset({"PGRST000", "PGRST001", "PGRST002", "PGRST003"})
_UNAUTHORIZED_PGRST = frozenset({"PGRST300", "PGRST301", "PGRST302", "PGRST303"})
# SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57P0x operator intervention.
_UNAVAILABLE_SQLSTATE = re.compile(r"^(08...|53...|57P0[1-5])$")
# 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout): nothing was written.
_TIMEOUT_SQLSTATES = frozenset({"57014", "55P03"})


def map_upstream_error(
    exc: BaseException, *, retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS
) -> ApiError | None:
    """The ApiError to answer for `exc`, or None when it is not a recognised upstream failure."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, PostgrestAPIError):
        return _from_postgrest(exc, retry_after_seconds)
    if isinstance(exc, _TRANSPORT_FAILURES):
        return ServiceUnavailable(code="upstream_unavailable", retry_after_seconds=retry_after_seconds)
    if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500:
        return ServiceUnavailable(code="upstream_unavailable", retry_after_seconds=retry_after_seconds)
    if isinstance(exc, PyJWKClientConnectionError):
        return ServiceUnavailable(code="auth_keys_unavailable", retry_after_seconds=retry_after_seconds)
    return None


def _from_postgrest(exc: PostgrestAPIError, retry_after_seconds: int) -> ApiError | None:
    code = exc.code or ""
    message = exc.message or ""
    pt = _PT_CODE.match(code)
    if pt:
        return _from_custom_status(int(pt.group(1)), message, exc.details, retry_after_seconds)
    if code in _UNAVAILABLE_PGRST or _UNAVAILABLE_SQLSTATE.match(code):
        return ServiceUnavailable(code="database_unavailable", retry_after_seconds=retry_after_seconds)
    if code in _TIMEOUT_SQLSTATES:
        return ServiceUnavailable(code="database_timeout", message="the database took too long to answer; retry later",
                                  retry_after_seconds=retry_after_seconds)
    if code in _UNAUTHORIZED_PGRST:
        return Unauthorized(code="token_rejected_upstream", message="the database refused the access token")
    if code == "PGRST116":
        return NotFound()
    if code in SERIALIZATION_SQLSTATES:
        return Conflict(code="transaction_conflict", message="a concurrent change interfered; retry",
                        retryable=True)
    if code == UNIQUE_VIOLATION:
        # A concurrent duplicate (e.g. the same idempotency key twice): the retry finds the stored result.
        return Conflict(code="already_exists", message="this was already recorded", retryable=True)
    if code == "23503":
        return Conflict(code="referenced_row_missing", message="a referenced record does not exist")
    if code.startswith("22") or code in ("23502", "23514"):
        return BadRequest(code="invalid_value", message="a value was rejected by the database")
    if _HTTP_CODE.match(code):
        return _from_http_status(int(code), retry_after_seconds)
    return None


def _retry_after(details: object, default: int) -> int:
    """PT429's detail is {"retry_after_seconds": n} (private.require_under_limit); else the default."""
    try:
        value = json.loads(details)["retry_after_seconds"] if isinstance(details, str) else None
    except (ValueError, KeyError, TypeError):
        value = None
    return value if isinstance(value, int) and value > 0 else default


def _from_custom_status(status: int, message: str, details: object, retry_after_seconds: int) -> ApiError | None:
    slug = message if _SLUG.match(message) else None
    text = _SLUG_MESSAGES.get(slug or "", (slug or "").replace("_", " ") or None)
    if status == 429:
        return TooManyRequests(code=slug, message=text,
                               retry_after_seconds=_retry_after(details, retry_after_seconds))
    if status == 409:
        return Conflict(code=slug, message=text, retryable=slug in RETRYABLE_CONFLICT_SLUGS)
    if status == 404:
        return NotFound(code=slug, message=text)
    if status == 403:
        return Forbidden(code=slug, message=text)
    if status in (400, 422):
        return BadRequest(code=slug, message=text)
    return None


def _from_http_status(status: int, retry_after_seconds: int) -> ApiError | None:
    if status == 429:
        return TooManyRequests(retry_after_seconds=retry_after_seconds)
    if status >= 500:
        return ServiceUnavailable(code="upstream_unavailable", retry_after_seconds=retry_after_seconds)
    return None
