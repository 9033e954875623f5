"""OpenAPI 3.1 document generated from the endpoint table and the pydantic models.

Regenerate the committed copy with
    python -m smartpractice.api.openapi > functions/openapi.json      (or `make openapi`)
A test fails when the committed file differs from what this module generates.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from smartpractice.api.auth import MAINTENANCE_TOKEN_HEADER
from smartpractice.api.endpoints import ENDPOINTS, EndpointSpec
from smartpractice.api.errors import ErrorResponse
from smartpractice.api.http import REQUEST_ID_HEADER

API_VERSION = "1.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"
COMMON_ERROR_STATUSES = (400, 401, 413, 415, 500, 503)

_ERROR_DESCRIPTIONS = {
    400: "Invalid JSON (`invalid_json`) or invalid fields (`validation_failed`, with `fields`).",
    401: "Missing or invalid credentials; `code` says why (e.g. `token_expired`, `invalid_signature`).",
    403: "Valid credentials of a caller that may not use this endpoint (e.g. a learner on maintenance).",
    404: "The session or question does not exist or belongs to someone else.",
    409: "Conflict with the current state; when `retryable` is true, repeat the same request.",
    413: "The body exceeds the size limit (64 KiB by default).",
    415: "The body is not `application/json`.",
    429: "A per-learner limit is reached (`rate_limited`, `retryable` true): retry after `Retry-After` seconds.",
    500: "Unexpected failure; the body holds only a generic message and the request id.",
    503: "A backing service is unavailable (`retryable` true): retry after `Retry-After` seconds. Or the "
         "function's settings are invalid (`server_misconfigured`, `retryable` false, no `Retry-After`): the "
         "message names the variables.",
}
_SECURITY_SCHEMES = {
    "learnerJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The learner's Supabase Auth access token (role `authenticated`).",
    },
    "serviceJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Supabase service-role JWT, or a Google OIDC ID token of an allowed scheduler "
        "service account (audience = the function URL).",
    },
    "maintenanceToken": {"type": "apiKey", "in": "header", "name": MAINTENANCE_TOKEN_HEADER},
}


def build_openapi() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    for spec in ENDPOINTS.values():
        models += [(spec.request_model, "validation"), (spec.response_model, "serialization")]
    refs, top = models_json_schema(models, ref_template=REF_TEMPLATE)

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    error_statuses = sorted({s for spec in ENDPOINTS.values() for s in (*COMMON_ERROR_STATUSES,
                                                                         *spec.extra_error_statuses)})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Smart Practice functions",
            "version": API_VERSION,
            "description": "Adaptive practice: sessions, answer grading, next-question selection, insights "
            "and nightly maintenance. Every error has the body `ErrorResponse`.",
        },
        "paths": {f"/{spec.name}": _path_item(spec, ref) for spec in ENDPOINTS.values()},
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": _SECURITY_SCHEMES,
            "headers": {
                "RequestId": {"description": "Echoed or generated request id; keys the server log line.",
                              "schema": {"type": "string"}},
                "RetryAfter": {"description": "Seconds to wait before retrying.",
                               "schema": {"type": "integer", "minimum": 1}},
            },
            "responses": {f"Error{status}": _error_response(status, ref(ErrorResponse, "serialization"))
                          for status in error_statuses},
        },
    }


def _path_item(spec: EndpointSpec[Any], ref: Any) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for method in spec.methods:
        operation: dict[str, Any] = {
            "operationId": spec.name if len(spec.methods) == 1 else f"{spec.name}_{method.lower()}",
            "summary": spec.summary,
            "description": spec.description,
            "tags": [spec.caller],
            "security": _security(spec),
            "parameters": [{"name": REQUEST_ID_HEADER, "in": "header", "required": False,
                            "description": "Optional client request id (1-128 of A-Z a-z 0-9 . _ : -).",
                            "schema": {"type": "string", "maxLength": 128}}],
        }
        if method == "GET":
            operation["parameters"] += _query_parameters(spec.request_model)
        else:
            operation["requestBody"] = {
                "required": not spec.body_optional,
                "content": {"application/json": {"schema": ref(spec.request_model, "validation")}},
            }
        operation["responses"] = {
            str(spec.success_status): {
                "description": "Success.",
                "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}},
                "content": {"application/json": {"schema": ref(spec.response_model, "serialization")}},
            },
            **{str(status): {"$ref": f"#/components/responses/Error{status}"}
               for status in _error_statuses(spec, method)},
        }
        item[method.lower()] = operation
    return item


def _error_statuses(spec: EndpointSpec[Any], method: str) -> list[int]:
    statuses = {*COMMON_ERROR_STATUSES, *spec.extra_error_statuses}
    return sorted(statuses - {413, 415} if method == "GET" else statuses)  # GET has no body


def _security(spec: EndpointSpec[Any]) -> list[dict[str, list[str]]]:
    if spec.caller == "learner":
        return [{"learnerJwt": []}]
    return [{"serviceJwt": []}, {"maintenanceToken": []}]


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _error_response(status: int, schema: dict[str, Any]) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}
    if status in (429, 503):
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    if status == 401:
        headers["WWW-Authenticate"] = {"description": "Bearer challenge (RFC 6750).",
                                       "schema": {"type": "string"}}
    return {
        "description": _ERROR_DESCRIPTIONS[status],
        "headers": headers,
        "content": {"application/json": {"schema": schema}},
    }


def render_openapi() -> str:
    """The document exactly as committed to functions/openapi.json."""
    return json.dumps(build_openapi(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render_openapi(), end="")
