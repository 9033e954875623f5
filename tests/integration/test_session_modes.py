"""Session modes (issue 14, deliverable 1): exam withholds results until complete_session, review serves due
skills first, topic keeps to its filter. Real functions, gateway, Postgres and RLS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from supabase import ClientOptions, create_client

from supalocal.keys import anon_key
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack


def _rows(stack: LiveStack, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.settings.dsn()) as conn:
        return conn.execute(sql, args).fetchall()


def _next(stack: LiveStack, learner: Learner, session_id: str, **body: Any) -> Any:
    reply = stack.call("next_question", token=learner.token, json={"session_id": session_id, **body})
    assert reply.status_code == 200, reply.text
    return reply.json()


def _submit(stack: LiveStack, learner: Learner, session_id: str, question_id: int, answer: list[str],
            key: str) -> Any:
    return stack.call("submit_answer", token=learner.token, json={
        "session_id": session_id, "question_id": question_id, "user_answer": answer, "confidence_score": 4,
        "time_spent_seconds": 30.0, "idempotency_key": key})


def test_an_exam_withholds_every_result_until_complete_session(live_stack: LiveStack,
                                                              make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    started = live_stack.call("start_session", token=learner.token, json={"mode": "exam", "target_questions": 3})
    assert started.status_code == 201, started.text
    session_id = started.json()["session_id"]
    keys = dict(_rows(live_stack, "select question_id, correct_answer from question_answer_keys"))
    explanations = dict(_rows(live_stack, "select question_id, explanation from question_answer_keys"))
    answered: list[tuple[int, list[str], str]] = []
    for n in range(3):
        question_id = int(_next(live_stack, learner, session_id)["question"]["id"])
        answer = list(keys[question_id]) if n != 1 else ["definitely-wrong"]
        key = f"exam-{uuid.uuid4()}"
        reply = _submit(live_stack, learner, session_id, question_id, answer, key)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["is_correct"], body["correct_answer"], body["explanation"], body["skills"], body["withheld"]) \
            == (None, None, None, [], True)
        assert body["session_progress"] == {"answered": n + 1, "correct": None, "accuracy": None}
        assert explanations[question_id] not in reply.text
        # a replay returns the same withheld response: the key does not leak through the stored result
        replay = _submit(live_stack, learner, session_id, question_id, answer, key)
        assert replay.status_code == 200 and replay.json() == {**body, "replayed": True}
        answered.append((question_id, answer, key))

    # nor through the learner's own rows over REST (the stored response is the withheld one)
    client = create_client(live_stack.url, anon_key(live_stack.settings.jwt_secret),
                           ClientOptions(headers={"Authorization": f"Bearer {learner.token}"},
                                         httpx_client=live_stack.http))
    stored = client.table("session_questions").select("question_id,response").eq("session_id", session_id).execute()
    assert len(stored.data) == 3
    assert all(row["response"]["correct_answer"] is None and row["response"]["explanation"] is None  # type: ignore[index,call-overload]
               for row in stored.data)

    completed = live_stack.call("complete_session", token=learner.token, json={"session_id": session_id})
    assert completed.status_code == 200, completed.text
    expected = [{"question_id": q, "position": i + 1, "user_answer": a, "is_correct": a == list(keys[q]),
                 "correct_answer": list(keys[q]), "explanation": explanations[q]}
                for i, (q, a, _) in enumerate(answered)]
    assert completed.json()["exam_results"] == expected
    assert [r["is_correct"] for r in expected] == [True, False, True]
    again = live_stack.call("complete_session", token=learner.token, json={"session_id": session_id})
    assert again.json()["already_completed"] is True and again.json()["exam_results"] == expected
    # other modes return results answer by answer, so complete_session has none to add
    adaptive = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    assert live_stack.call("complete_session", token=learner.token,
                           json={"session_id": adaptive}).json()["exam_results"] is None


def test_review_serves_questions_on_due_skills_first(live_stack: LiveStack,
                                                     make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    # Two practised skills: one due yesterday, one due next week. Review serves the due one's questions.
    due_skill, later_skill = (int(r[0]) for r in _rows(live_stack, """
        select skill_id from question_skills group by skill_id having count(*) >= 10 order by skill_id limit 2"""))
    with psycopg.connect(live_stack.settings.dsn()) as conn:
        conn.execute("""insert into user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery, stability,
                                                        difficulty, memory_state, last_review, due, reps)
                        values (%(u)s, %(a)s, 0.6, 0.6, 3, 5, 2, now() - interval '4 days',
                                now() - interval '1 day', 2),
                               (%(u)s, %(b)s, 0.6, 0.6, 30, 5, 2, now() - interval '1 day',
                                now() + interval '7 days', 2)""",
                     {"u": learner.user_id, "a": due_skill, "b": later_skill})
    session_id = live_stack.call("start_session", token=learner.token,
                                 json={"mode": "review", "target_questions": 5}).json()["session_id"]
    served = [_next(live_stack, learner, session_id) for _ in range(5)]
    skills = [{s["skill_id"] for s in q["question"]["skills"]} for q in served]
    assert all(due_skill in s for s in skills), skills
    assert all(q["reason"]["component_scores"]["due"] > 0.0 for q in served)
    # adaptive mode for the same learner is not restricted to the due skill (5 + 14 serves: under 20 a minute)
    adaptive = live_stack.call("start_session", token=learner.token,
                               json={"target_questions": 14}).json()["session_id"]
    spread = [{s["skill_id"] for s in _next(live_stack, learner, adaptive)["question"]["skills"]} for _ in range(14)]
    assert any(due_skill not in s for s in spread)


def test_a_topic_session_keeps_to_its_filter(live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    topic, other = (int(r[0]) for r in _rows(live_stack, """
        select topic_id from questions where is_active group by topic_id having count(*) >= 8
        order by topic_id limit 2"""))
    in_topic = {int(r[0]) for r in _rows(live_stack, "select id from questions where topic_id = %s", topic)}
    start = {"mode": "topic", "topic_ids": [topic], "target_questions": 6}
    session_id = live_stack.call("start_session", token=learner.token, json=start).json()["session_id"]
    # asking for another topic does not widen the session: nothing outside its filter is served
    outside = _next(live_stack, learner, session_id, topic_ids=[other])
    assert outside["status"] == "exhausted"
    served = [int(_next(live_stack, learner, session_id)["question"]["id"]) for _ in range(6)]
    assert set(served) <= in_topic  # (an unanswered served question may be served again: the same row)
    assert _rows(live_stack, "select count(*) from session_questions where session_id = %s", uuid.UUID(session_id)) \
        == [(len(set(served)),)]
