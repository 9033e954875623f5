"""run_maintenance through HTTP: scheduler credential required; a second run on the same date skips every step."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from tests.integration.conftest import MAINTENANCE_TOKEN, Learner, LiveStack

pytestmark = pytest.mark.stack
STEPS = ["aggregates", "retention"]
RUN_DATE = "2024-02-29"


def test_maintenance_needs_the_scheduler_credential(live_stack: LiveStack,
                                                    make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    assert live_stack.call("run_maintenance", token=None, json={}).status_code == 401
    assert live_stack.call("run_maintenance", token=learner.token, json={}).status_code in {401, 403}


def test_second_run_on_the_same_date_is_skipped(live_stack: LiveStack, pg: psycopg.Connection) -> None:
    body = {"run_date": RUN_DATE, "steps": STEPS}
    headers = {"X-Maintenance-Token": MAINTENANCE_TOKEN}
    pg.execute("delete from maintenance_runs where run_date = %s", (RUN_DATE,))  # the first run really runs
    first = live_stack.call("run_maintenance", token=None, json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert [(s["step"], s["status"]) for s in first.json()["steps"]] == [(step, "done") for step in STEPS]
    second = live_stack.call("run_maintenance", token=None, json=body, headers=headers)
    assert second.status_code == 200, second.text
    assert [s["step"] for s in second.json()["steps"]] == STEPS
    assert all(s["status"] == "skipped" for s in second.json()["steps"])
    assert [s["counts"] for s in second.json()["steps"]] == [s["counts"] for s in first.json()["steps"]]
