"""Fast answers carry reduced evidence (issue 14, deliverable 4): the cheater-versus-honest scenario.

The rule (learner/evidence.py): w = clip((t − t_min/2)/(t_min/2), 0, 1) with t the SERVER's seconds from serving
to answering and t_min 6 s (multiple choice) or 10 s (numeric); each update moves w of the way. An answer given
in under half the minimum is therefore no evidence: the claim is that a learner's mastery, Elo rating and the
bank's difficulties after N such answers are exactly what they were before them, whatever the answers, the
claimed confidence or the claimed time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.figures import record
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack


def _one(stack: LiveStack, sql: str, *args: object) -> Any:
    with psycopg.connect(stack.settings.dsn()) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    return row[0]


def _practise(stack: LiveStack, learner: Learner, answers: int, *, seconds_taken: float) -> list[Any]:
    """Answers `answers` served questions with the true key (harvested from the hidden table), at confidence 5
    claiming 1 s. `seconds_taken`: how long before the answer the question was served (0: at once)."""
    with psycopg.connect(stack.settings.dsn()) as conn:
        keys: dict[int, list[str]] = dict(conn.execute(
            "select question_id, correct_answer from question_answer_keys").fetchall())
    replies = []
    session_id = ""
    for n in range(answers):
        if n % 60 == 0:
            session_id = stack.call("start_session", token=learner.token,
                                    json={"target_questions": 60}).json()["session_id"]
        served = stack.call("next_question", token=learner.token, json={"session_id": session_id})
        assert served.status_code == 200, served.text
        question_id = int(served.json()["question"]["id"])
        with psycopg.connect(stack.settings.dsn()) as conn:
            # the serving limit (20 a minute) counts the last minute: the earlier serves are moved out of it, and
            # this one back by the time the learner took
            conn.execute("""update session_questions set served_at = now() - interval '2 minutes'
                            where user_id = %s and answered_at is not null""", (learner.user_id,))
            conn.execute("""update session_questions set served_at = now() - make_interval(secs => %s)
                            where session_id = %s and question_id = %s""",
                         (seconds_taken, uuid.UUID(session_id), question_id))
        reply = stack.call("submit_answer", token=learner.token, json={
            "session_id": session_id, "question_id": question_id, "user_answer": list(keys[question_id]),
            "confidence_score": 5, "time_spent_seconds": 1.0, "idempotency_key": f"k-{uuid.uuid4()}"})
        assert reply.status_code == 200, reply.text
        replies.append(reply.json())
    return replies


def _state(stack: LiveStack, user_id: uuid.UUID) -> list[tuple[int, float, float, float, int]]:
    with psycopg.connect(stack.settings.dsn()) as conn:
        return [(int(s), float(p), float(prior), float(elo), int(n)) for s, p, prior, elo, n in conn.execute("""
            select m.skill_id, m.p_mastery, coalesce(b.p_init, 0.2), m.elo_rating, m.total_attempts
            from user_skill_mastery m left join bkt_params b using (skill_id)
            where m.user_id = %s order by m.skill_id""", (user_id,)).fetchall()]


def test_instant_answers_from_harvested_keys_lift_nothing(live_stack: LiveStack,
                                                           make_learner: Callable[[], Learner]) -> None:
    cheater, honest = make_learner(), make_learner()
    difficulties = ("select array_agg(array[elo_difficulty, attempts] order by question_id, skill_id) "
                    "from question_skills")
    difficulty_before = _one(live_stack, difficulties)

    replies = _practise(live_stack, cheater, 120, seconds_taken=0.0)
    assert all(r["is_correct"] for r in replies)
    state = _state(live_stack, cheater.user_id)
    # 120 right answers at confidence 5, each under half the plausible minimum after serving: no evidence. Every
    # skill they touched sits exactly at its prior (BKT p_init, Elo 1200); the answers are counted, nothing more.
    assert state and all(p == prior and elo == 1200.0 for _, p, prior, elo, _ in state), state
    assert sum(n for *_, n in state) >= 120
    assert all(s["mastery_after"] == s["mastery_before"] for r in replies for s in r["skills"])
    assert _one(live_stack, difficulties) == difficulty_before  # no difficulty step, no attempt counted

    # The same 10 answers taken at a human pace (40 s from serving) are evidence: mastery rises.
    _practise(live_stack, honest, 10, seconds_taken=40.0)
    honest_state = _state(live_stack, honest.user_id)
    assert any(p > prior for _, p, prior, _, _ in honest_state)
    record(check="mastery gaming: 120 instant answers from harvested keys at confidence 5", tried=120, succeeded=0,
           note=f"mastery at prior on all {len(state)} skills (honest 10 at 40 s: max "
                f"{max(p for _, p, *_ in honest_state):.3f})")
