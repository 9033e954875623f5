"""Concurrent submits for one learner on one shared skill: no lost update, no 5xx, history consistent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.integration.conftest import Learner, LiveStack, serve_questions

pytestmark = pytest.mark.stack
N_SUBMITS = 20


def test_concurrent_submits_on_one_skill_lose_no_update(live_stack: LiveStack,
                                                        make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    with psycopg.connect(live_stack.settings.dsn()) as conn:
        skill_id, question_ids = conn.execute(
            """select skill_id, (array_agg(question_id order by question_id))[1:%s]
               from question_skills qs
               group by skill_id having count(*) >= %s order by skill_id limit 1""",
            (N_SUBMITS, N_SUBMITS)).fetchone()  # type: ignore[misc]
    session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    serve_questions(live_stack.settings, learner.user_id, session_id, list(question_ids))

    def submit(question_id: int) -> list[int]:
        statuses = []
        payload = {"session_id": session_id, "question_id": question_id, "user_answer": ["A"],
                   "time_spent_seconds": 20, "idempotency_key": f"c-{uuid.uuid4()}"}
        with httpx.Client(timeout=60.0) as http:
            for _ in range(10):  # a well-behaved client retries a retryable 409
                response = http.post(f"{live_stack.url}/functions/v1/submit_answer", json=payload,
                                     headers={"Authorization": f"Bearer {learner.token}"})
                statuses.append(response.status_code)
                if response.status_code != 409:
                    break
                assert response.json()["error"]["retryable"] is True
        return statuses

    with ThreadPoolExecutor(max_workers=N_SUBMITS) as pool:
        results = list(pool.map(submit, question_ids))

    assert all(s[-1] == 200 for s in results), results
    assert not any(code >= 500 for s in results for code in s)
    with psycopg.connect(live_stack.settings.dsn()) as conn:
        total, version = conn.execute("select total_attempts, version from user_skill_mastery "
                                      "where user_id = %s and skill_id = %s", (learner.user_id, skill_id)).fetchone()  # type: ignore[misc]
        answered = conn.execute("select count(*) from session_questions where user_id = %s and answered_at is not null",
                                (learner.user_id,)).fetchone()[0]  # type: ignore[index]
        history = conn.execute("select count(*) from mastery_history where user_id = %s and skill_id = %s",
                               (learner.user_id, skill_id)).fetchone()[0]  # type: ignore[index]
    assert answered == N_SUBMITS
    assert total == N_SUBMITS
    assert version == N_SUBMITS
    assert history == N_SUBMITS
    retried = sum(len(s) - 1 for s in results)
    print(f"\n{N_SUBMITS} concurrent submits: client-visible 409 retries = {retried}")
