"""PostgREST-shaped errors: the JSON body {code, message, details, hint} and PostgREST's status mapping.

Codes and messages follow PostgREST's Error.hs so clients (postgrest-py's APIError) see what a hosted
project would return. Gateway limitations use PGRST127 ("Feature not implemented") with status 501 so
they can never be mistaken for a client mistake.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import psycopg

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class ApiError(Exception):
    """An error answered as a PostgREST error body."""

    def __init__(self, status: int, code: str, message: str, *, details: Any = None, hint: Any = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> bytes:
        payload = {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}
        return json.dumps(payload).encode()

    def response_headers(self) -> list[tuple[str, str]]:
        base = [("Content-Type", JSON_CONTENT_TYPE), ("Proxy-Status", f"PostgREST; error={self.code}")]
        return base + list(self.headers.items())


# --- request errors (PGRST1xx) -------------------------------------------------------------------

def query_param_error(message: str, details: str) -> ApiError:
    return ApiError(400, "PGRST100", message, details=details)


def filter_parse_error(text: str, details: str) -> ApiError:
    return query_param_error(f"\"failed to parse filter ({text})\"", details)


def invalid_body(message: str) -> ApiError:
    return ApiError(400, "PGRST102", message)


def invalid_range(details: str) -> ApiError:
    return ApiError(416, "PGRST103", "Requested range not satisfiable", details=details)


def unacceptable_schema(schema: str, exposed: Iterable[str]) -> ApiError:
    return ApiError(406, "PGRST106", f"Invalid schema: {schema}",
                    hint=f"Only the following schemas are exposed: {', '.join(exposed)}")


def media_type_error(media_types: Iterable[str]) -> ApiError:
    return ApiError(406, "PGRST107", f"None of these media types are available: {', '.join(media_types)}")


def unsupported_content_type(content_type: str) -> ApiError:
    return ApiError(415, "PGRST107", f"None of these media types are available: {content_type}")


def singularity_error(rows: int) -> ApiError:
    return ApiError(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                    details=f"The result contains {rows} rows")


def unsupported_method(method: str) -> ApiError:
    return ApiError(405, "PGRST117", f"Unsupported HTTP method: {method}")


def invalid_rpc_method(method: str) -> ApiError:
    return ApiError(405, "PGRST101", f"Cannot use the {method} method on RPC")


def invalid_preferences(prefs: Iterable[str]) -> ApiError:
    return ApiError(400, "PGRST122", "Invalid preferences given with handling=strict",
                    details=f"Invalid preferences: {', '.join(prefs)}")


def max_affected_violation(rows: int) -> ApiError:
    return ApiError(400, "PGRST124", "Query result exceeds max-affected preference constraint",
                    details=f"The query affects {rows} rows")


def invalid_path() -> ApiError:
    return ApiError(404, "PGRST125", "Invalid path specified in request URL")


def not_implemented(details: str) -> ApiError:
    """A PostgREST feature this local gateway deliberately does not provide: fail loudly."""
    return ApiError(501, "PGRST127", "Feature not implemented", details=details,
                    hint="The local dev/test gateway supports a subset of PostgREST; see supalocal.gateway.")


# --- schema cache errors (PGRST2xx) --------------------------------------------------------------

def table_not_found(schema: str, name: str) -> ApiError:
    return ApiError(404, "PGRST205", f"Could not find the table '{schema}.{name}' in the schema cache")


def column_not_found(table: str, column: str) -> ApiError:
    return ApiError(400, "PGRST204", f"Could not find the '{column}' column of '{table}' in the schema cache")


def function_not_found(schema: str, name: str, arg_names: Iterable[str]) -> ApiError:
    keys = sorted(arg_names)
    shown = f"({', '.join(keys)})" if keys else " without parameters"
    searched = (f" with parameter{'s' if len(keys) > 1 else ''} {', '.join(keys)}" if keys
                else " without parameters")
    return ApiError(404, "PGRST202",
                    f"Could not find the function {schema}.{name}{shown} in the schema cache",
                    details=f"Searched for the function {schema}.{name}{searched}, but no matches were found "
                            "in the schema cache.",
                    hint="If a new function was created in the database with this name and parameters, "
                         "try reloading the schema cache.")


def ambiguous_function(candidates: Iterable[str]) -> ApiError:
    return ApiError(300, "PGRST203",
                    f"Could not choose the best candidate function between: {', '.join(candidates)}",
                    hint="Try renaming the parameters or the function itself in the database so function "
                         "overloading can be resolved")


# --- JWT errors (PGRST3xx) -----------------------------------------------------------------------

def _invalid_token_header(message: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'}


def jwt_decode_error(message: str, details: str | None = None) -> ApiError:
    return ApiError(401, "PGRST301", message, details=details, headers=_invalid_token_header(message))


def jwt_token_required(message: str = "Anonymous access is disabled", hint: str | None = None) -> ApiError:
    return ApiError(401, "PGRST302", message, hint=hint, headers={"WWW-Authenticate": "Bearer"})


def jwt_claims_error(message: str, details: str | None = None) -> ApiError:
    return ApiError(401, "PGRST303", message, details=details, headers=_invalid_token_header(message))


# --- errors raised by Postgres -------------------------------------------------------------------

_EXACT_STATUS = {
    "23503": 409, "23505": 409, "25006": 405, "53400": 500, "57P01": 503, "P0001": 400,
    "42883": 404, "42P01": 404, "42P17": 500,
}
_PREFIX_STATUS = (
    ("08", 503), ("09", 500), ("0L", 403), ("0P", 403), ("25", 500), ("28", 403), ("2D", 500),
    ("38", 500), ("39", 500), ("3B", 500), ("40", 500), ("53", 503), ("54", 500), ("55", 500),
    ("57", 500), ("58", 500), ("F0", 500), ("HV", 500), ("P0", 500), ("XX", 500),
)


def pg_status(sqlstate: str, message: str, *, authed: bool) -> int:
    """PostgREST's mapSQLtoHTTP: status for a Postgres error code."""
    if sqlstate == "42501":
        return 403 if authed else 401
    if sqlstate == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate == "22023":
        return 401 if message.startswith("role") and message.endswith("does not exist") else 400
    if sqlstate in _EXACT_STATUS:
        return _EXACT_STATUS[sqlstate]
    if sqlstate.startswith("PT"):
        # PostgREST's custom-status convention: RAISE ... USING ERRCODE = 'PT409' answers HTTP 409.
        digits = sqlstate[2:]
        return int(digits) if digits.isdigit() and 100 <= int(digits) <= 599 else 500
    for prefix, status in _PREFIX_STATUS:
        if sqlstate.startswith(prefix):
            return status
    return 400


def _raise_pgrst(message: str, detail: str | None) -> ApiError:
    """RAISE SQLSTATE 'PGRST' USING MESSAGE = '{json}', DETAIL = '{json}': full control of the response."""
    try:
        body = json.loads(message)
        meta = json.loads(detail) if detail is not None else None
    except json.JSONDecodeError:
        body, meta = None, None
    valid_body = isinstance(body, dict) and "code" in body and "message" in body
    valid_meta = isinstance(meta, dict) and isinstance(meta.get("status"), int) and "headers" in meta
    if not (valid_body and valid_meta):
        return ApiError(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
                        details="MESSAGE must be a JSON object with keys code and message; DETAIL must be a "
                                "JSON object with keys status and headers")
    assert isinstance(body, dict) and isinstance(meta, dict)
    headers = meta["headers"] if isinstance(meta["headers"], dict) else {}
    return ApiError(meta["status"], str(body["code"]), str(body["message"]), details=body.get("details"),
                    hint=body.get("hint"), headers={str(k): str(v) for k, v in headers.items()})


def from_db_error(exc: psycopg.Error, *, authed: bool) -> ApiError:
    """Translate a psycopg error raised while running a request into the PostgREST error."""
    diag = exc.diag
    sqlstate = exc.sqlstate
    if sqlstate is None:
        if isinstance(exc, psycopg.OperationalError):
            return ApiError(503, "PGRST000", "Database connection error. Retrying the connection.",
                            details=str(exc))
        # Client-side adaptation failures (e.g. a NUL character in a value) are the caller's data.
        return ApiError(400, "PGRST100", "Invalid value in request", details=str(exc))
    message = diag.message_primary or str(exc)
    if sqlstate == "PGRST":
        return _raise_pgrst(message, diag.message_detail)
    status = pg_status(sqlstate, message, authed=authed)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return ApiError(status, sqlstate, message, details=diag.message_detail, hint=diag.message_hint,
                    headers=headers)
