"""The web client in a real browser: the gateway (functions, REST, /app/ and the dev sign-in) on a loopback port,
and headless Debian Chromium driven by Playwright.

The page is opened at http://localhost:<port>/app/ while its config points supabase-js at
http://127.0.0.1:<port>: two origins, so every function and REST call from the page is a real cross-origin
request with a real CORS preflight, as on hosted (a static site calling Supabase and Cloud Functions).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, ViewportSize, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from smartpractice.config import get_settings
from supalocal.gateway.app import create_gateway_app
from supalocal.gateway.webapp import DEV_TOKEN_PATH
from supalocal.keys import anon_key, service_role_key
from supalocal.process import free_port
from supalocal.settings import REPO_ROOT, StackSettings
from tests.browser.chromium import LAUNCH_ARGS, ensure_chromium
from tests.integration.conftest import took

MAINTENANCE_TOKEN = "browser-test-maintenance-token-0123456789"
# Test artefacts (git-ignored): screenshots per viewport.
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 812}


@dataclass(frozen=True)
class DemoLearner:
    user_id: uuid.UUID
    token: str
    email: str


@dataclass
class WebStack:
    api_url: str  # where supabase-js sends its calls (config.json)
    page_url: str  # where the page is served from: another origin
    settings: StackSettings
    http: httpx.Client
    created: list[uuid.UUID] = field(default_factory=list)

    def call(self, name: str, token: str | None, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        merged = {"Authorization": f"Bearer {token}"} if token else {}
        merged.update(headers or {})
        return self.http.post(f"{self.api_url}/functions/v1/{name}", json=body or {}, headers=merged)

    def dev_learner(self) -> DemoLearner:
        """A new demo learner through the dev sign-in route, as the page's "new demo learner" button does."""
        response = self.http.post(f"{self.api_url}{DEV_TOKEN_PATH}", json={})
        assert response.status_code == 200, response.text
        body = response.json()
        learner = DemoLearner(uuid.UUID(body["user"]["id"]), body["access_token"], body["user"]["email"])
        self.created.append(learner.user_id)
        return learner

    def practise(self, learner: DemoLearner, *, questions: int, section: str | None = None) -> str:
        """One completed session of `questions` answers through the functions (first option / "1" each time),
        from one exam section when `section` is given."""
        session = self.call("start_session", learner.token, {"target_questions": questions}).json()["session_id"]
        ask = {"session_id": session} if section is None else {"session_id": session, "exam_section": section}
        for n in range(questions):
            served = self.call("next_question", learner.token, ask).json()
            question = served["question"]
            answer = question["options"][0]["label"] if question["question_type"] == "multiple_choice" else "1"
            body = {"session_id": session, "question_id": question["id"], "user_answer": [answer],
                    "time_spent_seconds": 20 + n, "confidence_score": 3, "idempotency_key": str(uuid.uuid4())}
            took(self.settings, body, learner.token)  # answered as if it took that long: the answer is evidence
            submitted = self.call("submit_answer", learner.token, body)
            assert submitted.status_code == 200, submitted.text
        assert self.call("complete_session", learner.token, {"session_id": session}).status_code == 200
        return str(session)

    def run_nightly_steps(self) -> None:
        """The nightly job for today (UTC): daily snapshots (the growth series) and aggregates (knowledge gaps)."""
        today = datetime.now(UTC).date()
        with psycopg.connect(self.settings.dsn(), autocommit=True) as conn:
            conn.execute("delete from public.maintenance_runs where run_date = %s", (today,))
        response = self.call("run_maintenance", None, {"run_date": today.isoformat(),
                                                       "steps": ["decay", "snapshots", "aggregates"]},
                             headers={"X-Maintenance-Token": MAINTENANCE_TOKEN})
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def web(stack_settings: StackSettings) -> Iterator[WebStack]:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    env = {"SUPABASE_URL": api_url, "SUPABASE_ANON_KEY": anon_key(stack_settings.jwt_secret),
           "SUPABASE_SERVICE_ROLE_KEY": service_role_key(stack_settings.jwt_secret),
           "SUPABASE_JWT_SECRET": stack_settings.jwt_secret, "MAINTENANCE_TOKEN": MAINTENANCE_TOKEN}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    get_settings.cache_clear()
    # The gateway's own API URL is what config.json hands the page.
    app = create_gateway_app(replace(stack_settings, api_host="127.0.0.1", api_port=port))
    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stack = WebStack(api_url=api_url, page_url=f"http://localhost:{port}/app/", settings=stack_settings,
                     http=httpx.Client(timeout=60.0))
    try:
        yield stack
    finally:
        stack.http.close()
        server.shutdown()
        app.close()
        with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
            conn.execute("delete from auth.users where id = any(%s)", (stack.created,))  # cascades everywhere
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


# Module scope: Playwright's sync API keeps an event loop of its own while it runs; it is gone before any other
# module's tests start.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    # Playwright gives every launch a fresh, empty --user-data-dir of its own.
    chromium = playwright_driver.chromium.launch(executable_path=str(ensure_chromium()), args=list(LAUNCH_ARGS),
                                                 headless=True)
    yield chromium
    chromium.close()


@dataclass
class PageErrors:
    messages: list[str] = field(default_factory=list)


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context (no storage shared between tests) at desktop size; page errors fail the test."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(20_000)
    tab = context.new_page()
    errors = PageErrors()
    tab.on("pageerror", lambda error: errors.messages.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        # The page logs only unexpected failures (app.js); expected HTTP errors are the tests' own doing.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.messages.append(f"console error: {message.text}")

    tab.on("console", on_console)
    yield tab
    context.close()
    assert errors.messages == []


def sign_in_from_url(page: Page, web: WebStack, learner: DemoLearner, view: str) -> None:
    """Open the page as `make demo` prints it: `?learner=<id>#<view>`, and wait for the view to be drawn."""
    page.goto(f"{web.page_url}?learner={learner.user_id}#{view}")
    wait_for_view(page, view)


def wait_for_view(page: Page, view: str) -> None:
    page.wait_for_selector(f"body[data-view='{view}'][data-state='idle']", state="attached")
