"""Domain errors: what went wrong in the service's own terms, without any HTTP.

`service/` (and `db/`, `learner/` where they refuse something) raise these; `api/errors.py:api_error_for`
maps them to HTTP statuses in one place. `code` is a stable snake_case string the client sees; `message`
is safe to show (never database details, tokens or stack traces). Both default to the kind's own
(`None` here means "the API's default for that status").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: its (dotted) location, e.g. "user_answer.0" or "max_iterations", and what is wrong."""

    field: str
    message: str


class DomainError(Exception):
    """Base class of the service's refusals; subclasses name the kind."""

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message
        self.code = code
        super().__init__(f"{code or type(self).__name__}: {message or ''}")


class NotFoundError(DomainError):
    """The thing asked for does not exist, or is not the caller's to see."""


class ConflictError(DomainError):
    """The request conflicts with the current state; `retryable` says whether repeating it can succeed."""

    def __init__(self, message: str | None = None, *, code: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable


class InvalidError(DomainError):
    """The input is invalid; `fields` says where and why (all problems at once)."""

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 fields: Iterable[FieldError] = ()) -> None:
        super().__init__(message, code=code)
        self.fields = tuple(fields)


class ForbiddenError(DomainError):
    """The caller is known but may not do this."""


class UnavailableError(DomainError):
    """Something the service needs is unavailable for now; retry after `retry_after_seconds` (None: default).
    `fields` names the parts that are (e.g. the maintenance steps that did not finish)."""

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 retry_after_seconds: int | None = None, retryable: bool = True,
                 fields: Iterable[FieldError] = ()) -> None:
        super().__init__(message, code=code)
        self.retry_after_seconds = retry_after_seconds
        self.retryable = retryable
        self.fields = tuple(fields)


class RateLimitedError(DomainError):
    """Too many requests from this caller; retry after `retry_after_seconds` (None: default)."""

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 retry_after_seconds: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_seconds = retry_after_seconds
