"""Framework glue for the thin handlers in functions/main.py.

    @functions_framework.http
    @endpoint(SUBMIT_ANSWER)
    def submit_answer(ctx: RequestContext[SubmitAnswerRequest]) -> BaseModel:
        user = ctx.authenticate_learner()
        body = ctx.body()  # the spec's request model, parsed after authentication
        deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
        return answers.submit_answer(user_id=user.user_id, body=body, deps=deps)

`endpoint` answers CORS preflights, enforces the methods of the endpoint table (405), turns ApiError,
invalid settings (503 `server_misconfigured` naming the variables, also logged once at start-up),
upstream failures (503 + Retry-After) and anything unexpected (generic 500, cause only in the log) into
the error body, and writes exactly one JSON log line per request.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload

import flask
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from smartpractice.api import request_stats
from smartpractice.api.auth import (
    MaintenanceCaller,
    VerifiedUser,
    bearer_token,
    verify_learner_jwt,
    verify_maintenance_caller,
)
from smartpractice.api.endpoints import ENDPOINTS, EndpointSpec, Req
from smartpractice.api.errors import (
    ApiError,
    BadRequest,
    FieldError,
    InternalError,
    MethodNotAllowed,
    PayloadTooLarge,
    ServerMisconfigured,
    UnsupportedMediaType,
    ValidationFailed,
    api_error_for,
)
from smartpractice.api.logs import ensure_logging, get_logger
from smartpractice.api.settings_report import report_settings_once
from smartpractice.api.upstream import DEFAULT_RETRY_AFTER_SECONDS, map_upstream_error
from smartpractice.config import DEFAULT_MAX_BODY_BYTES, ConfigurationError, Settings, get_settings
from smartpractice.db.clients import count_helper_cpu, count_upstream_calls
from smartpractice.errors import DomainError

M = TypeVar("M", bound=BaseModel)
Handler = Callable[["RequestContext[Any]"], BaseModel | flask.Response]

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_RETRY_STATUSES = frozenset({429, 503})
_READ_CHUNK = 16 * 1024
# Supabase's recommended function CORS headers; bearer tokens (not cookies) make "*" safe.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type, x-request-id",
    "Access-Control-Expose-Headers": "X-Request-Id, Retry-After",
}
_log = get_logger("api.request")


@dataclass(slots=True)
class RequestContext(Generic[Req]):
    """Per-request state handed to a handler; records who called, for the request's log line."""

    request: flask.Request
    spec: EndpointSpec[Req]
    request_id: str
    settings_loader: Callable[[], Settings] = field(repr=False)
    user_id: uuid.UUID | None = None
    caller: str | None = None

    @property
    def function(self) -> str:
        return self.spec.name

    @property
    def settings(self) -> Settings:
        return self.settings_loader()

    def body(self) -> Req:
        """The endpoint's request model (from its spec): the query string for GET, else the JSON body,
        which may be empty when the spec says `body_optional`."""
        model = self.spec.request_model
        if self.request.method == "GET":
            return self.query(model)
        return self.json_body(model, allow_empty=self.spec.body_optional)

    def authenticate_learner(self) -> VerifiedUser:
        user = verify_learner_jwt(bearer_token(self.request.headers), self.settings)
        self.user_id = user.user_id
        self.caller = "learner"
        return user

    def authenticate_maintenance(self) -> MaintenanceCaller:
        caller = verify_maintenance_caller(self.request.headers, self.settings)
        self.caller = caller.method
        return caller

    def json_body(self, model: type[M], *, allow_empty: bool = False) -> M:
        return parse_json_body(self.request, model, max_bytes=self.settings.max_body_bytes,
                               allow_empty=allow_empty)

    def query(self, model: type[M]) -> M:
        return parse_query(self.request, model)

    def params(self, model: type[M]) -> M:
        """Query string for GET, JSON body (may be empty) otherwise — for endpoints serving both."""
        return self.query(model) if self.request.method == "GET" else self.json_body(model, allow_empty=True)


# --- parsing ------------------------------------------------------------------------------------


def read_body(request: flask.Request, *, max_bytes: int) -> bytes:
    """The raw body, refusing more than `max_bytes` without reading (much) past the limit."""
    too_large = PayloadTooLarge(f"the body may be at most {max_bytes} bytes")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        # Loop: werkzeug's stream may return short reads (one socket read per call).
        while chunk := request.stream.read(min(_READ_CHUNK, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise too_large
    except RequestEntityTooLarge:
        raise too_large from None
    return b"".join(chunks)


def parse_json_body(
    request: flask.Request,
    model: type[M],
    *,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allow_empty: bool = False,
) -> M:
    """415 unless application/json, 413 over `max_bytes`, 400 invalid JSON, 400 + fields if invalid."""
    if allow_empty and not request.content_length and not request.mimetype:
        return validate_payload(model, b"{}")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType()
    raw = read_body(request, max_bytes=max_bytes)
    return validate_payload(model, b"{}" if allow_empty and not raw.strip() else raw)


def validate_payload(model: type[M], raw: bytes) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise BadRequest("the body is not valid JSON", code="invalid_json") from None
        if [(error["loc"], error["type"]) for error in errors] == [((), "model_type")]:
            raise BadRequest("the body must be a JSON object", code="invalid_json") from None
        raise validation_failed(exc) from None


def parse_query(request: flask.Request, model: type[M]) -> M:
    """Query parameters, converted leniently from strings; list fields repeat: ?skill_ids=1&skill_ids=2."""
    list_fields = _list_fields(model)
    data: dict[str, Any] = {}
    for key, values in request.args.lists():
        if key in list_fields:
            data[key] = values
        elif len(values) > 1:
            raise ValidationFailed(fields=[FieldError(key, "must be given once")])
        else:
            data[key] = values[0]
    try:
        return model.model_validate(data, strict=False)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def validation_failed(exc: ValidationError) -> ValidationFailed:
    fields = [
        FieldError(".".join(str(part) for part in error["loc"]) or "body", error["msg"])
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return ValidationFailed(fields=fields)


@functools.cache
def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    def is_array(schema: dict[str, Any]) -> bool:
        return schema.get("type") == "array" or any(is_array(s) for s in schema.get("anyOf", []))

    return frozenset(name for name, prop in model.model_json_schema()["properties"].items() if is_array(prop))


# --- responses ----------------------------------------------------------------------------------


def json_response(
    model: BaseModel, status: int = 200, *, headers: dict[str, str] | None = None
) -> flask.Response:
    body = model.model_dump_json()
    return flask.Response(body, status=status, headers=headers, mimetype="application/json")


def error_response(
    error: ApiError, request_id: str, *, default_retry_after: int = DEFAULT_RETRY_AFTER_SECONDS
) -> flask.Response:
    headers = error.response_headers()
    if error.status in _RETRY_STATUSES and error.retryable:
        headers.setdefault("Retry-After", str(default_retry_after))
    return json_response(error.to_body(request_id), error.status, headers=headers)


# --- the wrapper --------------------------------------------------------------------------------


Wrapped = Callable[[flask.Request], flask.Response]


@overload
def endpoint(
    spec: EndpointSpec[Req], *, settings_loader: Callable[[], Settings] = ...
) -> Callable[[Callable[[RequestContext[Req]], BaseModel | flask.Response]], Wrapped]: ...


@overload
def endpoint(
    spec: str, *, settings_loader: Callable[[], Settings] = ...
) -> Callable[[Handler], Wrapped]: ...


def endpoint(
    spec: EndpointSpec[Any] | str, *, settings_loader: Callable[[], Settings] = get_settings
) -> Callable[[Handler], Wrapped]:
    """Wrap a handler for an endpoint of the endpoint table, given as its spec or its name (KeyError at
    import if unknown); the first endpoint of a process logs what is wrong with its settings, if anything."""
    spec = ENDPOINTS[spec] if isinstance(spec, str) else spec
    report_settings_once(settings_loader)

    def decorate(handler: Handler) -> Wrapped:
        @functools.wraps(handler)
        def serve(request: flask.Request) -> flask.Response:
            return _serve(request, spec, handler, settings_loader)

        return serve

    return decorate


@dataclass(slots=True)
class _Failure:
    code: str | None = None
    error_type: str | None = None
    upstream_code: str | None = None
    exc_info: BaseException | None = None


def _serve(request: flask.Request, spec: EndpointSpec[Any], handler: Handler,
           settings_loader: Callable[[], Settings]) -> flask.Response:
    ensure_logging()
    started = time.perf_counter()
    # CPU of this request: the serving thread's CPU time (time.thread_time), which does not advance while the
    # thread waits on an upstream call (socket I/O) or the GIL, plus what helper threads spent for it
    # (db.clients.run_counting_cpu: the answer-key prefetch).
    cpu_started = time.thread_time()
    helper_cpu = count_helper_cpu()
    upstream_calls = count_upstream_calls()
    ctx: RequestContext[Any] = RequestContext(request=request, spec=spec, request_id=_request_id(request),
                                              settings_loader=settings_loader)
    failure = _Failure()
    try:
        response = _dispatch(ctx, spec, handler)
    except Exception as exc:
        error = _as_api_error(exc, ctx, failure)
        response = error_response(error, ctx.request_id, default_retry_after=_retry_after(ctx))
    response.headers.update(CORS_HEADERS)
    response.headers["Access-Control-Allow-Methods"] = ", ".join((*spec.methods, "OPTIONS"))
    response.headers[REQUEST_ID_HEADER] = ctx.request_id
    latency_ms = (time.perf_counter() - started) * 1000.0
    cpu_ms = (time.thread_time() - cpu_started + helper_cpu[0]) * 1000.0
    _log_request(ctx, response.status_code, (latency_ms, cpu_ms), failure, upstream_calls[0])
    _publish_stats(ctx, response.status_code, latency_ms, failure.code)
    return response


def _dispatch(ctx: RequestContext[Any], spec: EndpointSpec[Any], handler: Handler) -> flask.Response:
    method = ctx.request.method
    if method == "OPTIONS":
        return flask.Response(status=204, headers={"Access-Control-Max-Age": "86400"})
    if method not in spec.methods:
        raise MethodNotAllowed(spec.methods)
    result = handler(ctx)
    if isinstance(result, flask.Response):
        return result
    if not isinstance(result, spec.response_model):
        raise TypeError(f"{spec.name} returned {type(result).__name__}, not {spec.response_model.__name__}")
    return json_response(result, spec.success_status)


def _as_api_error(exc: Exception, ctx: RequestContext[Any], failure: _Failure) -> ApiError:
    """Classify `exc` and note for the log what the client will not see."""
    if isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, DomainError):
        error = api_error_for(exc)
    elif isinstance(exc, HTTPException):
        error = _from_werkzeug(exc)
    elif isinstance(exc, ConfigurationError):
        error = ServerMisconfigured(f"the server is misconfigured ({exc}); tell its operator")
    else:
        mapped = map_upstream_error(exc, retry_after_seconds=_retry_after(ctx))
        failure.error_type = type(exc).__name__
        failure.upstream_code = getattr(exc, "code", None) if mapped is not None else None
        if mapped is None:
            failure.exc_info = exc
        error = mapped or InternalError(code="internal_error", message="internal error; quote the request id")
    failure.code = error.code
    return error


def _from_werkzeug(exc: HTTPException) -> ApiError:
    status = exc.code or 500
    if status == 413:
        return PayloadTooLarge()
    if status == 415:
        return UnsupportedMediaType()
    if 400 <= status < 500:
        return BadRequest(code="bad_request")
    return InternalError()


def _request_id(request: flask.Request) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    return supplied if _REQUEST_ID.match(supplied) else str(uuid.uuid4())


def _retry_after(ctx: RequestContext[Any]) -> int:
    try:
        return ctx.settings.retry_after_seconds
    except ConfigurationError:
        return DEFAULT_RETRY_AFTER_SECONDS


def _publish_stats(ctx: RequestContext[Any], status: int, latency_ms: float, error_code: str | None) -> None:
    try:
        settings = ctx.settings
    except ConfigurationError:
        return  # nowhere to send it; the log line already tells
    request_stats.publish(settings=settings, function=ctx.function, status=status, error_code=error_code,
                          latency_ms=latency_ms, now=datetime.now(UTC))


def _log_request(ctx: RequestContext[Any], status: int, timings: tuple[float, float], failure: _Failure,
                 upstream_calls: int) -> None:
    latency_ms, cpu_ms = timings
    if status == 503:
        outcome, level = "unavailable", logging.WARNING
    elif status >= 500:
        outcome, level = "server_error", logging.ERROR
    else:
        outcome, level = ("client_error" if status >= 400 else "ok"), logging.INFO
    fields: dict[str, Any] = {
        "request_id": ctx.request_id,
        "function": ctx.function,
        "method": ctx.request.method,
        "status": status,
        "latency_ms": round(latency_ms, 2),
        "cpu_ms": round(cpu_ms, 2),  # the function's own CPU, upstream waits excluded (see _serve)
        "upstream_calls": upstream_calls,  # REST round trips to Supabase for this request
        "outcome": outcome,
        "user_id": str(ctx.user_id) if ctx.user_id else None,
        "caller": ctx.caller,
    }
    for key in ("code", "error_type", "upstream_code"):
        value = getattr(failure, key)
        if value is not None:
            fields["error_code" if key == "code" else key] = value
    exc = failure.exc_info
    _log.log(level, "%s %s %d", ctx.function, ctx.request.method, status, extra={"json_fields": fields},
             exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None)
