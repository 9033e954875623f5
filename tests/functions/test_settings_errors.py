"""Invalid function settings: reported once at start-up (a log line naming the variables) and answered
503 `server_misconfigured` naming them; a bad maintenance setting fails run_maintenance only."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from functions_framework import create_app

from smartpractice.api.http import RequestContext
from smartpractice.api.models import MaintenanceResponse
from smartpractice.api.settings_report import report_settings, report_settings_once
from smartpractice.config import Settings, get_settings
from tests.functions.conftest import log_lines
from tests.functions.test_http import ANSWER, AUTH, ENV, MAINT_TOKEN, error_of, serve, submit_handler

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "main.py"
SHORT_TOKEN = "only-31-characters-long-0123456"
CORE_VARS = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET")


def loader(**overrides: str) -> Callable[[], Settings]:
    env = {key: value for key, value in {**ENV, **overrides}.items() if value}
    return lambda: Settings.from_env(env)


def maintenance_handler(ctx: RequestContext[Any]) -> MaintenanceResponse:
    ctx.authenticate_maintenance()
    raise AssertionError("unreachable: the maintenance settings are invalid")


def misconfigured(response: Any) -> dict[str, Any]:
    """The error body of a 503 server_misconfigured (retryable false, so no Retry-After)."""
    error = error_of(response)
    assert (response.status_code, error["code"], error["retryable"]) == (503, "server_misconfigured", False)
    assert "Retry-After" not in response.headers
    return error


def test_unset_url_is_503_server_misconfigured_naming_it(log_stream: io.StringIO) -> None:
    response = serve("submit_answer", submit_handler, settings_loader=loader(SUPABASE_URL="")).post(
        "/", json=ANSWER, headers=AUTH)
    error = misconfigured(response)
    assert error["message"] == ("the server is misconfigured (invalid function settings: SUPABASE_URL: "
                                "is required); tell its operator")
    request_line = next(line for line in log_lines(log_stream) if line["logger"] == "smartpractice.api.request")
    assert (request_line["status"], request_line["error_code"]) == (503, "server_misconfigured")


def test_secrets_never_reach_the_body() -> None:
    response = serve("submit_answer", submit_handler, settings_loader=loader(SUPABASE_JWT_SECRET="short-secret")).post(
        "/", json=ANSWER, headers=AUTH)
    error = misconfigured(response)
    assert error["message"] == ("the server is misconfigured (invalid function settings: SUPABASE_JWT_SECRET: "
                                "must be at least 32 characters); tell its operator")
    assert b"short-secret" not in response.data


def test_a_short_maintenance_token_fails_run_maintenance_only() -> None:
    settings_loader = loader(MAINTENANCE_TOKEN=SHORT_TOKEN)
    learner = serve("submit_answer", submit_handler, settings_loader=settings_loader).post(
        "/", json=ANSWER, headers=AUTH)
    maintenance = serve("run_maintenance", maintenance_handler, settings_loader=settings_loader).post(
        "/", json={}, headers={"X-Maintenance-Token": SHORT_TOKEN})
    assert learner.status_code == 200
    assert misconfigured(maintenance)["message"] == (
        "the server is misconfigured (invalid function settings: MAINTENANCE_TOKEN: must be at least 32 "
        "characters); tell its operator")
    assert SHORT_TOKEN.encode() not in maintenance.data


def test_the_start_up_report_names_the_settings_and_what_they_break(log_stream: io.StringIO) -> None:
    assert report_settings(loader()) is None
    short_token = report_settings(loader(MAINTENANCE_TOKEN=SHORT_TOKEN))
    no_url = report_settings(loader(SUPABASE_URL="", MAINTENANCE_TOKEN=SHORT_TOKEN))
    assert short_token is not None and short_token.variables == ("MAINTENANCE_TOKEN",)
    assert no_url is not None and no_url.variables == ("SUPABASE_URL",)
    lines = log_lines(log_stream)
    assert [(line["severity"], line["settings"], line["affected"]) for line in lines] == [
        ("ERROR", ["MAINTENANCE_TOKEN"], "run_maintenance"), ("ERROR", ["SUPABASE_URL"], "every endpoint")]
    assert lines[0]["message"] == ("server misconfigured: invalid function settings: MAINTENANCE_TOKEN: must be "
                                   "at least 32 characters; run_maintenance answers 503 server_misconfigured")


def test_the_start_up_report_is_logged_once_per_loader(log_stream: io.StringIO) -> None:
    settings_loader = loader(SUPABASE_ANON_KEY="")
    for _ in range(3):
        report_settings_once(settings_loader)
    serve("start_session", submit_handler, settings_loader=settings_loader)  # another entry point, same loader
    assert [line["settings"] for line in log_lines(log_stream)] == [["SUPABASE_ANON_KEY"]]


# --- the real entry points (functions/main.py) through functions-framework ---------------------------------


@pytest.fixture()
def short_maintenance_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in CORE_VARS:
        monkeypatch.setenv(var, ENV[var] if var != "SUPABASE_URL" else "http://127.0.0.1:9")
    monkeypatch.setenv("MAINTENANCE_TOKEN", SHORT_TOKEN)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _client(target: str) -> FlaskClient:
    app: Flask = create_app(target=target, source=str(SOURCE))  # type: ignore[no-untyped-call]
    return app.test_client()


@pytest.mark.usefixtures("short_maintenance_token")
def test_entry_points_with_a_short_maintenance_token() -> None:
    learner = _client("next_question").post("/", json={"session_id": "not-a-uuid"}, headers=AUTH)
    maintenance = _client("run_maintenance").post("/", json={}, headers={"X-Maintenance-Token": MAINT_TOKEN})
    assert (learner.status_code, learner.get_json()["error"]["code"]) == (400, "validation_failed")
    assert "MAINTENANCE_TOKEN" in misconfigured(maintenance)["message"]
