"""One exception hierarchy for everything a function answers with an error, and its JSON body.

Every error response has the shape
    {"error": {"code": "...", "message": "...", "fields": [{"field": "...", "message": "..."}],
               "request_id": "...", "retryable": false}}
`code` is a stable machine-readable snake_case string; `message` is safe to show (it never holds
database details, tokens or stack traces — those go only to the logs).
"""

# ruff: noqa: N818 -- the classes are named after HTTP statuses (like werkzeug's), not "...Error".
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from smartpractice.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from smartpractice.errors import FieldError as FieldError  # the domain's, re-exported for the edge


class ApiError(Exception):
    """Base class: subclasses fix the HTTP status and a default code and message."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "internal error"
    retryable_by_default: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: Iterable[FieldError] = (),
        retryable: bool | None = None,
        retry_after_seconds: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.fields = tuple(fields)
        self.retryable = self.retryable_by_default if retryable is None else retryable
        self.retry_after_seconds = retry_after_seconds
        self._headers = dict(headers or {})
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def response_headers(self) -> dict[str, str]:
        headers = dict(self._headers)
        if self.retry_after_seconds is not None:
            headers["Retry-After"] = str(self.retry_after_seconds)
        return headers

    def to_body(self, request_id: str) -> ErrorResponse:
        return ErrorResponse(
            error=ErrorDetail(
                code=self.code,
                message=self.message,
                fields=[FieldErrorOut(field=f.field, message=f.message) for f in self.fields],
                request_id=request_id,
                retryable=self.retryable,
            )
        )


class BadRequest(ApiError):
    status = 400
    default_code = "bad_request"
    default_message = "the request is malformed"


class ValidationFailed(BadRequest):
    default_code = "validation_failed"
    default_message = "the request has invalid fields"


class Unauthorized(ApiError):
    status = 401
    default_code = "unauthorized"
    default_message = "authentication is required"

    def response_headers(self) -> dict[str, str]:
        # RFC 6750: tell the client which scheme to use and that the token (if any) was refused.
        headers = super().response_headers()
        challenge = "Bearer"
        if self.code != "missing_token":
            challenge = f'Bearer error="invalid_token", error_description="{self.code}"'
        headers.setdefault("WWW-Authenticate", challenge)
        return headers


class Forbidden(ApiError):
    status = 403
    default_code = "forbidden"
    default_message = "this caller may not use this endpoint"


class NotFound(ApiError):
    status = 404
    default_code = "not_found"
    default_message = "not found"


class MethodNotAllowed(ApiError):
    status = 405
    default_code = "method_not_allowed"
    default_message = "method not allowed"

    def __init__(self, allowed: Iterable[str], message: str | None = None) -> None:
        allowed = tuple(allowed)
        super().__init__(
            message or f"use {' or '.join(allowed)}",
            headers={"Allow": ", ".join((*allowed, "OPTIONS"))},
        )


class Conflict(ApiError):
    """409; `retryable` says whether repeating the same request can succeed (e.g. a version race)."""

    status = 409
    default_code = "conflict"
    default_message = "the request conflicts with the current state"


class PayloadTooLarge(ApiError):
    status = 413
    default_code = "payload_too_large"
    default_message = "the request body is too large"


class UnsupportedMediaType(ApiError):
    status = 415
    default_code = "unsupported_media_type"
    default_message = "send the body as application/json"


class TooManyRequests(ApiError):
    status = 429
    default_code = "rate_limited"
    default_message = "too many requests; retry later"
    retryable_by_default = True


class InternalError(ApiError):
    """500: the body never carries the cause; the log line for the request id does."""


class ServiceUnavailable(ApiError):
    status = 503
    default_code = "service_unavailable"
    default_message = "a backing service is unavailable; retry later"
    retryable_by_default = True


class ServerMisconfigured(ServiceUnavailable):
    """503 until an operator fixes the function's settings; the message names the variables (never values)."""

    default_code = "server_misconfigured"
    default_message = "the server is misconfigured"
    retryable_by_default = False


def api_error_for(exc: DomainError) -> ApiError:
    """The one place a domain error becomes an HTTP status (code and message pass through)."""
    if isinstance(exc, NotFoundError):
        return NotFound(exc.message, code=exc.code)
    if isinstance(exc, ConflictError):
        return Conflict(exc.message, code=exc.code, retryable=exc.retryable)
    if isinstance(exc, InvalidError):
        return ValidationFailed(exc.message, code=exc.code, fields=exc.fields)
    if isinstance(exc, ForbiddenError):
        return Forbidden(exc.message, code=exc.code)
    if isinstance(exc, UnavailableError):
        return ServiceUnavailable(exc.message, code=exc.code, retryable=exc.retryable,
                                  retry_after_seconds=exc.retry_after_seconds, fields=exc.fields)
    if isinstance(exc, RateLimitedError):
        return TooManyRequests(exc.message, code=exc.code, retry_after_seconds=exc.retry_after_seconds)
    return InternalError()


# --- the wire format (also used by the OpenAPI document) ---------------------------------------


class FieldErrorOut(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="Dotted location of the offending input, e.g. `user_answer.0`.")
    message: str


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="Stable machine-readable code, e.g. `token_expired`, `validation_failed`.")
    message: str = Field(description="Human-readable, safe to display.")
    fields: list[FieldErrorOut] = Field(default_factory=list, description="Per-field problems (400); for 503 "
                                        "`maintenance_incomplete`, one entry per step that did not finish.")
    request_id: str = Field(description="Quote it when reporting a problem; it keys the server log line.")
    retryable: bool = Field(description="Whether repeating the same request may succeed.")


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    error: ErrorDetail
