"""Faults under load (~17 s, in `make test`): Postgres restarted while answers stream in; a database too slow to answer.

(a) Workers submit answers through the functions while the cluster is stopped and started again. Every
    response must be a 2xx or a clean 503 (Retry-After header, documented JSON error body, no stack trace),
    never a 500; every acknowledged (2xx) answer must be in the database afterwards; the gateway's pool
    must recover by itself.
(b) A row the write RPC needs is locked by a superuser transaction while the role the RPC runs as has a
    tiny statement_timeout (57014) or lock_timeout (55P03): the client gets a 503 with Retry-After (the
    database was too slow: wait, then retry), nothing is written, and once the lock goes the very same
    request succeeds. Every setting changed is restored in `finally`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from smartpractice.api.errors import ErrorResponse
from supalocal import cluster
from supalocal.keys import service_role_key
from supalocal.settings import StackSettings
from tests.figures import record
from tests.integration.conftest import Learner, LiveStack, serve_questions

pytestmark = pytest.mark.stack

N_WORKERS = 8
LOAD_BEFORE_STOP_S = 2.0
OUTAGE_S = 3.0
LOAD_AFTER_START_S = 6.0
QUESTIONS_PER_SESSION = 40
RECOVERY_DEADLINE_S = 20.0


# --- (a) restart under load ----------------------------------------------------------------------


@dataclass
class WorkerLog:
    """What one worker (one learner) saw: every submit's key and status, and anything malformed."""

    acknowledged: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # keys of 503-answered submits
    statuses: Counter[int] = field(default_factory=Counter)  # of every call
    submit_statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)

    @property
    def last_ack_at(self) -> float:
        return self.ack_times[-1] if self.ack_times else 0.0


def check_error(response: httpx.Response, log: WorkerLog) -> None:
    """A non-2xx answer must be a clean, documented, retryable 503 (or a retryable 409 from a version race)."""
    try:
        error = ErrorResponse.model_validate_json(response.content).error
    except ValueError:
        log.problems.append(f"{response.status_code} undocumented body: {response.text[:200]}")
        return
    log.codes[error.code] += 1
    if b"Traceback" in response.content or b'File "' in response.content:
        log.problems.append(f"stack trace in body: {response.text[:200]}")
    if response.status_code == 503:
        if not (error.retryable and response.headers.get("Retry-After", "").isdigit()):
            log.problems.append(f"503 without Retry-After/retryable: {response.headers} {response.text[:200]}")
    elif not (response.status_code == 409 and error.retryable):
        log.problems.append(f"unexpected {response.status_code}: {response.text[:300]}")


class Worker(threading.Thread):
    def __init__(self, stack: LiveStack, learner: Learner, question_ids: list[int], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.stack, self.learner, self.question_ids, self.stop = stack, learner, question_ids, stop
        self.log = WorkerLog()

    def _post(self, http: httpx.Client, name: str, body: dict[str, Any]) -> httpx.Response | None:
        try:
            response = http.post(f"{self.stack.url}/functions/v1/{name}", json=body,
                                 headers={"Authorization": f"Bearer {self.learner.token}"})
        except httpx.HTTPError as exc:  # the gateway itself must keep answering
            self.log.problems.append(f"{name}: transport error {exc!r}")
            return None
        self.log.statuses[response.status_code] += 1
        if response.status_code >= 300:
            check_error(response, self.log)
        return response

    def run(self) -> None:
        session_id: str | None = None
        position = 0
        with httpx.Client(timeout=60.0) as http:
            while not self.stop.is_set():
                if session_id is None or position == QUESTIONS_PER_SESSION:
                    started = self._post(http, "start_session", {"target_questions": QUESTIONS_PER_SESSION})
                    if started is None or started.status_code != 201:
                        time.sleep(0.2)
                        continue
                    session_id, position = str(started.json()["session_id"]), 0
                    try:  # submit_answer accepts served questions only (the database may be restarting)
                        serve_questions(self.stack.settings, self.learner.user_id, session_id, self.question_ids)
                    except psycopg.Error:
                        session_id = None
                        time.sleep(0.2)
                        continue
                key = f"fault-{uuid.uuid4()}"
                response = self._post(http, "submit_answer", {
                    "session_id": session_id, "question_id": self.question_ids[position], "user_answer": ["A"],
                    "time_spent_seconds": 12.0, "idempotency_key": key})
                position += 1
                if response is None:
                    continue
                self.log.submit_statuses[response.status_code] += 1
                if response.status_code == 200:
                    self.log.acknowledged.append(key)
                    self.log.ack_times.append(time.monotonic())
                elif response.status_code == 503:
                    self.log.unavailable.append(key)
                    time.sleep(0.1)


def persisted(settings: StackSettings, keys: list[str]) -> int:
    with psycopg.connect(settings.dsn()) as conn:
        row = conn.execute("select count(*) from session_questions where idempotency_key = any(%s) "
                           "and answered_at is not null", (keys,)).fetchone()
    assert row is not None
    return int(row[0])


def question_ids(settings: StackSettings) -> list[int]:
    with psycopg.connect(settings.dsn()) as conn:
        rows = conn.execute("select id from questions order by id limit %s", (QUESTIONS_PER_SESSION,)).fetchall()
    return [int(r[0]) for r in rows]


def test_postgres_restart_under_load_loses_no_acknowledged_answer(live_stack: LiveStack,
                                                                 make_learner: Callable[[], Learner]) -> None:
    settings = live_stack.settings
    questions = question_ids(settings)
    stop = threading.Event()
    workers = [Worker(live_stack, make_learner(), questions, stop) for _ in range(N_WORKERS)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(LOAD_BEFORE_STOP_S)
        down_at = time.monotonic()
        cluster.stop(settings, mode="fast")
        time.sleep(OUTAGE_S)
        cluster.start(settings)
        up_at = time.monotonic()
        # Run on until every worker got answers through again (the pool recovered), plus some load.
        while time.monotonic() - up_at < RECOVERY_DEADLINE_S and not all(w.log.last_ack_at > up_at + 1.0
                                                                          for w in workers):
            time.sleep(0.25)
        time.sleep(LOAD_AFTER_START_S)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=90)
        cluster.start(settings)  # whatever happened, leave the cluster running

    logs = [w.log for w in workers]
    acknowledged = [k for log in logs for k in log.acknowledged]
    statuses = sum((log.statuses for log in logs), Counter[int]())
    submit_statuses = sum((log.submit_statuses for log in logs), Counter[int]())
    codes = sum((log.codes for log in logs), Counter[str]())
    stored = persisted(settings, acknowledged)
    unavailable = [k for log in logs for k in log.unavailable]
    committed_anyway = persisted(settings, unavailable)
    recovered_after = min((t for log in logs for t in log.ack_times if t > up_at), default=float("inf")) - up_at
    record(check="postgres restart under load (submit_answer)", tried=sum(submit_statuses.values()),
           succeeded=len(acknowledged), lost=len(acknowledged) - stored,
           server_errors=sum(n for s, n in statuses.items() if s >= 500 and s != 503),
           note=f"{submit_statuses[503]} × 503 (Retry-After), {submit_statuses[409]} × 409 "
                f"(+{statuses[503] - submit_statuses[503]} start_session 503); outage {up_at - down_at:.1f}s, "
                f"first ack {recovered_after:.1f}s after start; "
                f"{committed_anyway} of the 503s committed anyway (replayable by key); codes {dict(codes)}")

    assert [p for log in logs for p in log.problems] == []
    assert {s for s in statuses if s >= 500} <= {503}
    assert statuses[503] > 0  # the outage was seen, else the test proved nothing
    assert stored == len(acknowledged)
    assert all(w.log.last_ack_at > up_at + 1.0 for w in workers), "some worker never got through after restart"


# --- (b) a database too slow to answer -----------------------------------------------------------


def gateway_uses(settings: StackSettings, stack: LiveStack, text: str) -> bool:
    """Whether a service-role request sent through the gateway now carries `text` (a role setting from the
    gateway's schema cache) in its batch: pg_stat_activity shows the batch as the connection's last query."""
    key = service_role_key(settings.jwt_secret)
    probe = stack.http.get(f"{stack.url}/rest/v1/skills", params={"select": "id", "limit": "1"},
                           headers={"apikey": key, "Authorization": f"Bearer {key}"})
    assert probe.status_code == 200, probe.text
    with psycopg.connect(settings.dsn()) as conn:
        # The probe is the gateway's latest query (nothing else runs now); the text is cut at 1 kB, but the
        # role settings come early in the batch.
        row = conn.execute("select query from pg_stat_activity where application_name like 'supalocal-gateway-%%' "
                           "order by query_start desc nulls last limit 1").fetchone()
    assert row is not None
    return text in str(row[0])


@contextmanager
def role_setting(settings: StackSettings, stack: LiveStack, role: str, name: str, value: str) -> Iterator[None]:
    """ALTER ROLE role SET name = value for the block (restored afterwards), and wait for the gateway to use it."""
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        saved = conn.execute("select s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
                             "where r.rolname = %s and s.setdatabase = 0", (role,)).fetchone()
        previous = next((item.partition("=")[2] for item in (saved[0] if saved else []) or []
                         if item.startswith(f"{name}=")), None)
        conn.execute(sql.SQL("alter role {} set {} = {}").format(sql.Identifier(role), sql.Identifier(name),
                                                                  sql.Literal(value)))
        try:
            conn.execute("notify pgrst, 'reload schema'")
            deadline = time.monotonic() + 10.0
            while not gateway_uses(settings, stack, f"set_config('{name}', '{value}'"):
                assert time.monotonic() < deadline, "the gateway never reloaded the role settings"
                time.sleep(0.1)
            yield
        finally:
            if previous is None:
                conn.execute(sql.SQL("alter role {} reset {}").format(sql.Identifier(role), sql.Identifier(name)))
            else:
                conn.execute(sql.SQL("alter role {} set {} = {}").format(sql.Identifier(role), sql.Identifier(name),
                                                                          sql.Literal(previous)))
            conn.execute("notify pgrst, 'reload schema'")
            deadline = time.monotonic() + 10.0
            while gateway_uses(settings, stack, f"set_config('{name}', '{value}'"):
                assert time.monotonic() < deadline, "the gateway kept the test's role setting"
                time.sleep(0.1)


def learner_rows(settings: StackSettings, user_id: uuid.UUID) -> tuple[int, ...]:
    with psycopg.connect(settings.dsn()) as conn:
        row = conn.execute(
            """select (select count(*) from session_questions where user_id = %(u)s and answered_at is not null),
                      (select count(*) from user_skill_mastery where user_id = %(u)s),
                      (select count(*) from mastery_history where user_id = %(u)s),
                      (select count(*) from learning_events where user_id = %(u)s),
                      (select total_interactions from practice_sessions where user_id = %(u)s),
                      (select coalesce(sum(times_seen), 0) from question_difficulty_params)""",
            {"u": user_id}).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


@pytest.mark.parametrize(("setting", "expected_code"), [("statement_timeout", "database_timeout"),
                                                        ("lock_timeout", "database_timeout")])
def test_slow_database_answers_503_changes_nothing_and_recovers(
        setting: str, expected_code: str, live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    settings = live_stack.settings
    learner = make_learner()
    session_id = live_stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    body = {"session_id": session_id, "question_id": question_ids(settings)[0], "user_answer": ["A"],
            "time_spent_seconds": 10.0, "idempotency_key": f"slow-{uuid.uuid4()}"}
    serve_questions(settings, learner.user_id, session_id, [body["question_id"]])
    before = learner_rows(settings, learner.user_id)
    attempts = 3
    responses: list[httpx.Response] = []
    with psycopg.connect(settings.dsn()) as blocker:
        # record_answer locks the session row first (FOR UPDATE): hold it so the RPC has to wait.
        blocker.execute("select 1 from practice_sessions where id = %s for update", (uuid.UUID(session_id),))
        with role_setting(settings, live_stack, "service_role", setting, "300ms"):
            for _ in range(attempts):
                started = time.perf_counter()
                responses.append(live_stack.call("submit_answer", token=learner.token, json=body))
                assert time.perf_counter() - started < 5.0  # the timeout fired; nobody waited for the lock
        during = learner_rows(settings, learner.user_id)
        blocker.rollback()
    after_release = live_stack.call("submit_answer", token=learner.token, json=body)

    errors = [ErrorResponse.model_validate_json(r.content).error for r in responses]
    record(check=f"slow DB ({setting} 300ms, row locked): submit_answer", tried=attempts + 1,
           succeeded=int(after_release.status_code == 200),
           server_errors=sum(1 for r in responses if r.status_code >= 500 and r.status_code != 503),
           note=f"{[r.status_code for r in responses]} → {after_release.status_code} after release; rows changed: "
                f"{int(during != before)}")
    assert [r.status_code for r in responses] == [503] * attempts, [r.text for r in responses]
    assert [(e.code, e.retryable) for e in errors] == [(expected_code, True)] * attempts
    assert all(r.headers["Retry-After"].isdigit() for r in responses)
    assert during == before
    assert after_release.status_code == 200, after_release.text
    assert after_release.json()["replayed"] is False
    after = learner_rows(settings, learner.user_id)
    assert after[0] == before[0] + 1 and after[3] == before[3] + 1  # one answer, one answer event
