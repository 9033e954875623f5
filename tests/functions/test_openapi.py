"""The committed OpenAPI document is exactly what the code generates, and it describes the API truthfully."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smartpractice.api.endpoints import ENDPOINTS
from smartpractice.api.openapi import build_openapi, render_openapi

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
COMMITTED = FUNCTIONS_DIR / "openapi.json"
DOC = build_openapi()
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text() == render_openapi(), (
        "functions/openapi.json is stale: run `python -m smartpractice.api.openapi > functions/openapi.json`")


def test_module_entry_point_prints_the_document() -> None:
    result = subprocess.run([sys.executable, "-m", "smartpractice.api.openapi"], capture_output=True, text=True,
                            check=True, cwd=FUNCTIONS_DIR)
    assert result.stdout == render_openapi()


def test_document_is_valid_openapi_3_1() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(DOC)
    assert DOC["openapi"] == "3.1.0"


def test_paths_methods_and_success_statuses_follow_the_endpoint_table() -> None:
    assert {path: sorted(item) for path, item in DOC["paths"].items()} == {
        "/start_session": ["post"], "/next_question": ["post"], "/submit_answer": ["post"],
        "/complete_session": ["post"], "/insights": ["get", "post"], "/run_maintenance": ["post"]}
    for spec in ENDPOINTS.values():
        for method in spec.methods:
            responses = DOC["paths"][f"/{spec.name}"][method.lower()]["responses"]
            ok = responses[str(spec.success_status)]["content"]["application/json"]["schema"]
            assert ok == {"$ref": f"#/components/schemas/{spec.response_model.__name__}"}


def test_security_and_error_responses() -> None:
    submit = DOC["paths"]["/submit_answer"]["post"]
    maintenance = DOC["paths"]["/run_maintenance"]["post"]
    assert submit["security"] == [{"learnerJwt": []}]
    assert maintenance["security"] == [{"serviceJwt": []}, {"maintenanceToken": []}]
    assert sorted(submit["responses"]) == ["200", "400", "401", "404", "409", "413", "415", "429", "500", "503"]
    assert sorted(DOC["paths"]["/insights"]["get"]["responses"]) == ["200", "400", "401", "500", "503"]
    error_503 = DOC["components"]["responses"]["Error503"]
    assert error_503["headers"]["Retry-After"] == {"$ref": "#/components/headers/RetryAfter"}
    assert error_503["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert SCHEMAS["ErrorDetail"]["required"] == ["code", "message", "request_id", "retryable"]


def test_request_schemas_carry_the_validation_rules() -> None:
    submit = SCHEMAS["SubmitAnswerRequest"]
    assert submit["additionalProperties"] is False
    assert submit["required"] == ["session_id", "question_id", "user_answer", "time_spent_seconds",
                                  "idempotency_key"]
    assert "user_id" not in submit["properties"]
    assert submit["properties"]["confidence_score"] == {
        "default": 3, "description": "Self-reported confidence, 1 (guess) to 5 (certain).", "maximum": 5,
        "minimum": 1, "title": "Confidence Score", "type": "integer"}
    days = DOC["paths"]["/insights"]["get"]["parameters"][1]
    assert (days["name"], days["in"], days["schema"]["minimum"], days["schema"]["maximum"]) == (
        "days", "query", 1, 365)


def test_question_schema_has_no_answer_fields() -> None:
    assert set(SCHEMAS["QuestionOut"]["properties"]) == {
        "id", "stem", "question_type", "options", "exam_section", "difficulty_label", "skills"}
    assert json.dumps(SCHEMAS["QuestionOption"]).count("correct") == 0
