"""Name a failed backing-service call with a stable snake_case code, for logs and step reports.

Only the client libraries' own error types are inspected here (the db layer owns them); the caller
gets a code such as `statement_timeout`, `upstream_timeout` or an RPC's own slug, never a traceback.
"""

from __future__ import annotations

import re

import httpx
from postgrest.exceptions import APIError as PostgrestAPIError

_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SQLSTATE_CODES = {
    "57014": "statement_timeout",  # statement_timeout (or a cancelled query)
    "55P03": "lock_timeout",
    "40P01": "deadlock",
    "40001": "serialization_failure",
}


def failure_code(exc: BaseException) -> str:
    """A snake_case code for `exc`: what went wrong, precise enough to act on, safe to return."""
    if isinstance(exc, httpx.TimeoutException):
        return "upstream_timeout"
    if isinstance(exc, httpx.HTTPError):
        return "upstream_unavailable"
    if isinstance(exc, PostgrestAPIError):
        code = str(exc.code or "")
        if code in _SQLSTATE_CODES:
            return _SQLSTATE_CODES[code]
        message = str(exc.message or "")
        if code.startswith("PT") and _SLUG.match(message):
            return message  # our RPCs raise PTxyz with a slug message
        if code.startswith(("08", "53", "57P", "PGRST00")):
            return "database_unavailable"
        return "database_error"
    explicit = getattr(exc, "code", None)
    if isinstance(explicit, str) and _SLUG.match(explicit):
        return explicit
    return "internal_error"
