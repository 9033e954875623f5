"""`python -m supalocal gateway` gives its functions the local stack's URL and keys, and reports invalid
function settings once at start-up: a short MAINTENANCE_TOKEN fails run_maintenance (503
server_misconfigured), never the learner endpoints."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from supalocal.process import GatewayProcess
from supalocal.settings import StackSettings
from tests.integration.conftest import Learner

pytestmark = pytest.mark.stack
SHORT_TOKEN = "only-31-characters-long-0123456"


def _report_lines(log: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "smartpractice.api.settings"]


def _start_up_report(log: Path, *, within_seconds: float = 30.0) -> list[dict[str, object]]:
    """The report lines once the gateway has written them: the process answers its health check before its
    log file necessarily holds the line (seen once on a fresh clone), so wait for the event, bounded."""
    deadline = time.monotonic() + within_seconds
    while not (lines := _report_lines(log)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return lines


def test_defaults_serve_working_functions_and_a_short_token_fails_maintenance_only(
        stack_settings: StackSettings, make_learner: Callable[[], Learner], tmp_path: Path) -> None:
    learner = make_learner()
    log = tmp_path / "gateway.log"
    with GatewayProcess(stack_settings, maintenance_token=SHORT_TOKEN, log_path=log) as gateway, \
            httpx.Client(timeout=60.0) as http:
        at_start_up = _start_up_report(log)
        started = http.post(f"{gateway.url}/functions/v1/start_session", json={},
                            headers={"Authorization": f"Bearer {learner.token}"})
        maintenance = http.post(f"{gateway.url}/functions/v1/run_maintenance", json={},
                                headers={"X-Maintenance-Token": SHORT_TOKEN})
        maintenance_again = http.post(f"{gateway.url}/functions/v1/run_maintenance", json={},
                                      headers={"X-Maintenance-Token": SHORT_TOKEN})
    assert [(line["settings"], line["affected"]) for line in at_start_up] == [
        (["MAINTENANCE_TOKEN"], "run_maintenance")]
    assert len(_report_lines(log)) == 1  # once, not once per entry point or request
    assert started.status_code == 201
    for response in (maintenance, maintenance_again):
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["retryable"]) == (503, "server_misconfigured", False)
        assert "MAINTENANCE_TOKEN: must be at least 32 characters" in error["message"]
