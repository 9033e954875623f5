"""Which failures of a write RPC the services answer by re-reading and recomputing (bounded retries).

A retryable conflict is one where nothing was written and the same request, recomputed from fresh reads,
can succeed: our RPCs' PT409 'mastery_version_conflict' (a mastery row moved since it was read),
serialization failures and deadlocks, and a concurrent duplicate (unique violation: the retry finds the
stored result). `api/upstream.py` answers the same failures with a retryable 409 once retries run out.
"""

from __future__ import annotations

from postgrest.exceptions import APIError as PostgrestAPIError

# Slugs of our RPCs' PT409 errors that a re-read can resolve.
RETRYABLE_CONFLICT_SLUGS = frozenset({"mastery_version_conflict", "repeat_answer_conflict"})
SERIALIZATION_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
UNIQUE_VIOLATION = "23505"


def is_retryable_conflict(exc: BaseException) -> bool:
    """True for failures the service should answer by re-reading and recomputing (bounded retries)."""
    if not isinstance(exc, PostgrestAPIError):
        return False
    code = exc.code or ""
    if code == "PT409":
        return (exc.message or "") in RETRYABLE_CONFLICT_SLUGS
    return code in SERIALIZATION_SQLSTATES or code == UNIQUE_VIOLATION
