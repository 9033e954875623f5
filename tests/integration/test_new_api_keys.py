"""The product configured only with new-style keys, as a project that left the legacy JWT secret would be:
SUPABASE_PUBLISHABLE_KEY, SUPABASE_SECRET_KEY and SUPABASE_JWKS_URL, no SUPABASE_JWT_SECRET, and learners
holding ES256 access tokens (supabase docs, guides/api/api-keys and guides/auth/signing-keys). One
learner's session runs start -> next -> submit -> complete -> insights through the real functions and
gateway; the scheduler calls run_maintenance with the secret key."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from smartpractice.config import get_settings
from supalocal.gateway.app import create_gateway_app
from supalocal.keys import function_env, learner_jwt
from supalocal.process import free_port
from supalocal.settings import StackSettings
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack
RUN_DATE = "2024-03-31"
_FUNCTION_VARS = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET",
                  "SUPABASE_PUBLISHABLE_KEY", "SUPABASE_SECRET_KEY", "SUPABASE_JWKS_URL", "MAINTENANCE_TOKEN")


@pytest.fixture(scope="module")
def new_keys_stack(stack_settings: StackSettings) -> Iterator[LiveStack]:
    """The gateway on a loopback port, the functions' environment holding only the new keys (restored
    afterwards, so the legacy live stack of other modules is unaffected)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    saved = {var: os.environ.get(var) for var in _FUNCTION_VARS}
    for var in _FUNCTION_VARS:
        os.environ.pop(var, None)
    os.environ.update(function_env(url, new_keys=True, settings=stack_settings))
    get_settings.cache_clear()
    app = create_gateway_app(stack_settings)
    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(timeout=30.0) as http:
            yield LiveStack(url=url, settings=stack_settings, http=http)
    finally:
        server.shutdown()
        app.close()
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        get_settings.cache_clear()


@pytest.fixture()
def es256_learner(make_learner: Callable[[], Learner], stack_settings: StackSettings) -> Learner:
    learner = make_learner()
    return Learner(user_id=learner.user_id, token=learner_jwt(learner.user_id, algorithm="ES256",
                                                              secret=stack_settings.jwt_secret))


def _answer_key(stack: LiveStack, question_id: int) -> list[str]:
    with psycopg.connect(stack.settings.dsn()) as conn:
        row = conn.execute("select correct_answer from question_answer_keys where question_id = %s",
                           (question_id,)).fetchone()
    assert row is not None
    return list(row[0])


def test_the_functions_run_on_new_keys_only(new_keys_stack: LiveStack) -> None:
    settings = get_settings()
    assert (settings.jwt_secret, settings.supabase_anon_key, settings.supabase_service_role_key.get_secret_value(),
            settings.jwks_url) == (None, new_keys_stack.settings.publishable_key,
                                   new_keys_stack.settings.secret_key,
                                   f"{new_keys_stack.url}/auth/v1/.well-known/jwks.json")


def test_one_learner_session_with_new_keys_and_an_es256_token(new_keys_stack: LiveStack,
                                                              es256_learner: Learner) -> None:
    token = es256_learner.token
    started = new_keys_stack.call("start_session", token=token, json={"mode": "adaptive"})
    assert started.status_code == 201, started.text
    session_id = started.json()["session_id"]
    for i in range(3):
        served = new_keys_stack.call("next_question", token=token, json={"session_id": session_id})
        assert (served.status_code, served.json()["status"]) == (200, "served"), served.text
        question = served.json()["question"]
        key = _answer_key(new_keys_stack, question["id"])
        answer = key if i != 1 else ["definitely-wrong"]
        submitted = new_keys_stack.call("submit_answer", token=token, json={
            "session_id": session_id, "question_id": question["id"], "user_answer": answer,
            "confidence_score": 3, "time_spent_seconds": 30.0, "idempotency_key": f"k-{uuid.uuid4()}"})
        assert submitted.status_code == 200, submitted.text
        assert (submitted.json()["is_correct"], submitted.json()["session_progress"]["answered"]) == (i != 1, i + 1)
    done = new_keys_stack.call("complete_session", token=token, json={"session_id": session_id})
    assert done.status_code == 200, done.text
    assert (done.json()["snapshot"]["total_answered"], done.json()["snapshot"]["total_correct"]) == (3, 2)
    insights = new_keys_stack.call("insights", token=token, json={"days": 30})
    assert insights.status_code == 200, insights.text
    assert insights.json()["study_patterns"]["sessions"] == 1
    buckets = insights.json()["confidence_calibration"]["by_confidence"]
    assert sum(bucket["answered"] for bucket in buckets) == 3


def test_a_legacy_hs256_token_is_refused_once_the_secret_is_gone(new_keys_stack: LiveStack,
                                                                 make_learner: Callable[[], Learner]) -> None:
    legacy = make_learner()  # HS256, signed with the legacy secret the functions no longer hold
    response = new_keys_stack.call("start_session", token=legacy.token, json={})
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unsupported_algorithm")


@pytest.mark.parametrize("credential", ["apikey", "bearer"])
def test_the_scheduler_runs_maintenance_with_the_secret_key(new_keys_stack: LiveStack, pg: psycopg.Connection,
                                                            credential: str) -> None:
    secret = new_keys_stack.settings.secret_key
    headers = {"apikey": secret} if credential == "apikey" else {"Authorization": f"Bearer {secret}"}
    pg.execute("delete from maintenance_runs where run_date = %s", (RUN_DATE,))
    response = new_keys_stack.call("run_maintenance", token=None, headers=headers,
                                   json={"run_date": RUN_DATE, "steps": ["aggregates"]})
    assert response.status_code == 200, response.text
    assert [(step["step"], step["status"]) for step in response.json()["steps"]] == [("aggregates", "done")]
    wrong = new_keys_stack.call("run_maintenance", token=None, headers={"apikey": secret[:-1] + "x"}, json={})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_service_key")
