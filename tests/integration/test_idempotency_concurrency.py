"""Idempotency and concurrency through the real functions: retries count once, concurrent answers on
shared skills lose no update, concurrent completions write one snapshot.

Clients behave like the documented client: a 409 or 503 with `retryable: true` is repeated (same body,
same idempotency key) a bounded number of times; anything else is final. Deadlocks are counted in the
cluster's own log ("deadlock detected"), since the API reports 40P01 and 40001 alike as a retryable
`transaction_conflict`.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from supalocal.settings import StackSettings
from tests.figures import record
from tests.integration.conftest import Learner, LiveStack, serve_questions

pytestmark = pytest.mark.stack

N_RETRIES = 10
N_CONCURRENT = 50
N_SESSIONS = 3  # the 50 answers go to 3 sessions (a learner holds at most 3 active): same- and cross-session races
N_COMPLETERS = 10
MAX_CLIENT_ATTEMPTS = 12
RETRYABLE_STATUSES = frozenset({409, 503})
JITTER = random.Random(2026)  # retry back-off jitter: a fixed sequence (which thread draws which is scheduling)


@dataclass
class Outcome:
    """What one logical client request saw: every status of its attempts and the final response."""

    statuses: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    final_status: int = 0
    final_body: dict[str, Any] = field(default_factory=dict)

    @property
    def retryable_409s(self) -> int:
        return sum(1 for s in self.statuses[:-1] if s == 409)


def call_with_retries(stack: LiveStack, name: str, *, token: str, json: dict[str, Any],
                      http: httpx.Client | None = None) -> Outcome:
    """POST like a well-behaved client: repeat while the error says retryable (bounded, jittered)."""
    outcome = Outcome()
    client = http or stack.http
    for attempt in range(MAX_CLIENT_ATTEMPTS):
        response = client.post(f"{stack.url}/functions/v1/{name}", json=json,
                               headers={"Authorization": f"Bearer {token}"})
        body = response.json()
        outcome.statuses.append(response.status_code)
        if response.status_code >= 400:
            outcome.codes.append(body["error"]["code"])
        retryable = response.status_code in RETRYABLE_STATUSES and body["error"]["retryable"] is True
        if not retryable or attempt + 1 == MAX_CLIENT_ATTEMPTS:
            outcome.final_status, outcome.final_body = response.status_code, body
            break
        time.sleep(JITTER.uniform(0.005, 0.03) * (attempt + 1))
    return outcome


def scalar(settings: StackSettings, query: str, *args: object) -> Any:
    with psycopg.connect(settings.dsn()) as conn:
        row = conn.execute(query, args).fetchone()
    assert row is not None
    return row[0]


def question_skill_ids(settings: StackSettings, question_id: int) -> list[int]:
    with psycopg.connect(settings.dsn()) as conn:
        rows = conn.execute("select skill_id from question_skills where question_id = %s order by skill_id",
                            (question_id,)).fetchall()
    return [int(r[0]) for r in rows]


def mastery_counts(settings: StackSettings, user_id: uuid.UUID) -> dict[int, tuple[int, int]]:
    """skill_id → (total_attempts, version) of the learner's mastery rows."""
    with psycopg.connect(settings.dsn()) as conn:
        rows = conn.execute("select skill_id, total_attempts, version from user_skill_mastery where user_id = %s",
                            (user_id,)).fetchall()
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def history_counts(settings: StackSettings, user_id: uuid.UUID) -> dict[int, int]:
    with psycopg.connect(settings.dsn()) as conn:
        rows = conn.execute("select skill_id, count(*) from mastery_history where user_id = %s group by skill_id",
                            (user_id,)).fetchall()
    return {int(r[0]): int(r[1]) for r in rows}


@contextmanager
def deadlocks_logged(settings: StackSettings) -> Iterator[list[int]]:
    """Counts 'deadlock detected' lines the cluster logs inside the block (appended to the yielded list)."""
    start = settings.log_file.stat().st_size
    found: list[int] = []
    yield found
    with settings.log_file.open("rb") as handle:
        handle.seek(start)
        found.append(handle.read().count(b"deadlock detected"))


def start_session(stack: LiveStack, learner: Learner) -> str:
    response = stack.call("start_session", token=learner.token, json={})
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def submit_body(session_id: str, question_id: int, key: str) -> dict[str, Any]:
    return {"session_id": session_id, "question_id": question_id, "user_answer": ["A"], "confidence_score": 4,
            "time_spent_seconds": 25.0, "idempotency_key": key}


def _answer_events(settings: StackSettings, user_id: uuid.UUID, key: str) -> int:
    return int(scalar(settings, "select count(*) from learning_events where user_id = %s and "
                      "event_type = 'answer_submitted' and event_data ->> 'idempotency_key' = %s", user_id, key))


def _assert_counted_once(settings: StackSettings, learner: Learner, *, key: str, question_id: int,
                         before: dict[int, tuple[int, int]]) -> None:
    skills = question_skill_ids(settings, question_id)
    assert scalar(settings, "select count(*) from session_questions where user_id = %s and idempotency_key = %s "
                  "and answered_at is not null", learner.user_id, key) == 1
    after = mastery_counts(settings, learner.user_id)
    for skill_id in skills:
        old_total, old_version = before.get(skill_id, (0, 0))
        assert after[skill_id] == (old_total + 1, old_version + 1)
    assert {s: v for s, v in after.items() if s not in skills} == {s: v for s, v in before.items() if s not in skills}
    history = scalar(settings, "select count(*) from mastery_history where user_id = %s and question_id = %s",
                     learner.user_id, question_id)
    assert history == len(skills)
    assert _answer_events(settings, learner.user_id, key) == 1


def test_same_submit_retried_ten_times_counts_once(live_stack: LiveStack,
                                                   make_learner: Callable[[], Learner]) -> None:
    settings = live_stack.settings
    learner = make_learner()
    session_id = start_session(live_stack, learner)
    served = live_stack.call("next_question", token=learner.token, json={"session_id": session_id})
    assert served.status_code == 200, served.text
    question_id = int(served.json()["question"]["id"])
    key = f"retry-{uuid.uuid4()}"
    before = mastery_counts(settings, learner.user_id)

    responses = [live_stack.call("submit_answer", token=learner.token, json=submit_body(session_id, question_id, key))
                 for _ in range(N_RETRIES)]

    assert [r.status_code for r in responses] == [200] * N_RETRIES
    assert [r.json()["replayed"] for r in responses] == [False] + [True] * (N_RETRIES - 1)
    first = {k: v for k, v in responses[0].json().items() if k != "replayed"}
    assert all({k: v for k, v in r.json().items() if k != "replayed"} == first for r in responses)
    _assert_counted_once(settings, learner, key=key, question_id=question_id, before=before)
    record(check=f"same submit_answer retried {N_RETRIES}× (sequential)", tried=N_RETRIES, succeeded=N_RETRIES,
           note=f"{N_RETRIES - 1} replayed; counted once")


def test_same_submit_sent_ten_times_at_once_counts_once(live_stack: LiveStack,
                                                        make_learner: Callable[[], Learner]) -> None:
    settings = live_stack.settings
    learner = make_learner()
    session_id = start_session(live_stack, learner)
    question_id = int(scalar(settings, "select question_id from question_skills group by question_id "
                             "having count(*) = 3 order by question_id limit 1"))
    serve_questions(settings, learner.user_id, session_id, [question_id])  # submit_answer wants it served
    key = f"burst-{uuid.uuid4()}"
    before = mastery_counts(settings, learner.user_id)
    barrier = threading.Barrier(N_RETRIES)

    def send(_: int) -> Outcome:
        with httpx.Client(timeout=60.0) as http:
            barrier.wait()
            return call_with_retries(live_stack, "submit_answer", token=learner.token, http=http,
                                     json=submit_body(session_id, question_id, key))

    with ThreadPoolExecutor(max_workers=N_RETRIES) as pool:
        outcomes = list(pool.map(send, range(N_RETRIES)))

    assert [o.final_status for o in outcomes] == [200] * N_RETRIES, [o.statuses for o in outcomes]
    assert sorted(o.final_body["replayed"] for o in outcomes) == [False] + [True] * (N_RETRIES - 1)
    assert not any(s >= 500 for o in outcomes for s in o.statuses)
    _assert_counted_once(settings, learner, key=key, question_id=question_id, before=before)
    conflicts = sum(o.retryable_409s for o in outcomes)
    record(check=f"same submit_answer sent {N_RETRIES}× concurrently", tried=N_RETRIES,
           succeeded=sum(1 for o in outcomes if o.final_status == 200),
           note=f"{N_RETRIES - 1} replayed; counted once; {conflicts} retryable 409s retried")


def _shared_skill_questions(settings: StackSettings, n: int) -> list[int]:
    """n questions of the skill with most questions, multi-skill ones first: answers overlap on skills."""
    with psycopg.connect(settings.dsn()) as conn:
        rows = conn.execute(
            """with top as (select skill_id from question_skills group by skill_id order by count(*) desc, skill_id
                            limit 1)
               select qs.question_id
               from question_skills qs join top using (skill_id)
               order by (select count(*) from question_skills o where o.question_id = qs.question_id) desc,
                        qs.question_id
               limit %s""", (n,)).fetchall()
    assert len(rows) == n
    return [int(r[0]) for r in rows]


def test_concurrent_submits_on_shared_skills_lose_no_update(live_stack: LiveStack,
                                                            make_learner: Callable[[], Learner]) -> None:
    settings = live_stack.settings
    learner = make_learner()
    question_ids = _shared_skill_questions(settings, N_CONCURRENT)
    sessions = [start_session(live_stack, learner) for _ in range(N_SESSIONS)]
    jobs = [(sessions[i % N_SESSIONS], q, f"conc-{uuid.uuid4()}") for i, q in enumerate(question_ids)]
    for session_id, question_id, _ in jobs:
        serve_questions(settings, learner.user_id, session_id, [question_id])
    barrier = threading.Barrier(N_CONCURRENT)

    def submit(job: tuple[str, int, str]) -> Outcome:
        session_id, question_id, key = job
        with httpx.Client(timeout=60.0) as http:
            barrier.wait()
            return call_with_retries(live_stack, "submit_answer", token=learner.token, http=http,
                                     json=submit_body(session_id, question_id, key))

    started = time.perf_counter()
    with deadlocks_logged(settings) as deadlocks, ThreadPoolExecutor(max_workers=N_CONCURRENT) as pool:
        outcomes = list(pool.map(submit, jobs))
    seconds = time.perf_counter() - started

    server_errors = sum(1 for o in outcomes for s in o.statuses if s >= 500)
    conflicts_409 = sum(o.retryable_409s for o in outcomes)
    acknowledged = [job for job, o in zip(jobs, outcomes, strict=True) if o.final_status == 200]
    final_codes = Counter(o.final_body.get("error", {}).get("code") for o in outcomes if o.final_status != 200)
    persisted = int(scalar(settings, "select count(*) from session_questions where user_id = %s and "
                           "idempotency_key = any(%s) and answered_at is not null",
                           learner.user_id, [key for _, _, key in acknowledged]))
    expected_per_skill = Counter(s for _, q, _ in acknowledged for s in question_skill_ids(settings, q))
    record(check=f"{N_CONCURRENT} concurrent submits, one learner, shared skills", tried=N_CONCURRENT,
           succeeded=len(acknowledged), lost=len(acknowledged) - persisted, server_errors=server_errors,
           note=f"{conflicts_409} retryable 409s retried, {deadlocks[0]} deadlocks, {seconds:.1f}s")

    assert server_errors == 0
    assert deadlocks == [0]
    assert not final_codes, final_codes  # every client got its 200 within its retries
    assert len(acknowledged) == N_CONCURRENT
    assert persisted == N_CONCURRENT
    assert mastery_counts(settings, learner.user_id) == {s: (n, n) for s, n in expected_per_skill.items()}
    assert history_counts(settings, learner.user_id) == dict(expected_per_skill)
    assert scalar(settings, "select count(*) from learning_events where user_id = %s and "
                  "event_type = 'answer_submitted'", learner.user_id) == N_CONCURRENT
    # the busiest skill is on every question: the updates really did contend
    assert max(expected_per_skill.values()) == N_CONCURRENT


def test_concurrent_completions_write_one_snapshot(live_stack: LiveStack,
                                                   make_learner: Callable[[], Learner]) -> None:
    settings = live_stack.settings
    learner = make_learner()
    session_id = start_session(live_stack, learner)
    for question_id in _shared_skill_questions(settings, 3):
        serve_questions(settings, learner.user_id, session_id, [question_id])
        submitted = live_stack.call("submit_answer", token=learner.token,
                                    json=submit_body(session_id, question_id, f"pre-{uuid.uuid4()}"))
        assert submitted.status_code == 200, submitted.text
    barrier = threading.Barrier(N_COMPLETERS)

    def complete(_: int) -> Outcome:
        with httpx.Client(timeout=60.0) as http:
            barrier.wait()
            return call_with_retries(live_stack, "complete_session", token=learner.token, http=http,
                                     json={"session_id": session_id})

    with ThreadPoolExecutor(max_workers=N_COMPLETERS) as pool:
        outcomes = list(pool.map(complete, range(N_COMPLETERS)))

    record(check=f"complete_session ×{N_COMPLETERS} concurrently, same session", tried=N_COMPLETERS,
           succeeded=sum(1 for o in outcomes if o.final_status == 200),
           server_errors=sum(1 for o in outcomes for s in o.statuses if s >= 500),
           note=f"{sum(o.retryable_409s for o in outcomes)} retryable 409s; 1 snapshot row")
    assert [o.statuses for o in outcomes] == [[200]] * N_COMPLETERS
    assert sorted(o.final_body["already_completed"] for o in outcomes) == [False] + [True] * (N_COMPLETERS - 1)
    snapshots = [o.final_body["snapshot"] for o in outcomes]
    assert all(s == snapshots[0] for s in snapshots)
    assert snapshots[0]["total_answered"] == 3
    assert scalar(settings, "select count(*) from user_performance_snapshots where related_id = %s",
                  uuid.UUID(session_id)) == 1
    assert scalar(settings, "select count(*) from learning_events where user_id = %s and "
                  "event_type = 'session_completed'", learner.user_id) == 1
    assert scalar(settings, "select status from practice_sessions where id = %s", uuid.UUID(session_id)) == "completed"
