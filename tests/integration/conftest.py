"""A live local stack for integration tests: Postgres + the gateway served on a loopback port, with the
functions' settings pointing at it, so tests drive the real HTTP functions with real learner JWTs."""

from __future__ import annotations

import base64
import json as json_module
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from smartpractice.config import get_settings
from smartpractice.db.clients import ClientFactory
from smartpractice.db.repository import ServiceStore
from supalocal.gateway.app import create_gateway_app
from supalocal.keys import anon_key, learner_jwt, service_role_key
from supalocal.process import free_port
from supalocal.settings import StackSettings

IN_PROCESS_URL = "http://gateway.test"  # the base URL of an in-process gateway (WSGI transport)

MAINTENANCE_TOKEN = "test-maintenance-token-0123456789abcdef"
NIGHTLY_CLIENT_TIMEOUT_SECONDS = 1800.0


@dataclass(frozen=True)
class LiveStack:
    url: str
    settings: StackSettings
    http: httpx.Client

    def call(self, name: str, *, token: str | None, json: object | None = None, method: str = "POST",
             headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> httpx.Response:
        if name == "submit_answer" and isinstance(json, dict) and token:
            took(self.settings, json, token)
        merged = {"Authorization": f"Bearer {token}"} if token else {}
        merged.update(headers or {})
        # The nightly run is given what its scheduler gives it (Cloud Scheduler's 1800 s attempt deadline,
        # README "Scheduling the nightly run"), not a learner request's 30 s: on a loaded machine a real day
        # takes longer than that, which is a figure for the benchmarks, not a failure of the product.
        timeout = NIGHTLY_CLIENT_TIMEOUT_SECONDS if name == "run_maintenance" else httpx.USE_CLIENT_DEFAULT
        return self.http.request(method, f"{self.url}/functions/v1/{name}", json=json, headers=merged,
                                 params=params, timeout=timeout)


def took(settings: StackSettings, body: dict[str, object], token: str) -> None:
    """Tests answer at machine speed; the server weighs an answer by ITS time since serving (learner/evidence.py).
    So a submission claiming time_spent_seconds is answered as if the learner took that long: the question's
    served_at moves back by the claim (never forward; only the token's own unanswered question in that session:
    an attack on another learner's session leaves their rows untouched)."""
    claimed, session_id, question_id = (body.get(k) for k in ("time_spent_seconds", "session_id", "question_id"))
    if not isinstance(claimed, int | float) or claimed <= 0 or not isinstance(question_id, int):
        return
    try:
        claims = json_module.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        session, owner = uuid.UUID(str(session_id)), uuid.UUID(str(claims["sub"]))
    except (ValueError, IndexError, KeyError, TypeError):
        return
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        conn.execute("""update session_questions set served_at = least(served_at, now() - make_interval(secs => %s))
                        where session_id = %s and question_id = %s and user_id = %s and answered_at is null""",
                     (float(claimed), session, question_id, owner))


@pytest.fixture()
def service_store(stack_settings: StackSettings) -> Iterator[ServiceStore]:
    """The service-role store the nightly job uses, over an in-process gateway (no port)."""
    app = create_gateway_app(stack_settings, listen=False)
    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=IN_PROCESS_URL)
    try:
        factory = ClientFactory(url=IN_PROCESS_URL, anon_key=anon_key(), service_role_key=service_role_key(),
                                http=http)
        yield ServiceStore(factory.for_service())
    finally:
        http.close()
        app.close()


@pytest.fixture(scope="session")
def live_stack(stack_settings: StackSettings) -> Iterator[LiveStack]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "SUPABASE_URL": url,
        "SUPABASE_ANON_KEY": anon_key(stack_settings.jwt_secret),
        "SUPABASE_SERVICE_ROLE_KEY": service_role_key(stack_settings.jwt_secret),
        "SUPABASE_JWT_SECRET": stack_settings.jwt_secret,
        "MAINTENANCE_TOKEN": MAINTENANCE_TOKEN,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
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
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@dataclass(frozen=True)
class Learner:
    user_id: uuid.UUID
    token: str


@pytest.fixture()
def make_learner(stack_settings: StackSettings) -> Iterator[object]:
    """Creates auth.users rows (deleted afterwards, which cascades through every table)."""
    created: list[uuid.UUID] = []

    def make() -> Learner:
        user_id = uuid.uuid4()
        with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
            conn.execute("insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id}@example.test"))
        created.append(user_id)
        return Learner(user_id=user_id, token=learner_jwt(user_id, secret=stack_settings.jwt_secret))

    yield make
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        for user_id in created:
            conn.execute("delete from auth.users where id = %s", (user_id,))


def serve_questions(settings: StackSettings, user_id: uuid.UUID, session_id: str | uuid.UUID,
                    question_ids: list[int]) -> None:
    """Serve these questions into the session, as next_question would (serve_question, service role): tests
    that need particular questions answered serve them first, since submit_answer accepts served ones only.
    An arrangement made before the test's act: each is served as if two minutes ago, so it neither counts in
    the serving limit (20 a minute) nor makes the answer look implausibly fast (learner/evidence.py)."""
    with psycopg.connect(settings.dsn()) as conn:
        for question_id in question_ids:
            conn.execute("select public.serve_question(%s, %s, %s, '{\"why\": \"test\"}')",
                         (user_id, uuid.UUID(str(session_id)), question_id))
            conn.execute("""update session_questions set served_at = served_at - interval '2 minutes'
                            where session_id = %s and question_id = %s and answered_at is null""",
                         (uuid.UUID(str(session_id)), question_id))
