"""The error hierarchy, its wire format, and the mapping of upstream failures (PostgREST, httpx, JWKS)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest
from postgrest import SyncPostgrestClient
from postgrest.exceptions import APIError

from smartpractice.api.errors import (
    ApiError,
    Conflict,
    FieldError,
    MethodNotAllowed,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from smartpractice.api.upstream import map_upstream_error
from smartpractice.db.upstream import is_retryable_conflict


def test_validation_error_body_shape() -> None:
    error = ValidationFailed(fields=[FieldError("confidence_score", "Input should be less than or equal to 5")])
    assert error.to_body("req-1").model_dump() == {
        "error": {
            "code": "validation_failed",
            "message": "the request has invalid fields",
            "fields": [{"field": "confidence_score", "message": "Input should be less than or equal to 5"}],
            "request_id": "req-1",
            "retryable": False,
        }
    }
    assert error.status == 400


def test_status_specific_headers() -> None:
    assert Unauthorized(code="missing_token").response_headers() == {"WWW-Authenticate": "Bearer"}
    assert Unauthorized(code="token_expired").response_headers() == {
        "WWW-Authenticate": 'Bearer error="invalid_token", error_description="token_expired"'}
    assert MethodNotAllowed(("GET", "POST")).response_headers() == {"Allow": "GET, POST, OPTIONS"}
    unavailable = ServiceUnavailable(retry_after_seconds=7)
    assert (unavailable.status, unavailable.retryable, unavailable.response_headers()) == (
        503, True, {"Retry-After": "7"})
    assert (Conflict().retryable, Conflict(retryable=True).retryable) == (False, True)


def pg(code: str | None, message: str = "") -> APIError:
    return APIError({"code": code, "message": message, "details": "Key (x)=(secret) exists", "hint": None})


# (exception, expected (status, code, retryable)) — None: not an upstream failure we recognise (→ 500).
MAPPINGS: list[tuple[str, BaseException, tuple[int, str, bool] | None]] = [
    ("version conflict", pg("PT409", "mastery_version_conflict"), (409, "mastery_version_conflict", True)),
    ("session not active", pg("PT409", "session_not_active"), (409, "session_not_active", False)),
    ("already answered", pg("PT409", "question_already_answered"), (409, "question_already_answered", False)),
    ("PT409 prose message", pg("PT409", "Something Broke"), (409, "conflict", False)),
    ("session not found", pg("PT404", "session_not_found"), (404, "session_not_found", False)),
    ("PT400", pg("PT400", "bad_filters"), (400, "bad_filters", False)),
    ("PT418", pg("PT418", "teapot"), None),
    ("could not connect", pg("PGRST000"), (503, "database_unavailable", True)),
    ("pool timeout", pg("PGRST003"), (503, "database_unavailable", True)),
    ("no single row", pg("PGRST116"), (404, "not_found", False)),
    ("jwt rejected", pg("PGRST301"), (401, "token_rejected_upstream", False)),
    ("function missing", pg("PGRST202"), None),
    ("serialization", pg("40001"), (409, "transaction_conflict", True)),
    ("deadlock", pg("40P01"), (409, "transaction_conflict", True)),
    ("unique", pg("23505"), (409, "already_exists", True)),
    ("foreign key", pg("23503"), (409, "referenced_row_missing", False)),
    ("bad text", pg("22P02"), (400, "invalid_value", False)),
    ("check", pg("23514"), (400, "invalid_value", False)),
    ("statement timeout", pg("57014"), (503, "database_timeout", True)),
    ("lock timeout", pg("55P03"), (503, "database_timeout", True)),
    ("connection failure", pg("08006"), (503, "database_unavailable", True)),
    ("too many connections", pg("53300"), (503, "database_unavailable", True)),
    ("permission denied", pg("42501"), None),
    ("raise exception", pg("P0001", "boom"), None),
    ("proxy 502", pg("502", "Bad Gateway"), (503, "upstream_unavailable", True)),
    ("proxy 429", pg("429"), (429, "rate_limited", True)),
    ("plain 404", pg("404"), None),
    ("no code", pg(None), None),
    ("connect error", httpx.ConnectError("refused"), (503, "upstream_unavailable", True)),
    ("read timeout", httpx.ReadTimeout("slow"), (503, "upstream_unavailable", True)),
    ("pool timeout httpx", httpx.PoolTimeout("full"), (503, "upstream_unavailable", True)),
    ("remote protocol", httpx.RemoteProtocolError("eof"), (503, "upstream_unavailable", True)),
    ("bad url scheme", httpx.UnsupportedProtocol("ftp"), None),
    ("jwks down", jwt.PyJWKClientConnectionError("down"), (503, "auth_keys_unavailable", True)),
    ("plain bug", ValueError("boom"), None),
]


@pytest.mark.parametrize(("exc", "expected"), [(e, x) for _, e, x in MAPPINGS], ids=[n for n, _, _ in MAPPINGS])
def test_map_upstream_error(exc: BaseException, expected: tuple[int, str, bool] | None) -> None:
    mapped = map_upstream_error(exc, retry_after_seconds=9)
    assert (None if mapped is None else (mapped.status, mapped.code, mapped.retryable)) == expected
    if mapped is not None:
        assert "secret" not in mapped.message  # database details never reach the client
        if mapped.status in (429, 503):
            assert mapped.response_headers()["Retry-After"] == "9"


def test_http_status_errors() -> None:
    request = httpx.Request("POST", "http://db.test/rest/v1/rpc/x")
    bad_gateway = httpx.HTTPStatusError("502", request=request, response=httpx.Response(502, request=request))
    not_found = httpx.HTTPStatusError("404", request=request, response=httpx.Response(404, request=request))
    assert map_upstream_error(bad_gateway) is not None
    assert map_upstream_error(not_found) is None


def test_api_errors_pass_through_unchanged() -> None:
    error = Conflict(code="x")
    assert map_upstream_error(error) is error


def test_is_retryable_conflict() -> None:
    assert is_retryable_conflict(pg("PT409", "mastery_version_conflict"))
    assert not is_retryable_conflict(pg("PT409", "session_not_active"))
    assert not is_retryable_conflict(pg("PGRST000"))  # retryable, but a 503 — not the service's retry loop
    assert not is_retryable_conflict(ValueError())


def rpc_error(status: int, body: bytes, content_type: str = "application/json") -> ApiError | None:
    """Raise through the real postgrest client (in-memory transport) and map what it raises."""

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    with httpx.Client(transport=httpx.MockTransport(respond), base_url="http://db.test/rest/v1") as http:
        client = SyncPostgrestClient("http://db.test/rest/v1", http_client=http, retry_enabled=False)
        with pytest.raises(APIError) as caught:
            client.rpc("record_answer", {"p_user_id": "u"}).execute()
    return map_upstream_error(caught.value)


def test_real_postgrest_client_errors_map() -> None:
    body: dict[str, Any] = {"code": "PT409", "message": "mastery_version_conflict", "details": None, "hint": None}
    conflict = rpc_error(409, json.dumps(body).encode())
    assert conflict is not None and (conflict.status, conflict.code, conflict.retryable) == (
        409, "mastery_version_conflict", True)
    gateway = rpc_error(502, b"<html>bad gateway</html>", "text/html")
    assert gateway is not None and (gateway.status, gateway.code) == (503, "upstream_unavailable")
