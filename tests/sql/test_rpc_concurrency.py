"""Concurrency of the write RPCs across real transactions (service role, two connections).

The first transaction holds its locks while a second one calls the same RPC from a thread; once the
second is seen waiting on a lock, the first commits. Data is committed, so each test works on its own
user and deletes it afterwards (the cascade removes every row; times_seen bumps are undone).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from supalocal.settings import StackSettings

pytestmark = pytest.mark.stack


@dataclass(frozen=True, slots=True)
class Learner:
    user_id: uuid.UUID
    session_id: uuid.UUID


def _service_conn(settings: StackSettings) -> psycopg.Connection:
    conn = psycopg.connect(settings.dsn())
    conn.execute("set role service_role")
    conn.commit()
    return conn


@pytest.fixture()
def learner(pg: psycopg.Connection) -> Iterator[Learner]:
    # auth.users.id has no default (as hosted, where Supabase Auth generates it)
    new_id = uuid.uuid4()
    user_id = pg.execute("insert into auth.users (id, email) values (%s, %s) returning id",
                         (new_id, f"concurrency-{new_id.hex[:8]}@test.local")).fetchone()
    assert user_id is not None
    session = pg.execute("select (public.start_session(%s) ->> 'id')::uuid", (user_id[0],)).fetchone()
    assert session is not None
    seen_sql = "select question_id, times_seen from public.question_difficulty_params where question_id <= 10"
    seen_before: dict[int, int] = dict(pg.execute(seen_sql).fetchall())
    yield Learner(user_id[0], session[0])
    answered = pg.execute("select question_id, count(*) from public.session_questions "
                          "where user_id = %s and answered_at is not null group by 1", (user_id[0],)).fetchall()
    for question_id, n in answered:
        if question_id in seen_before:
            pg.execute("update public.question_difficulty_params set times_seen = times_seen - %s "
                       "where question_id = %s", (n, question_id))
    pg.execute("delete from auth.users where id = %s", (user_id[0],))


def _answer(learner: Learner, *, question_id: int, key: str, expected_version: int,
            session_id: uuid.UUID | None = None) -> tuple[str, tuple[Any, ...]]:
    """record_answer on skill 1 (math.linear_equations, the primary skill of questions 1–20)."""
    answer = {"session_id": str(session_id or learner.session_id), "question_id": question_id,
              "idempotency_key": key, "is_correct": True, "user_answer": ["A"]}
    mastery = [{"skill_id": 1, "expected_version": expected_version, "p_mastery": 0.5}]
    # record_answer accepts served questions only: serve it first, in the same statement.
    return ("select public.record_answer(%s, %s, %s, %s, %s) "
            "from (select public.serve_question(%s, %s, %s, '{}')) served",
            (learner.user_id, Jsonb(answer), Jsonb(mastery), Jsonb([]), Jsonb({"key": key}),
             learner.user_id, session_id or learner.session_id, question_id))


def race(settings: StackSettings, pg: psycopg.Connection, first: Callable[[psycopg.Connection], Any],
         second: Callable[[psycopg.Connection], Any]) -> tuple[Any, Any]:
    """Run `first` in an open transaction, start `second` concurrently, commit `first` once `second` waits."""
    conn1, conn2 = _service_conn(settings), _service_conn(settings)
    outcome: dict[str, Any] = {}

    def run_second() -> None:
        try:
            outcome["value"] = second(conn2)
            conn2.commit()
        except psycopg.Error as exc:
            conn2.rollback()
            outcome["error"] = exc

    try:
        first_value = first(conn1)
        pid = conn2.info.backend_pid
        thread = threading.Thread(target=run_second)
        thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            row = pg.execute("select wait_event_type from pg_stat_activity where pid = %s", (pid,)).fetchone()
            if row is not None and row[0] == "Lock":
                break
            time.sleep(0.01)
        else:
            pytest.fail("the second call never waited for the first one's lock")
        conn1.commit()
        thread.join(timeout=10)
        return first_value, outcome.get("value", outcome.get("error"))
    finally:
        conn1.close()
        conn2.close()


def test_concurrent_completion_writes_one_snapshot(stack_settings: StackSettings, pg: psycopg.Connection,
                                                   learner: Learner) -> None:
    def complete(conn: psycopg.Connection) -> Any:
        row = conn.execute("select public.complete_session(%s, %s, '{}')",
                           (learner.user_id, learner.session_id)).fetchone()
        assert row is not None
        return row[0]

    first, second = race(stack_settings, pg, complete, complete)
    assert first["status"] == "completed"
    assert second["status"] == "already_completed"
    assert second["snapshot"]["id"] == first["snapshot"]["id"]
    count = pg.execute("select count(*) from public.user_performance_snapshots where related_id = %s",
                       (learner.session_id,)).fetchone()
    assert count == (1,)


def test_concurrent_retry_of_one_answer_is_recorded_once(stack_settings: StackSettings, pg: psycopg.Connection,
                                                         learner: Learner) -> None:
    def submit(conn: psycopg.Connection) -> Any:
        row = conn.execute(*_answer(learner, question_id=1, key="same-key", expected_version=0)).fetchone()
        assert row is not None
        return row[0]

    first, second = race(stack_settings, pg, submit, submit)
    assert first == {"status": "created", "response": {"key": "same-key"}}
    assert second == {"status": "duplicate", "response": {"key": "same-key"}}
    versions = pg.execute("select version, total_attempts from public.user_skill_mastery where user_id = %s",
                          (learner.user_id,)).fetchall()
    assert versions == [(1, 1)]


def test_concurrent_answers_on_one_skill_conflict(stack_settings: StackSettings, pg: psycopg.Connection,
                                                  learner: Learner) -> None:
    # two sessions (so the session lock does not serialise them): they meet on the mastery row
    other = pg.execute("select (public.start_session(%s) ->> 'id')::uuid", (learner.user_id,)).fetchone()
    assert other is not None
    pg.execute("select public.serve_question(%s, %s, 3, '{}')", (learner.user_id, learner.session_id))
    pg.execute("select public.record_answer(%s, %s, %s, '[]', '{}')", (
        learner.user_id, Jsonb({"session_id": str(learner.session_id), "question_id": 3, "idempotency_key": "seed",
                                "is_correct": True}),
        Jsonb([{"skill_id": 1, "expected_version": 0, "p_mastery": 0.3}])))

    def submit_in(session_id: uuid.UUID, question_id: int, key: str) -> Callable[[psycopg.Connection], Any]:
        def submit(conn: psycopg.Connection) -> Any:
            row = conn.execute(*_answer(learner, question_id=question_id, key=key, expected_version=1,
                                        session_id=session_id)).fetchone()
            assert row is not None
            return row[0]
        return submit

    first, second = race(stack_settings, pg, submit_in(learner.session_id, 1, "k1"), submit_in(other[0], 2, "k2"))
    assert first["status"] == "created"
    assert isinstance(second, psycopg.Error)
    assert second.sqlstate == "PT409"
    assert second.diag.message_primary == "mastery_version_conflict"
    row = pg.execute("select version from public.user_skill_mastery where user_id = %s and skill_id = 1",
                     (learner.user_id,)).fetchone()
    assert row == (2,)

