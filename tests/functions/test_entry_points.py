"""Entry points through functions_framework.create_app: auth and validation happen before any I/O, so
these run without the stack (SUPABASE_URL points at a closed port: a DB call would fail loudly)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from functions_framework import create_app

from smartpractice.config import get_settings
from supalocal.keys import learner_jwt, mint_jwt

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "main.py"
SECRET = "test-secret-with-at-least-32-characters-0123"
ENTRY_POINTS = ("start_session", "next_question", "submit_answer", "complete_session", "insights",
                "run_maintenance")


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service")
    monkeypatch.setenv("SUPABASE_JWT_SECRET", SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _client(target: str) -> FlaskClient:
    app: Flask = create_app(target=target, source=str(SOURCE))  # type: ignore[no-untyped-call]
    return app.test_client()


def _auth(user: uuid.UUID | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {learner_jwt(user or uuid.uuid4(), secret=SECRET)}"}


@pytest.mark.parametrize("target", ENTRY_POINTS)
def test_every_entry_point_refuses_a_missing_token(target: str) -> None:
    response = _client(target).post("/", json={})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] in {"missing_token", "missing_credentials"}


def test_expired_and_forged_tokens_are_401() -> None:
    client = _client("submit_answer")
    expired = mint_jwt(role="authenticated", sub=str(uuid.uuid4()), ttl_seconds=-120, secret=SECRET)
    forged = learner_jwt(uuid.uuid4(), secret="another-secret-with-at-least-32-characters")
    for token in (expired, forged, "not.a.jwt"):
        response = client.post("/", json={}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


def test_submit_answer_reports_every_bad_field() -> None:
    response = _client("submit_answer").post("/", headers=_auth(), json={
        "session_id": "not-a-uuid", "question_id": -3, "user_answer": [], "confidence_score": 9,
        "time_spent_seconds": -1, "idempotency_key": "x"})
    assert response.status_code == 400
    fields = {f["field"] for f in response.get_json()["error"]["fields"]}
    assert fields == {"session_id", "question_id", "user_answer", "confidence_score", "time_spent_seconds",
                      "idempotency_key"}


def test_unknown_fields_and_wrong_types_are_rejected() -> None:
    response = _client("next_question").post("/", headers=_auth(), json={
        "session_id": str(uuid.uuid4()), "target_low": "high", "user_id": str(uuid.uuid4())})
    assert response.status_code == 400
    fields = {f["field"] for f in response.get_json()["error"]["fields"]}
    assert fields == {"target_low", "user_id"}  # the user id comes only from the token


def test_huge_payload_is_413() -> None:
    response = _client("submit_answer").post("/", headers=_auth(), data=b"{" + b" " * 200_000 + b"}",
                                              content_type="application/json")
    assert response.status_code == 413


def test_learner_token_cannot_run_maintenance() -> None:
    response = _client("run_maintenance").post("/", headers=_auth(), json={})
    assert response.status_code in {401, 403}


def test_database_unreachable_is_503_with_retry_after() -> None:
    response = _client("start_session").post("/", headers=_auth(), json={})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in response.get_data(as_text=True)
