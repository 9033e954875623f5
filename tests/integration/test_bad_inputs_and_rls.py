"""Rejected requests change nothing; a learner's own client cannot read another learner's rows."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from supabase import create_client
from supabase.lib.client_options import SyncClientOptions

from supalocal.keys import anon_key
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack


def _rows_of(stack: LiveStack, learner: Learner) -> tuple[int, int, int]:
    with psycopg.connect(stack.settings.dsn()) as conn:
        row = conn.execute(
            """select (select count(*) from session_questions where user_id = %(u)s and answered_at is not null),
                      (select count(*) from user_skill_mastery where user_id = %(u)s),
                      (select count(*) from mastery_history where user_id = %(u)s)""",
            {"u": learner.user_id}).fetchone()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]))


def test_unknown_question_and_completed_session_change_nothing(live_stack: LiveStack,
                                                               make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    unknown = live_stack.call("submit_answer", token=learner.token, json={
        "session_id": session_id, "question_id": 99_999_999, "user_answer": ["A"], "time_spent_seconds": 5,
        "idempotency_key": "unknown-q-01"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "question_not_found"
    assert live_stack.call("complete_session", token=learner.token, json={"session_id": session_id}).status_code == 200
    served = live_stack.call("next_question", token=learner.token, json={"session_id": session_id})
    assert served.status_code == 409 and served.json()["error"]["code"] == "session_not_active"
    late = live_stack.call("submit_answer", token=learner.token, json={
        "session_id": session_id, "question_id": 1, "user_answer": ["A"], "time_spent_seconds": 5,
        "idempotency_key": "late-answer-01"})
    assert late.status_code == 409
    assert _rows_of(live_stack, learner) == (0, 0, 0)


def test_learner_client_sees_only_own_rows(live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    alice, bob = make_learner(), make_learner()
    for who in (alice, bob):
        session_id = live_stack.call("start_session", token=who.token, json={}).json()["session_id"]
        question = live_stack.call("next_question", token=who.token, json={"session_id": session_id}).json()
        answered = live_stack.call("submit_answer", token=who.token, json={
            "session_id": session_id, "question_id": question["question"]["id"], "user_answer": ["A"],
            "time_spent_seconds": 5, "idempotency_key": f"rls-{who.user_id}"})
        assert answered.status_code == 200
    client = create_client(live_stack.url, anon_key(live_stack.settings.jwt_secret),
                           SyncClientOptions(headers={"Authorization": f"Bearer {alice.token}"},
                                             httpx_client=live_stack.http))
    for table in ("session_questions", "user_skill_mastery", "mastery_history", "practice_sessions"):
        theirs = client.table(table).select("user_id").eq("user_id", str(bob.user_id)).execute().data
        mine = client.table(table).select("user_id").eq("user_id", str(alice.user_id)).execute().data
        assert theirs == [], table
        assert len(mine) >= 1, table
    keys = client.table("question_answer_keys").select("question_id").limit(5).execute
    with pytest.raises(Exception, match=r"permission denied|42501"):
        keys()
