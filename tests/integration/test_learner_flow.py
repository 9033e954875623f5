"""Full flow through the real functions and gateway: start → next → submit ×N → complete → insights."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import psycopg
import pytest

from smartpractice.learner.bkt import BKTParamArrays, BKTParams, update_known_conjunctive
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack


def _answer_key(stack: LiveStack, question_id: int) -> list[str]:
    with psycopg.connect(stack.settings.dsn()) as conn:
        row = conn.execute("select correct_answer from question_answer_keys where question_id = %s",
                           (question_id,)).fetchone()
    assert row is not None
    return list(row[0])


def _bkt_params(stack: LiveStack, skill_ids: list[int]) -> list[BKTParams]:
    with psycopg.connect(stack.settings.dsn()) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            "select skill_id, p_init, p_learn, p_guess, p_slip, p_forget from bkt_params where skill_id = any(%s)",
            (skill_ids,)).fetchall()}
    return [BKTParams(*rows[s]) for s in skill_ids]


def _count(stack: LiveStack, sql: str, *args: object) -> int:
    with psycopg.connect(stack.settings.dsn()) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    return int(row[0])


def test_full_practice_flow(live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    started = live_stack.call("start_session", token=learner.token, json={"mode": "adaptive"})
    assert started.status_code == 201, started.text
    session_id = started.json()["session_id"]

    for i in range(6):
        nxt = live_stack.call("next_question", token=learner.token, json={"session_id": session_id})
        assert nxt.status_code == 200, nxt.text
        body = nxt.json()
        assert body["status"] == "served"
        question = body["question"]
        assert "correct_answer" not in question
        assert 0.0 <= body["reason"]["predicted_p_correct"] <= 1.0
        key = _answer_key(live_stack, question["id"])
        answer = key if i % 3 else ["definitely-wrong"]
        submit = live_stack.call("submit_answer", token=learner.token, json={
            "session_id": session_id, "question_id": question["id"], "user_answer": answer,
            "confidence_score": 4, "time_spent_seconds": 40.0, "idempotency_key": f"k-{uuid.uuid4()}"})
        assert submit.status_code == 200, submit.text
        result = submit.json()
        assert result["is_correct"] is (i % 3 != 0)
        assert result["correct_answer"] == key
        assert result["session_progress"]["answered"] == i + 1
        # The stored update is exactly conjunctive BKT on the skills' prior values. (A wrong answer can
        # still raise a low mastery: the learning transition follows the evidence.)
        skills = result["skills"]
        expected = update_known_conjunctive(
            p_known=[k["mastery_before"] for k in skills], is_correct=result["is_correct"],
            params=BKTParamArrays.stack(_bkt_params(live_stack, [k["skill_id"] for k in skills])))
        assert [k["mastery_after"] for k in skills] == pytest.approx(list(expected), abs=1e-12)
        if result["is_correct"]:
            assert all(k["mastery_after"] > k["mastery_before"] for k in skills)

    done = live_stack.call("complete_session", token=learner.token, json={"session_id": session_id})
    assert done.status_code == 200, done.text
    snapshot = done.json()["snapshot"]
    assert snapshot["total_answered"] == 6 and snapshot["total_correct"] == 4
    sections = snapshot["predicted_scores"]["sections"]
    assert [s["section"] for s in sections] == ["math", "reading_writing"]  # the defaults: both SAT sections
    for s in sections:
        assert s["score"] is None or 200 <= s["low"] <= s["score"] <= s["high"] <= 800
    again = live_stack.call("complete_session", token=learner.token, json={"session_id": session_id})
    assert again.status_code == 200 and again.json()["already_completed"] is True
    assert _count(live_stack, "select count(*) from user_performance_snapshots where related_id = %s",
                  uuid.UUID(session_id)) == 1

    insights = live_stack.call("insights", token=learner.token, json={"days": 30})
    assert insights.status_code == 200, insights.text
    data = insights.json()
    assert len(data["mastery"]) == _count(live_stack, "select count(*) from user_skill_mastery where user_id = %s",
                                          learner.user_id)
    assert data["study_patterns"]["sessions"] == 1
    # every answer of the window counted once: 6 answers, 4 correct (columnar attempts from insights_context)
    buckets = data["confidence_calibration"]["by_confidence"]
    assert sum(b["answered"] for b in buckets) == 6
    assert sum(b["answered"] * (b["accuracy"] or 0.0) for b in buckets) == pytest.approx(4.0)
    assert data["study_patterns"]["accuracy_by_hour_bucket"]  # the answers' UTC hours land in a bucket
    # One sitting is not 3 days of history: no trend, no velocity, each with its reason.
    assert {(m["trend"], m["velocity"]) for m in data["mastery"]} == {(None, None)}
    assert all(m["velocity_reason"] for m in data["mastery"])
    # history rows: exactly one per mastery change (the trigger), i.e. one per skill per answer
    assert _count(live_stack, "select count(*) from mastery_history where user_id = %s", learner.user_id) == \
        _count(live_stack, "select coalesce(sum(total_attempts), 0) from user_skill_mastery where user_id = %s",
               learner.user_id)


def test_retry_with_same_key_replays_and_changes_nothing(live_stack: LiveStack,
                                                         make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    question = live_stack.call("next_question", token=learner.token, json={"session_id": session_id}).json()
    payload = {"session_id": session_id, "question_id": question["question"]["id"], "user_answer": ["A"],
               "time_spent_seconds": 30, "idempotency_key": "retry-key-0001"}
    first = live_stack.call("submit_answer", token=learner.token, json=payload)
    assert first.status_code == 200, first.text
    history = _count(live_stack, "select count(*) from mastery_history where user_id = %s", learner.user_id)
    for _ in range(3):
        again = live_stack.call("submit_answer", token=learner.token, json=payload)
        assert again.status_code == 200
        assert again.json()["replayed"] is True
        assert {k: v for k, v in again.json().items() if k != "replayed"} == \
            {k: v for k, v in first.json().items() if k != "replayed"}
    assert _count(live_stack, "select count(*) from mastery_history where user_id = %s", learner.user_id) == history
    assert _count(live_stack, "select count(*) from session_questions where user_id = %s and answered_at is not null",
                  learner.user_id) == 1


def test_other_learners_session_is_not_found(live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    owner, intruder = make_learner(), make_learner()
    session_id = live_stack.call("start_session", token=owner.token, json={}).json()["session_id"]
    question = live_stack.call("next_question", token=owner.token, json={"session_id": session_id}).json()
    response = live_stack.call("submit_answer", token=intruder.token, json={
        "session_id": session_id, "question_id": question["question"]["id"], "user_answer": ["A"],
        "time_spent_seconds": 30, "idempotency_key": "intruder-0001"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "session_not_found"
    completed = live_stack.call("complete_session", token=intruder.token, json={"session_id": session_id})
    assert completed.status_code == 404
    assert completed.json()["error"]["code"] == "session_not_found"
    assert _count(live_stack, "select count(*) from session_questions where user_id = %s", intruder.user_id) == 0


def test_random_strategy_serves_from_the_same_pool_and_says_so(live_stack: LiveStack,
                                                               make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    session_id = live_stack.call("start_session", token=learner.token, json={"topic_ids": [1]}).json()["session_id"]
    served = [live_stack.call("next_question", token=learner.token,
                              json={"session_id": session_id, "strategy": "random"}).json() for _ in range(3)]
    assert [s["reason"]["dominant_factor"] for s in served] == ["random"] * 3
    with psycopg.connect(live_stack.settings.dsn()) as conn:
        topics = {r[0] for r in conn.execute("select q.topic_id from session_questions sq join questions q "
                                             "on q.id = sq.question_id where sq.session_id = %s",
                                             (session_id,)).fetchall()}
        strategies = [r[0] for r in conn.execute("select selection_reason ->> 'strategy' from session_questions "
                                                 "where session_id = %s", (session_id,)).fetchall()]
    assert topics == {1}  # the session's topic filter still applies
    assert strategies == ["random"] * len(strategies) and 1 <= len(strategies) <= 3


def test_each_request_logs_its_rest_round_trips(live_stack: LiveStack, make_learner: Callable[[], Learner],
                                                caplog: pytest.LogCaptureFixture) -> None:
    learner = make_learner()
    with caplog.at_level(logging.INFO, logger="smartpractice.api.request"):
        session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
        served = live_stack.call("next_question", token=learner.token, json={"session_id": session_id}).json()
        question_id = served["question"]["id"]
        answer = {"session_id": session_id, "question_id": question_id, "user_answer": _answer_key(live_stack,
                  question_id), "time_spent_seconds": 20, "idempotency_key": f"trips-{learner.user_id}"}
        live_stack.call("submit_answer", token=learner.token, json=answer)
        live_stack.call("submit_answer", token=learner.token, json=answer)  # replay
        live_stack.call("complete_session", token=learner.token, json={"session_id": session_id})
        live_stack.call("insights", token=learner.token, method="GET")
    calls = [(r.json_fields["function"], r.json_fields["upstream_calls"])  # type: ignore[attr-defined]
             for r in caplog.records if r.name == "smartpractice.api.request"]
    # next_question: context + serve (+ the question bank when this instance's copy is older than its TTL);
    # submit: context + answer key (read in parallel) + record; a replay: context + the key prefetch.
    assert calls[0] == ("start_session", 1)
    assert calls[1][0] == "next_question" and calls[1][1] in (2, 3)
    assert calls[2:] == [("submit_answer", 3), ("submit_answer", 2), ("complete_session", 2), ("insights", 1)]
