"""The reference web client (web/) in headless Chromium against the real local stack: a whole session answered
with the keyboard alone (the mastery change shown = the database's), the progress charts (one marker per value
of the insights series), learner isolation, CORS from the page's origin, learner-readable errors, and the
phone and desktop layouts (screenshots in test-artifacts/browser/, labels, contrast, no sideways scrolling)."""

from __future__ import annotations

import json
import re
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from playwright.sync_api import Browser, Page, Request, Route, ViewportSize

from supalocal.keys import learner_jwt
from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    DemoLearner,
    WebStack,
    sign_in_from_url,
    wait_for_view,
)

pytestmark = [pytest.mark.stack, pytest.mark.browser]

FUNCTIONS = ("start_session", "next_question", "submit_answer", "complete_session", "insights")
CHARTS = ("predicted-score", "mastery", "topic-mastery", "accuracy")
# Text contrast (WCAG 1.4.3, AA: 4.5:1) of every visible element holding text, outside the charts' SVG.
CONTRAST_JS = """() => {
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || !el.getClientRects().length) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const [a, b] = [lum(parse(getComputedStyle(el).color).slice(0, 3)), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName} ${ratio.toFixed(2)} ${el.textContent.trim().slice(0, 40)}`);
  }
  return low;
}"""
UNLABELLED_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id || el.name)"""


def p_mastery(settings: Any, user_id: uuid.UUID) -> dict[int, float]:
    with psycopg.connect(settings.dsn()) as conn:
        rows = conn.execute("select skill_id, p_mastery from user_skill_mastery where user_id = %s",
                            (user_id,)).fetchall()
    return {int(skill): float(value) for skill, value in rows}


def js_percent(value: float) -> str:
    """The page's `(value * 100).toFixed(0) + '%'`: toFixed rounds a tie up (ECMA-262 Number.prototype.toFixed),
    where Python's format rounds it to even (a seeded prior of 0.165 shows as 17%, not 16%)."""
    return f"{Decimal(value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def answer_with_keyboard(page: Page, position: int) -> None:
    """Focus starts on the first answer field: choose it (Space) or type a number, then Tab to the button, Enter."""
    form = page.locator(f"form.question[data-position='{position}']")
    form.wait_for()
    if form.get_attribute("data-question-type") == "multiple_choice":
        page.keyboard.press("Space")
        page.keyboard.press("Tab")  # the confidence select
        page.keyboard.press("Tab")  # the submit button
    else:
        page.keyboard.type("1")
    page.keyboard.press("Enter")
    page.locator(f"form.question[data-position='{position}'] + #feedback").wait_for()


@pytest.fixture(scope="module")
def history(web: WebStack) -> DemoLearner:
    """A demo learner with a session of 6 math answers and today's nightly steps: every chart has data (the
    snapshot's math score needs MIN_SECTION_ANSWERS = 5 answers in the section, as insights' does)."""
    learner = web.dev_learner()
    web.practise(learner, questions=6, section="math")
    web.run_nightly_steps()
    return learner


def test_a_whole_session_by_keyboard_shows_the_mastery_change_the_database_holds(page: Page, web: WebStack) -> None:
    page.goto(web.page_url)
    page.click("#new-learner")
    wait_for_view(page, "practice")
    user_id = uuid.UUID(page.get_attribute("#signed-in-as", "data-user-id") or "")
    web.created.append(user_id)
    page.fill("#questions", "3")
    page.click("#start")
    checked = 0
    for position in (1, 2, 3):
        before = p_mastery(web.settings, user_id)
        answer_with_keyboard(page, position)
        after = p_mastery(web.settings, user_id)
        changes = page.locator(f"form.question[data-position='{position}'] + #feedback li.mastery-change")
        assert changes.count() >= 1
        for i in range(changes.count()):
            item = changes.nth(i)
            skill = int(item.get_attribute("data-skill-id") or 0)
            shown_after = float(item.get_attribute("data-mastery-after") or "nan")
            assert shown_after == pytest.approx(after[skill], abs=1e-12)
            if skill in before:
                assert float(item.get_attribute("data-mastery-before") or "nan") == pytest.approx(before[skill],
                                                                                                   abs=1e-12)
            before_text = float(item.get_attribute("data-mastery-before") or "nan")
            assert item.locator(".values").inner_text() == f"{js_percent(before_text)} → {js_percent(after[skill])}"
            checked += 1
        verdict = "Correct" if page.get_attribute("#feedback", "data-correct") == "true" else "Not quite"
        shown = page.locator("#correct-answer strong").inner_text().strip()
        assert shown and page.text_content("#announce") == f"{verdict}. Correct answer: {shown}."
        page.keyboard.press("Enter")  # focus is on "Next question" / "See my summary"
    page.locator("#summary").wait_for()
    with psycopg.connect(web.settings.dsn()) as conn:
        status, answered, correct = conn.execute(
            "select s.status, count(q.answered_at), count(*) filter (where q.is_correct) from practice_sessions s "
            "join session_questions q on q.session_id = s.id where s.user_id = %s group by s.status",
            (user_id,)).fetchone() or (None, 0, 0)
    assert (status, answered) == ("completed", 3)
    assert page.inner_text("#summary-answered") == "3"
    assert page.inner_text("#summary-correct") == str(correct)
    assert page.locator("#predicted-scores tbody tr").count() >= 1
    assert checked >= 3


def test_each_progress_chart_draws_every_value_of_the_insights_series(page: Page, web: WebStack,
                                                                      history: DemoLearner) -> None:
    insights = web.call("insights", history.token, {"days": 30}).json()
    days = insights["series"]["days"]
    sections = sorted({s for d in days for s in d["section_scores"]})
    expected = {
        "predicted-score": [d["predicted_total"] for d in days] + [d["section_scores"].get(s) for s in sections
                                                                   for d in days],
        "mastery": [d["avg_mastery"] for d in days],
        "topic-mastery": [v for t in insights["series"]["topics"] for v in t["mastery"]],
        "accuracy": [d["correct"] / d["answers"] if d["answers"] else None for d in days],
    }
    sign_in_from_url(page, web, history, "progress")
    for chart in CHARTS:
        values = [v for v in expected[chart] if v is not None]
        points = page.locator(f"figure[data-chart='{chart}'] circle.point")
        assert len(values) >= 1, chart
        assert points.count() == len(values), chart
        drawn = sorted(float(points.nth(i).get_attribute("data-value") or "nan") for i in range(points.count()))
        assert drawn == pytest.approx(sorted(values), abs=1e-12), chart
    assert page.locator("#gaps li").count() == len(insights["knowledge_gaps"])
    for gap in insights["knowledge_gaps"]:
        assert gap["recommendation"] in page.inner_text("#gaps")
    text = page.inner_text("main")
    assert not re.search(r"[{}\[\]]|object Object|object HTML|undefined|NaN", text)  # no raw JSON or JS leaks


def test_a_learners_page_never_shows_another_learners_data(page: Page, web: WebStack) -> None:
    first, second = web.dev_learner(), web.dev_learner()
    sessions = {first.user_id: web.practise(first, questions=2), second.user_id: web.practise(second, questions=2)}
    rest_urls: list[str] = []
    page.on("request", lambda r: rest_urls.append(r.url) if "/rest/v1/practice_sessions" in r.url else None)
    for me, other in ((first, second), (second, first)):
        if me is first:
            sign_in_from_url(page, web, me, "progress")
        else:  # the same tab, signed out and in again as the other learner: nothing of the first may remain
            page.click("#sign-out")
            page.fill("#learner-id", str(me.user_id))
            page.press("#learner-id", "Enter")
            wait_for_view(page, "progress")  # back on the view the address names
        shown = page.locator("#recent-sessions li").evaluate_all("(items) => items.map((i) => i.dataset.sessionId)")
        assert shown == [sessions[me.user_id]]
        content = page.content()
        assert sessions[other.user_id] not in content and other.email not in content
        assert str(other.user_id) not in content
        assert page.get_attribute("#signed-in-as", "data-user-id") == str(me.user_id)
    # The page asks for "my sessions" without naming a learner: RLS alone decides whose rows come back.
    assert rest_urls and all("user_id" not in url for url in rest_urls)


def test_cors_preflights_from_the_pages_origin_allow_what_supabase_js_sends(page: Page, web: WebStack,
                                                                          history: DemoLearner) -> None:
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if r.url.startswith(web.api_url) else None)
    sign_in_from_url(page, web, history, "progress")
    page_origin = "{0.scheme}://{0.netloc}".format(urlsplit(web.page_url))
    assert page_origin != web.api_url  # the page's calls are cross-origin, so the browser preflighted them
    calls = [r for r in sent if r.method != "OPTIONS"]
    assert {urlsplit(r.url).path for r in calls} >= {"/functions/v1/insights", "/rest/v1/practice_sessions"}
    for request in calls:
        response = request.response()
        assert response is not None and response.status == 200, request.url
        assert response.headers.get("access-control-allow-origin") in ("*", page_origin)
    # CORS-safelisted and browser-controlled (Sec-*) headers need no permission (Fetch standard); the rest do.
    safelisted = {"accept", "accept-language", "content-language", "content-type", "range", "referer",
                  "user-agent", "origin"}

    def asked_by(prefix: str) -> list[str]:
        return sorted({h for r in calls if urlsplit(r.url).path.startswith(prefix) for h in r.headers
                       if h not in safelisted and not h.startswith("sec-")} | {"content-type"})

    assert {"authorization", "apikey"} <= set(asked_by("/functions/v1/")) & set(asked_by("/rest/v1/"))
    targets = [(f"/functions/v1/{name}", "POST") for name in FUNCTIONS] + [
        ("/rest/v1/practice_sessions", "GET"), ("/rest/v1/learner_profiles", "POST")]
    for path, method in targets:
        asked = asked_by("/functions/v1/" if path.startswith("/functions/") else "/rest/v1/")
        preflight = web.http.options(f"{web.api_url}{path}", headers={
            "Origin": page_origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ", ".join(asked)})
        assert preflight.status_code in (200, 204), path
        assert preflight.headers["access-control-allow-origin"] in ("*", page_origin), path
        allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
        assert set(asked) <= allowed, (path, set(asked) - allowed)
        assert method in preflight.headers["access-control-allow-methods"], path


def test_errors_read_as_messages_a_learner_understands(page: Page, web: WebStack) -> None:
    learner = web.dev_learner()
    # 401: an expired token (as after an hour away) -> "session expired", back to sign-in.
    expired = learner_jwt(learner.user_id, email=learner.email, ttl_seconds=60, now=time.time() - 3600,
                          secret=web.settings.jwt_secret)
    page.goto(f"{web.page_url}#progress")
    # The first load must have settled on sign-in before the token is planted: a start() still in flight would
    # read it, meet the 401 and sign out (removing it) before the reload below, which then shows no message.
    wait_for_view(page, "sign-in")
    page.evaluate("(t) => sessionStorage.setItem('sp.devToken', t)",
                  json.dumps({"access_token": expired, "user": {"id": str(learner.user_id), "email": learner.email}}))
    page.reload()
    page.locator("#message:not([hidden])").wait_for()
    page.locator("#new-learner").wait_for()
    assert page.inner_text("#message") == "Your session has expired. Please sign in again."
    # 429: the 30 session starts of the rolling hour are used up (the database's limit) -> wait and retry.
    for _ in range(30):
        assert web.call("start_session", learner.token, {}).status_code == 201
    sign_in_from_url(page, web, learner, "practice")
    page.click("#start")
    page.locator("#message:not([hidden])").wait_for()
    assert re.fullmatch(r"You are going faster than we can keep up with\. Please wait \d+ (minutes|seconds?) and "
                        r"try again\.", page.inner_text("#message"))
    # 503 (retryable, Retry-After): the functions' error body for a database outage, as a fault test provokes it.
    fresh = web.dev_learner()

    def outage(route: Route) -> None:
        body = {"error": {"code": "database_unavailable", "message": "the database is unavailable", "fields": [],
                          "request_id": "test", "retryable": True}}
        route.fulfill(status=503, json=body, headers={
            "Retry-After": "5", "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "X-Request-Id, Retry-After"})

    page.route(f"{web.api_url}/functions/v1/next_question", outage)
    page.click("#sign-out")
    page.fill("#learner-id", str(fresh.user_id))
    page.press("#learner-id", "Enter")
    wait_for_view(page, "practice")
    page.click("#start")
    page.locator("#message:not([hidden])").wait_for()
    assert page.inner_text("#message") == "The practice service is busy right now. Please try again in 5 seconds."


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "desktop"])
def test_layouts_at_375px_and_desktop_are_labelled_readable_and_fit(browser: Browser, web: WebStack,
                                                                    history: DemoLearner,
                                                                    viewport: ViewportSize) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        sign_in_from_url(page, web, history, "practice")
        page.fill("#questions", "2")
        page.click("#start")
        answer_with_keyboard(page, 1)
        page.screenshot(path=ARTIFACTS / f"practice-{viewport['width']}.png", full_page=True)
        for view in ("practice", "progress", "goal"):
            if view != "practice":
                page.click(f"nav a[data-view='{view}']")
                wait_for_view(page, view)
                page.screenshot(path=ARTIFACTS / f"{view}-{viewport['width']}.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], view
            assert page.evaluate(UNLABELLED_JS) == [], view
            assert page.evaluate(CONTRAST_JS) == [], view
    finally:
        context.close()


def test_the_goal_form_saves_the_learners_profile_over_rest(page: Page, web: WebStack) -> None:
    learner = web.dev_learner()
    sign_in_from_url(page, web, learner, "goal")
    page.uncheck("#section-reading_writing")
    page.fill("#target_math", "650")
    page.fill("#exam_date", "2027-03-13")
    page.select_option("#time_zone", "Europe/Berlin")
    page.click("#save-goal")
    page.locator("#goal-status:text('Saved.')").wait_for()
    with psycopg.connect(web.settings.dsn()) as conn:
        row = conn.execute("select exam, sections, target_math, target_reading_writing, target_total, "
                           "exam_date::text, time_zone from learner_profiles where user_id = %s",
                           (learner.user_id,)).fetchone()
    assert row == ("sat", ["math"], 650, None, None, "2027-03-13", "Europe/Berlin")
    page.reload()
    wait_for_view(page, "goal")
    assert page.input_value("#target_math") == "650" and not page.is_checked("#section-reading_writing")
