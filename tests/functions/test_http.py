"""The `endpoint` wrapper and parsing helpers, driven through Flask test clients like functions-framework."""

from __future__ import annotations

import contextvars
import io
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask
import functions_framework
import httpx
import jwt
import pytest
from flask.testing import FlaskClient
from postgrest.exceptions import APIError
from werkzeug.test import EnvironBuilder

from smartpractice.api.errors import PayloadTooLarge, ServiceUnavailable, ValidationFailed
from smartpractice.api.http import RequestContext, endpoint, parse_query, read_body
from smartpractice.api.models import (
    AnswerProgress,
    InsightsRequest,
    MaintenanceResponse,
    NextQuestionRequest,
    SubmitAnswerRequest,
    SubmitAnswerResponse,
)
from smartpractice.config import Settings, get_settings
from smartpractice.db.clients import run_counting_cpu
from smartpractice.service.models_responses import MaintenanceStepResult
from tests.functions.conftest import log_lines

SECRET = "unit-test-jwt-secret-with-at-least-32-characters"
MAINT_TOKEN = "maintenance-token-0123456789-abcdefghijklmnop"
USER_ID = uuid.UUID("0b8f6c1e-3d4a-4b5c-9d6e-7f8091a2b3c4")
SESSION = "6f1d4c3e-0000-4000-8000-000000000001"
ENV = {
    "SUPABASE_URL": "https://project.supabase.co",
    "SUPABASE_ANON_KEY": "anon-key",
    "SUPABASE_SERVICE_ROLE_KEY": "service-role-key-value",
    "SUPABASE_JWT_SECRET": SECRET,
    "MAINTENANCE_TOKEN": MAINT_TOKEN,
    "SP_MAX_BODY_BYTES": "2048",
    "SP_RETRY_AFTER_SECONDS": "7",
    "SP_REQUEST_STATS_FLUSH_SECONDS": "0",  # no flush to the (fake) project at a wall-clock moment
}
SETTINGS = Settings.from_env(ENV)
ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
SUBMIT_RESPONSE = SubmitAnswerResponse(is_correct=True, correct_answer=["B"], skills=[],
                                       session_progress=AnswerProgress(answered=1, correct=1, accuracy=1.0))
ANSWER = {"session_id": SESSION, "question_id": 3, "user_answer": ["my secret answer"],
          "time_spent_seconds": 12, "idempotency_key": "attempt-0001"}


def learner_token(**overrides: Any) -> str:
    now = int(time.time())
    claims = {"sub": str(USER_ID), "aud": "authenticated", "role": "authenticated", "iat": now,
              "exp": now + 3600, **overrides}
    return jwt.encode(claims, SECRET, algorithm="HS256")


TOKEN = learner_token()
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def serve(name: str, handler: Callable[[RequestContext[Any]], Any],
          settings_loader: Callable[[], Settings] = lambda: SETTINGS) -> FlaskClient:
    """A Flask app routing every method to the wrapped handler, as functions-framework does."""
    wrapped = endpoint(name, settings_loader=settings_loader)(handler)
    app = flask.Flask(__name__)
    app.add_url_rule("/", "run", lambda: wrapped(flask.request), methods=ALL_METHODS)
    return app.test_client()


def submit_handler(ctx: RequestContext[Any]) -> SubmitAnswerResponse:
    ctx.authenticate_learner()
    ctx.json_body(SubmitAnswerRequest)
    return SUBMIT_RESPONSE


def raising(exc: BaseException) -> Callable[[RequestContext[Any]], Any]:
    def handler(ctx: RequestContext[Any]) -> Any:
        ctx.authenticate_learner()
        raise exc

    return handler


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()["error"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


# --- success, CORS, methods ------------------------------------------------------------------------


def test_success_returns_model_json_and_one_log_line_without_secrets(log_stream: io.StringIO) -> None:
    response = serve("submit_answer", submit_handler).post(
        "/", json=ANSWER, headers={**AUTH, "X-Request-Id": "client-req.42"})
    assert response.status_code == 200
    assert response.get_json() == json.loads(SUBMIT_RESPONSE.model_dump_json())
    assert (response.headers["X-Request-Id"], response.headers["Access-Control-Allow-Origin"]) == (
        "client-req.42", "*")
    [line] = log_lines(log_stream)
    assert {k: line[k] for k in ("severity", "request_id", "function", "method", "status", "outcome",
                                 "user_id", "caller")} == {
        "severity": "INFO", "request_id": "client-req.42", "function": "submit_answer", "method": "POST",
        "status": 200, "outcome": "ok", "user_id": str(USER_ID), "caller": "learner"}
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0.0
    assert isinstance(line["cpu_ms"], float) and line["cpu_ms"] >= 0.0
    assert line["upstream_calls"] == 0  # the handler here is a stub: no REST call was made
    raw = log_stream.getvalue()
    for secret in (TOKEN, TOKEN.split(".")[2], "my secret answer", "attempt-0001"):
        assert secret not in raw


def _handler_spending(*, cpu_s: float = 0.0, wait_s: float = 0.0) -> Callable[[RequestContext[Any]], Any]:
    """A handler that burns `cpu_s` of its thread's CPU and then waits `wait_s` (as on an upstream call)."""
    def handler(ctx: RequestContext[Any]) -> SubmitAnswerResponse:
        ctx.authenticate_learner()
        until = time.thread_time() + cpu_s
        while time.thread_time() < until:
            pass
        time.sleep(wait_s)
        return SUBMIT_RESPONSE

    return handler


def test_cpu_ms_counts_the_handlers_cpu(log_stream: io.StringIO) -> None:
    response = serve("submit_answer", _handler_spending(cpu_s=0.08)).post("/", json=ANSWER, headers=AUTH)
    assert response.status_code == 200
    [line] = log_lines(log_stream)
    assert 80.0 <= line["cpu_ms"] <= line["latency_ms"] + 1.0  # CPU time never outruns the wall clock


def test_cpu_ms_leaves_out_time_spent_waiting_upstream(log_stream: io.StringIO) -> None:
    response = serve("submit_answer", _handler_spending(wait_s=0.3)).post("/", json=ANSWER, headers=AUTH)
    assert response.status_code == 200
    [line] = log_lines(log_stream)
    assert line["latency_ms"] >= 300.0
    assert 0.0 <= line["cpu_ms"] < 150.0  # a waiting thread spends no CPU; parsing and auth take a few ms


def test_cpu_ms_adds_what_helper_threads_spent_for_the_request(log_stream: io.StringIO) -> None:
    burn = _handler_spending(cpu_s=0.08)

    def handler(ctx: RequestContext[Any]) -> Any:
        context = contextvars.copy_context()  # as the answer-key prefetch does
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(lambda: context.run(run_counting_cpu, lambda: burn(ctx))).result()

    response = serve("submit_answer", handler).post("/", json=ANSWER, headers=AUTH)
    assert response.status_code == 200
    [line] = log_lines(log_stream)
    assert line["cpu_ms"] >= 80.0  # the serving thread itself only waited


def test_options_preflight_is_answered_without_the_handler(log_stream: io.StringIO) -> None:
    calls: list[RequestContext[Any]] = []
    response = serve("insights", calls.append).options("/")
    assert (response.status_code, response.data, calls) == (204, b"", [])
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == (
        "authorization, x-client-info, apikey, content-type, x-request-id")
    assert response.headers["Access-Control-Max-Age"] == "86400"


def test_wrong_method_is_405_with_allow_header(log_stream: io.StringIO) -> None:
    response = serve("submit_answer", submit_handler).get("/", headers=AUTH)
    assert (response.status_code, response.headers["Allow"]) == (405, "POST, OPTIONS")
    assert error_of(response)["code"] == "method_not_allowed"
    assert log_lines(log_stream)[0]["outcome"] == "client_error"


def test_invalid_request_id_is_replaced() -> None:
    response = serve("submit_answer", submit_handler).get("/", headers={"X-Request-Id": "bad id <script>"})
    assert uuid.UUID(response.headers["X-Request-Id"]).version == 4


# --- body parsing -----------------------------------------------------------------------------------


def test_wrong_content_type_is_415() -> None:
    response = serve("submit_answer", submit_handler).post("/", data="a=1", headers=AUTH,
                                                           content_type="application/x-www-form-urlencoded")
    assert (response.status_code, error_of(response)["code"]) == (415, "unsupported_media_type")


def test_oversized_body_is_413() -> None:
    body = {**ANSWER, "user_answer": ["x" * 400] * 6}  # ~2.5 KB > SP_MAX_BODY_BYTES=2048
    response = serve("submit_answer", submit_handler).post("/", json=body, headers=AUTH)
    assert (response.status_code, error_of(response)["code"]) == (413, "payload_too_large")
    assert error_of(response)["message"] == "the body may be at most 2048 bytes"


def test_streamed_body_is_cut_at_the_limit() -> None:
    environ = EnvironBuilder(method="POST", input_stream=io.BytesIO(b"x" * 5000)).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True  # a server that handles chunked bodies (gunicorn)
    with pytest.raises(PayloadTooLarge, match="at most 1024 bytes"):
        read_body(flask.Request(environ), max_bytes=1024)


class ShortReads(io.RawIOBase):
    """A socket-like input that hands out at most 100 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(len(buffer), 100))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_body_arriving_in_short_reads_is_read_whole() -> None:
    body = json.dumps({**ANSWER, "user_answer": ["y" * 400] * 3}).encode()  # 1.3 KB in 100-byte pieces
    environ = EnvironBuilder(method="POST", data=body, content_type="application/json").get_environ()
    environ["wsgi.input"] = ShortReads(body)
    assert read_body(flask.Request(environ), max_bytes=2048) == body


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [(b"{not json", "invalid_json", "the body is not valid JSON"),
     (b"", "invalid_json", "the body is not valid JSON"),
     (b"[1, 2]", "invalid_json", "the body must be a JSON object")],
    ids=["garbage", "empty", "array"],
)
def test_malformed_json_is_400(data: bytes, code: str, message: str) -> None:
    response = serve("submit_answer", submit_handler).post("/", data=data, headers=AUTH,
                                                           content_type="application/json")
    assert response.status_code == 400
    assert {k: error_of(response)[k] for k in ("code", "message", "fields")} == {
        "code": code, "message": message, "fields": []}


def test_validation_failure_is_400_with_fields() -> None:
    response = serve("submit_answer", submit_handler).post(
        "/", json={**ANSWER, "confidence_score": 9, "user_id": str(uuid.uuid4())}, headers=AUTH)
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "validation_failed", "message": "the request has invalid fields",
        "fields": [{"field": "confidence_score", "message": "Input should be less than or equal to 5"},
                   {"field": "user_id", "message": "Extra inputs are not permitted"}],
        "request_id": response.headers["X-Request-Id"], "retryable": False}


def test_query_and_optional_body_for_insights() -> None:
    seen: list[int] = []

    def handler(ctx: RequestContext[Any]) -> flask.Response:
        seen.append(ctx.params(InsightsRequest).days)
        return flask.Response(status=204)

    client = serve("insights", handler)
    assert [client.get("/?days=7").status_code, client.post("/").status_code,
            client.post("/", json={"days": 14}).status_code] == [204, 204, 204]
    assert seen == [7, 30, 14]
    cases = {"/?days=0": ("days", "Input should be greater than or equal to 1"),
             "/?days=1&days=2": ("days", "must be given once"),
             "/?days=x": ("days", "Input should be a valid integer, unable to parse string as an integer"),
             "/?cachebust=1": ("cachebust", "Extra inputs are not permitted")}
    for url, (field, message) in cases.items():
        response = client.get(url)
        assert (response.status_code, error_of(response)["fields"]) == (
            400, [{"field": field, "message": message}]), url


def test_parse_query_repeats_list_fields() -> None:
    environ = EnvironBuilder(query_string=f"session_id={SESSION}&skill_ids=4&skill_ids=2&target_low=0.5")
    parsed = parse_query(flask.Request(environ.get_environ()), NextQuestionRequest)
    assert (parsed.skill_ids, parsed.target_low, parsed.target_high) == ([4, 2], 0.5, 0.7)
    with pytest.raises(ValidationFailed):
        parse_query(flask.Request(EnvironBuilder(query_string="skill_ids=0").get_environ()), NextQuestionRequest)


# --- authentication -------------------------------------------------------------------------------


def test_missing_token_is_401_with_challenge() -> None:
    response = serve("submit_answer", submit_handler).post("/", json=ANSWER)
    assert (response.status_code, response.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert error_of(response)["code"] == "missing_token"


def test_maintenance_callers(log_stream: io.StringIO) -> None:
    result = MaintenanceResponse(run_date=datetime(2025, 3, 1, tzinfo=UTC).date(), steps=[
        MaintenanceStepResult(step="decay", status="done", counts={"rows": 12}, seconds=0.5)])

    def handler(ctx: RequestContext[Any]) -> MaintenanceResponse:
        ctx.authenticate_maintenance()
        return result

    client = serve("run_maintenance", handler)
    learner = client.post("/", json={}, headers=AUTH)
    operator = client.post("/", json={}, headers={"X-Maintenance-Token": MAINT_TOKEN})
    assert (learner.status_code, error_of(learner)["code"]) == (403, "service_role_required")
    assert (operator.status_code, operator.get_json()["steps"][0]["counts"]) == (200, {"rows": 12})
    assert [line["caller"] for line in log_lines(log_stream)] == [None, "maintenance_token"]
    assert MAINT_TOKEN not in log_stream.getvalue()


# --- failures -------------------------------------------------------------------------------------


def test_service_unavailable_raised_by_a_service_gets_the_default_retry_after() -> None:
    response = serve("submit_answer", raising(ServiceUnavailable())).post("/", json=ANSWER, headers=AUTH)
    assert (response.status_code, response.headers["Retry-After"], error_of(response)["retryable"]) == (
        503, "7", True)


def test_database_unavailable_is_503_with_retry_after(log_stream: io.StringIO) -> None:
    response = serve("submit_answer", raising(httpx.ConnectError("connection refused"))).post(
        "/", json=ANSWER, headers=AUTH)
    assert (response.status_code, response.headers["Retry-After"]) == (503, "7")
    assert {k: error_of(response)[k] for k in ("code", "retryable")} == {
        "code": "upstream_unavailable", "retryable": True}
    [line] = log_lines(log_stream)
    assert {k: line[k] for k in ("severity", "outcome", "error_code", "error_type")} == {
        "severity": "WARNING", "outcome": "unavailable", "error_code": "upstream_unavailable",
        "error_type": "ConnectError"}


def test_version_conflict_is_retryable_409(log_stream: io.StringIO) -> None:
    exc = APIError({"code": "PT409", "message": "mastery_version_conflict", "details": None, "hint": None})
    response = serve("submit_answer", raising(exc)).post("/", json=ANSWER, headers=AUTH)
    assert response.status_code == 409
    assert {k: error_of(response)[k] for k in ("code", "retryable")} == {
        "code": "mastery_version_conflict", "retryable": True}
    assert log_lines(log_stream)[0]["upstream_code"] == "PT409"


def test_unexpected_exception_is_generic_500_with_cause_only_in_log(log_stream: io.StringIO) -> None:
    response = serve("submit_answer", raising(RuntimeError("db password is hunter2"))).post(
        "/", json=ANSWER, headers=AUTH)
    assert response.status_code == 500
    assert {k: error_of(response)[k] for k in ("code", "message", "fields", "retryable")} == {
        "code": "internal_error", "message": "internal error; quote the request id", "fields": [],
        "retryable": False}
    assert b"hunter2" not in response.data and b"Traceback" not in response.data
    [line] = log_lines(log_stream)
    assert (line["severity"], line["outcome"], line["error_type"]) == ("ERROR", "server_error", "RuntimeError")
    assert "hunter2" in line["stack_trace"] and line["request_id"] == response.headers["X-Request-Id"]


def test_handler_returning_the_wrong_model_is_500() -> None:
    def handler(ctx: RequestContext[Any]) -> AnswerProgress:
        return AnswerProgress(answered=1, correct=1, accuracy=1.0)

    response = serve("submit_answer", handler).post("/", json=ANSWER, headers=AUTH)
    assert (response.status_code, error_of(response)["code"]) == (500, "internal_error")


def test_werkzeug_http_errors_get_the_error_shape() -> None:
    def handler(ctx: RequestContext[Any]) -> Any:
        flask.abort(400)

    response = serve("submit_answer", handler).post("/", json=ANSWER, headers=AUTH)
    assert (response.status_code, error_of(response)["code"]) == (400, "bad_request")


# --- through functions-framework itself ------------------------------------------------------------

ENTRY_POINTS = '''
from datetime import datetime, timezone
import functions_framework
from smartpractice.api.http import RequestContext, endpoint
from smartpractice.api.models import SessionFilters, StartSessionRequest, StartSessionResponse


@functions_framework.http
@endpoint("start_session")
def start_session(ctx: RequestContext) -> StartSessionResponse:  # type: ignore[type-arg]
    user = ctx.authenticate_learner()
    body = ctx.json_body(StartSessionRequest)
    return StartSessionResponse(
        session_id=user.user_id, mode=body.mode, status="active",
        started_at=datetime(2025, 3, 1, tzinfo=timezone.utc), target_questions=body.target_questions or 20,
        filters=SessionFilters(topic_ids=body.topic_ids))
'''


def test_functions_framework_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in ENV.items():
        monkeypatch.setenv(var, value)
    get_settings.cache_clear()
    source = tmp_path / "main.py"
    source.write_text(ENTRY_POINTS)
    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        target="start_session", source=str(source))
    client = app.test_client()
    created = client.post("/", json={"mode": "topic", "topic_ids": [5]}, headers=AUTH)
    preflight = client.options("/")
    wrong_method = client.get("/", headers=AUTH)
    get_settings.cache_clear()
    assert created.status_code == 201
    assert created.get_json() == {
        "session_id": str(USER_ID), "mode": "topic", "status": "active", "started_at": "2025-03-01T00:00:00Z",
        "target_questions": 20,
        "filters": {"subject_id": None, "topic_ids": [5], "skill_ids": None, "exam_section": None}}
    assert (preflight.status_code, wrong_method.status_code) == (204, 405)
