"""Issue 14, item security: attacks a hostile learner can make with what the functions give them.

Each test runs the measured attack through the real functions and gateway (learner JWTs, the official
supabase client for the learner's own REST reads) and asserts exactly what it obtains and what it changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from supabase import ClientOptions, create_client

from supalocal.keys import anon_key
from tests.figures import record
from tests.integration.conftest import Learner, LiveStack, serve_questions

pytestmark = pytest.mark.stack


def _rest_question_ids(stack: LiveStack, token: str) -> list[int]:
    """Every question id the learner can list over REST (supabase-py, as a client app would)."""
    client = create_client(stack.url, anon_key(stack.settings.jwt_secret),
                           ClientOptions(headers={"Authorization": f"Bearer {token}"}, httpx_client=stack.http))
    ids: list[int] = []
    while True:  # db-max-rows caps one read at 1000 rows: page until a short page
        page = client.table("questions").select("id").order("id").range(len(ids), len(ids) + 999).execute()
        rows: list[dict[str, Any]] = page.data  # type: ignore[assignment]
        ids += [int(r["id"]) for r in rows]
        if len(page.data) < 1000:
            return ids


def _submit(stack: LiveStack, token: str, session_id: str, question_id: int, *,
            key: str | None = None, answer: list[str] | None = None) -> Any:
    return stack.call("submit_answer", token=token, json={
        "session_id": session_id, "question_id": question_id, "user_answer": answer or ["A"],
        "time_spent_seconds": 30.0, "idempotency_key": key or f"k-{uuid.uuid4()}"})


def _footprint(stack: LiveStack, user_id: uuid.UUID) -> tuple[Any, ...]:
    """Everything an answer writes for this learner, and the bank's shared counters."""
    with psycopg.connect(stack.settings.dsn()) as conn:
        row = conn.execute("""
            select (select count(*) from session_questions where user_id = %(u)s),
                   (select count(*) from session_questions where user_id = %(u)s and answered_at is not null),
                   (select count(*) from learning_events where user_id = %(u)s),
                   (select coalesce(sum(version), 0) from user_skill_mastery where user_id = %(u)s),
                   (select sum(attempts) from question_skills),
                   (select sum(times_seen) from question_difficulty_params)""", {"u": user_id}).fetchone()
    assert row is not None
    return tuple(row)


def test_answer_key_harvest_gets_only_served_questions(live_stack: LiveStack,
                                                       make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    started = live_stack.call("start_session", token=learner.token, json={"target_questions": 2})
    assert started.status_code == 201, started.text
    session_id = started.json()["session_id"]
    ids = _rest_question_ids(live_stack, learner.token)
    assert len(ids) >= 700

    # One served question, answered honestly: its key comes back.
    served = live_stack.call("next_question", token=learner.token, json={"session_id": session_id}).json()
    served_id = int(served["question"]["id"])
    first = _submit(live_stack, learner.token, session_id, served_id)
    assert first.status_code == 200, first.text
    assert "correct_answer" in first.json()

    # The attack: every other id, each with a fresh key. Nothing is written, no key leaves.
    before = _footprint(live_stack, learner.user_id)
    statuses: dict[tuple[int, str], int] = {}
    harvested = 0
    for question_id in ids:
        if question_id == served_id:
            continue
        reply = _submit(live_stack, learner.token, session_id, question_id)
        body = reply.json()
        harvested += int("correct_answer" in body or "explanation" in body)
        slot = (reply.status_code, str(body.get("error", {}).get("code") if isinstance(body.get("error"), dict)
                                       else body.get("code")))
        statuses[slot] = statuses.get(slot, 0) + 1
    assert harvested == 0
    assert statuses == {(409, "question_not_served"): len(ids) - 1}
    assert _footprint(live_stack, learner.user_id) == before
    record(check="answer-key harvest: submit_answer for every unserved question id", tried=len(ids) - 1,
           succeeded=harvested, server_errors=sum(n for (s, _), n in statuses.items() if s >= 500))

    # target_questions (2): the second served question can be answered, then the session serves no more.
    second = live_stack.call("next_question", token=learner.token, json={"session_id": session_id}).json()
    assert second["status"] == "served"
    assert _submit(live_stack, learner.token, session_id, int(second["question"]["id"])).status_code == 200
    third = live_stack.call("next_question", token=learner.token, json={"session_id": session_id})
    assert third.status_code == 200, third.text
    assert third.json()["status"] == "exhausted"
    assert third.json()["exhausted_reason"] == "the session reached its target number of questions"


def test_a_reused_idempotency_key_with_another_body_is_refused(live_stack: LiveStack,
                                                               make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    question_id = int(live_stack.call("next_question", token=learner.token,
                                      json={"session_id": session_id}).json()["question"]["id"])
    key = f"k-{uuid.uuid4()}"
    first = _submit(live_stack, learner.token, session_id, question_id, key=key, answer=["A"])
    assert first.status_code == 200, first.text
    assert first.json()["replayed"] is False

    same = _submit(live_stack, learner.token, session_id, question_id, key=key, answer=["A"])
    assert same.status_code == 200, same.text
    assert same.json() == {**first.json(), "replayed": True}

    after_first = _footprint(live_stack, learner.user_id)
    other = _submit(live_stack, learner.token, session_id, question_id, key=key, answer=["B"])
    assert other.status_code == 409, other.text
    assert _error_code(other.json()) == "idempotency_key_reused"
    assert _footprint(live_stack, learner.user_id) == after_first
    # the same key for another served question: refused too, and that question stays answerable
    second_id = int(live_stack.call("next_question", token=learner.token,
                                    json={"session_id": session_id}).json()["question"]["id"])
    after_serving = _footprint(live_stack, learner.user_id)
    moved = _submit(live_stack, learner.token, session_id, second_id, key=key, answer=["A"])
    assert moved.status_code == 409, moved.text
    assert _error_code(moved.json()) == "idempotency_key_reused"
    assert _footprint(live_stack, learner.user_id) == after_serving
    assert _submit(live_stack, learner.token, session_id, second_id).status_code == 200


def _error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return str(error["code"]) if isinstance(error, dict) else body.get("code")


def _one(stack: LiveStack, sql: str, *args: object) -> Any:
    with psycopg.connect(stack.settings.dsn()) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    return row[0]


def test_a_learner_holds_at_most_three_active_sessions(live_stack: LiveStack,
                                                       make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    sessions = [live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
                for _ in range(5)]
    with psycopg.connect(live_stack.settings.dsn()) as conn:
        status: dict[str, str] = dict(conn.execute("select id::text, status from practice_sessions where user_id = %s",
                                   (learner.user_id,)).fetchall())
    assert [status[s] for s in sessions] == ["abandoned", "abandoned", "active", "active", "active"]
    refused = live_stack.call("next_question", token=learner.token, json={"session_id": sessions[0]})
    assert (refused.status_code, _error_code(refused.json())) == (409, "session_not_active")


def test_session_starts_over_the_hourly_limit_get_429_with_retry_after(
        live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    with psycopg.connect(live_stack.settings.dsn()) as conn:  # 30 sessions in the last hour, oldest 50 min ago
        conn.execute("""insert into practice_sessions (user_id, status, started_at, ended_at)
                        select %s, 'completed', now() - interval '50 minutes' + i * interval '1 second', now()
                        from generate_series(0, 29) i""", (learner.user_id,))
    refused = live_stack.call("start_session", token=learner.token, json={})
    assert refused.status_code == 429, refused.text
    assert _error_code(refused.json()) == "rate_limited"
    # the oldest counted start leaves the hour in 10 minutes
    assert 599 <= int(refused.headers["Retry-After"]) <= 601
    assert _one(live_stack, "select count(*) from practice_sessions where user_id = %s", learner.user_id) == 30
    record(check="session starts past 30/hour", tried=1, succeeded=0, note="429, Retry-After 600 s")


def test_answers_over_the_limit_get_429_and_change_nothing(live_stack: LiveStack,
                                                           make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    with psycopg.connect(live_stack.settings.dsn()) as conn:  # 300 answers 5 minutes ago, in an old session
        old = conn.execute("""insert into practice_sessions (user_id, status, started_at, ended_at)
                              values (%s, 'completed', now() - interval '6 minutes', now()) returning id""",
                           (learner.user_id,)).fetchone()
        assert old is not None
        conn.execute("""insert into session_questions (session_id, user_id, question_id, position, served_at,
                                                       is_correct, answered_at, idempotency_key)
                        select %s, %s, q.id, row_number() over (order by q.id), now() - interval '5 minutes',
                               true, now() - interval '5 minutes', 'old-' || q.id
                        from (select id from questions order by id limit 300) q""", (old[0], learner.user_id))
    session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    question_id = int(live_stack.call("next_question", token=learner.token,
                                      json={"session_id": session_id}).json()["question"]["id"])
    before = _footprint(live_stack, learner.user_id)
    refused = _submit(live_stack, learner.token, session_id, question_id)
    assert refused.status_code == 429, refused.text
    assert _error_code(refused.json()) == "rate_limited"
    assert 299 <= int(refused.headers["Retry-After"]) <= 301
    assert "correct_answer" not in refused.text
    assert _footprint(live_stack, learner.user_id) == before
    record(check="answers past 300 per 10 minutes", tried=1, succeeded=0, note="429, Retry-After 300 s")


def _difficulties(stack: LiveStack, question_id: int) -> list[float]:
    with psycopg.connect(stack.settings.dsn()) as conn:
        return [float(r[0]) for r in conn.execute(
            "select elo_difficulty from question_skills where question_id = %s order by skill_id",
            (question_id,)).fetchall()]


def _spread_over_hours(stack: LiveStack, learner: Learner) -> None:
    """Moves the learner's earlier sessions and serves 2 hours back, so the hourly start limit and the per-minute
    serving limit see one session at a time (what a patient attacker does)."""
    with psycopg.connect(stack.settings.dsn()) as conn:
        conn.execute("update practice_sessions set started_at = started_at - interval '2 hours' "
                     "where user_id = %s", (learner.user_id,))
        conn.execute("update session_questions set served_at = served_at - interval '2 hours' "
                     "where user_id = %s", (learner.user_id,))


def _poison(stack: LiveStack, learner: Learner, question_id: int, sessions: int) -> list[int]:
    """One account answers one question wrong in `sessions` fresh sessions (served each time, as if
    next_question picked it; spread over hours, so the start and serving limits do not stop it)."""
    statuses = []
    for _ in range(sessions):
        _spread_over_hours(stack, learner)
        session_id = stack.call("start_session", token=learner.token, json={}).json()["session_id"]
        serve_questions(stack.settings, learner.user_id, session_id, [question_id])
        statuses.append(_submit(stack, learner.token, session_id, question_id, answer=["definitely-wrong"])
                        .status_code)
    return statuses


def test_three_accounts_in_sixty_sessions_move_a_difficulty_by_at_most_one_bounded_step(
        live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    question_id = int(_one(live_stack, "select question_id from question_skills group by question_id "
                                       "having count(*) = 1 order by question_id limit 1"))
    before = _difficulties(live_stack, question_id)
    attempts_before = int(_one(live_stack, "select attempts from question_skills where question_id = %s", question_id))
    accounts, sessions = 3, 60
    learners = [make_learner() for _ in range(accounts)]
    with ThreadPoolExecutor(max_workers=accounts) as pool:
        statuses = [s for result in pool.map(lambda who: _poison(live_stack, who, question_id, sessions), learners)
                    for s in result]
    after = _difficulties(live_stack, question_id)
    moved = [a - b for a, b in zip(after, before, strict=True)]
    assert statuses == [200] * (accounts * sessions)
    # each account's first wrong answer raises it by one step clipped to 8 Elo; the other 177 move nothing
    assert all(0 < m <= 8.0 * accounts + 1e-9 for m in moved), moved
    assert _one(live_stack, "select attempts from question_skills where question_id = %s", question_id) == \
        attempts_before + accounts  # only the first answers count as attempts
    record(check=f"difficulty poisoning: {accounts} accounts × {sessions} sessions, one question wrong",
           tried=accounts * sessions, succeeded=accounts, note=f"moved {moved[0]:+.2f} Elo (bound 24; was +223)")


def test_re_answering_one_question_in_fresh_sessions_counts_once_toward_mastery(
        live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    question_id = int(_one(live_stack, "select question_id from question_skills group by question_id "
                                       "having count(*) = 1 order by question_id limit 1"))
    key = list(_one(live_stack, "select correct_answer from question_answer_keys where question_id = %s",
                    question_id))
    mastery: list[tuple[float, int, int]] = []
    replies = []
    for _ in range(30):  # spread over hours, so the start and serving limits do not stop it
        _spread_over_hours(live_stack, learner)
        session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
        serve_questions(live_stack.settings, learner.user_id, session_id, [question_id])
        reply = live_stack.call("submit_answer", token=learner.token, json={
            "session_id": session_id, "question_id": question_id, "user_answer": key, "confidence_score": 5,
            "time_spent_seconds": 1.0, "idempotency_key": f"k-{uuid.uuid4()}"})
        assert reply.status_code == 200, reply.text
        replies.append(reply.json())
        with psycopg.connect(live_stack.settings.dsn()) as conn:
            row = conn.execute("select p_mastery, total_attempts, version from user_skill_mastery "
                               "where user_id = %s", (learner.user_id,)).fetchone()
        assert row is not None
        mastery.append((float(row[0]), int(row[1]), int(row[2])))
    assert all(r["is_correct"] for r in replies)
    # the first answer is evidence; the 29 repeats are graded and stored but leave the learner's state alone
    assert mastery == [mastery[0]] * 30 and mastery[0][1:] == (1, 1)
    assert all(s["mastery_after"] == s["mastery_before"] == mastery[0][0] for r in replies[1:] for s in r["skills"])
    record(check="mastery gaming: one question re-answered in 30 fresh sessions", tried=30, succeeded=1,
           note=f"mastery {mastery[0][0]:.3f} after 1 and after 30")


def test_serving_past_twenty_a_minute_gets_429_and_serves_nothing(live_stack: LiveStack,
                                                                  make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    with psycopg.connect(live_stack.settings.dsn()) as conn:  # 20 questions served 30 s ago, in an old session
        old = conn.execute("""insert into practice_sessions (user_id, status, started_at, ended_at)
                              values (%s, 'completed', now() - interval '1 minute', now()) returning id""",
                           (learner.user_id,)).fetchone()
        assert old is not None
        conn.execute("""insert into session_questions (session_id, user_id, question_id, position, served_at)
                        select %s, %s, q.id, row_number() over (order by q.id), now() - interval '30 seconds'
                        from (select id from questions order by id limit 20) q""", (old[0], learner.user_id))
    session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    refused = live_stack.call("next_question", token=learner.token, json={"session_id": session_id})
    assert refused.status_code == 429, refused.text
    assert _error_code(refused.json()) == "rate_limited"
    assert 29 <= int(refused.headers["Retry-After"]) <= 31  # the oldest counted serve leaves the minute
    assert _one(live_stack, "select count(*) from session_questions where session_id = %s",
                uuid.UUID(session_id)) == 0
    record(check="questions served past 20 per minute", tried=1, succeeded=0, note="429, Retry-After 30 s")


def test_item_exposure_counts_serving_sessions_and_filter_sets_exactly(
        live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    question_id = int(_one(live_stack, "select min(id) from questions"))
    topic = int(_one(live_stack, "select topic_id from questions where id = %s", question_id))

    def figures() -> tuple[int, int]:
        data = _one(live_stack, "select public.item_exposure(24)")
        served = dict(zip(data["question_id"], data["served_sessions"], strict=True)).get(question_id, 0)
        sets = [f["sessions"] for f in data["filter_sets"] if f["filters"] == {"topic_ids": [topic]}]
        return int(served), int(sum(sets))

    before = figures()
    for _ in range(3):
        learner = make_learner()
        session_id = live_stack.call("start_session", token=learner.token,
                                     json={"topic_ids": [topic]}).json()["session_id"]
        serve_questions(live_stack.settings, learner.user_id, session_id, [question_id])
    live_stack.call("start_session", token=make_learner().token, json={"topic_ids": [topic]})  # served nothing
    assert figures() == (before[0] + 3, before[1] + 3)
