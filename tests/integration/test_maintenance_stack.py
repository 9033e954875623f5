"""run_maintenance against the local stack: real SQL RPCs through the in-process gateway.

Activity is created with start_session/record_answer (as postgres) for learners of this test only, on
a past run date (RUN_DATE): the refit windows then hold only this test's answers, and retention for
that date drops nothing (the oldest partition is 24 months before *today*). Decay, aggregates and
knowledge gaps still cover every learner in the database, as in production; assertions look only at
this test's rows. Everything created is removed afterwards (users cascade; content by its code tag).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest
from fsrs.scheduler import DEFAULT_PARAMETERS

from smartpractice.api.models import MaintenanceRequest
from smartpractice.db.repository import ServiceStore
from smartpractice.service.deps import MaintenanceDeps
from smartpractice.service.maintenance import run_maintenance
from smartpractice.service.maintenance_io import MaintenanceConfig

pytestmark = pytest.mark.stack

RUN_DATE = date(2025, 10, 15)
DAY_START = datetime(2025, 10, 15, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
N_ACTIVE, N_IDLE, N_QUESTIONS, N_SKILLS = 60, 5, 12, 3
IDLE_DAYS, IDLE_STABILITY = 12, 5.0


@dataclass(frozen=True, slots=True)
class World:
    tag: str
    active: list[str]
    idle: list[str]
    skills: list[int]
    questions: list[int]  # questions[j] is tagged with skills[j % 3]; the first half multiple choice
    correct_today: dict[str, int]
    idle_p: dict[tuple[str, int], float]

    @property
    def users(self) -> list[str]:
        return self.active + self.idle


def _one(pg: psycopg.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = pg.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _content(pg: psycopg.Connection, tag: str) -> tuple[list[int], list[int]]:
    subject = _one(pg, "insert into subjects (code, name, exam_section) values (%s, 'Maint', 'math') returning id",
                   (f"mt_{tag}",))
    topic = _one(pg, "insert into topics (subject_id, code, name, exam_weight) values (%s, %s, 'T', 1) returning id",
                 (subject, f"mt_{tag}.t"))
    skills = [_one(pg, "insert into skills (topic_id, code, name) values (%s, %s, 'S') returning id",
                   (topic, f"mt_{tag}.s{k}")) for k in range(N_SKILLS)]
    options = json.dumps([{"key": k, "text": k} for k in "ABCD"])
    questions = []
    for j in range(N_QUESTIONS):
        choice = j < N_QUESTIONS // 2
        question = _one(pg, """insert into questions (external_ref, topic_id, question_type, difficulty_label,
                                   exam_section, stem, options) values (%s, %s, %s, 'medium', 'math', 'Q', %s)
                               returning id""",
                        (f"mt_{tag}.q{j}", topic, "multiple_choice" if choice else "numeric",
                         options if choice else None))
        pg.execute("insert into question_skills (question_id, skill_id) values (%s, %s)",
                   (question, skills[j % N_SKILLS]))
        questions.append(question)
    return skills, questions


class Learner:
    """Answers through record_answer with versioned mastery items, as the answer service would."""

    def __init__(self, pg: psycopg.Connection, user_id: str) -> None:
        self.pg, self.user_id = pg, user_id
        self.version: dict[int, int] = {}
        self.p: dict[int, float] = {}

    def start(self) -> str:
        return str(_one(self.pg, "select (public.start_session(%s::uuid) ->> 'id')", (self.user_id,)))

    def answer(self, session: str, question: int, skill: int, *, correct: bool, at: datetime,
               stability: float) -> None:
        p = min(0.95, self.p.get(skill, 0.2) + (0.15 if correct else 0.02))
        item = {"skill_id": skill, "expected_version": self.version.get(skill, 0), "p_mastery": p,
                "effective_mastery": p, "stability": stability, "difficulty": 5.0, "memory_state": 2,
                "last_review": at.isoformat(), "due": (at + timedelta(days=stability)).isoformat()}
        answer = {"session_id": session, "question_id": question, "idempotency_key": str(uuid.uuid4()),
                  "user_answer": {"choice": "A"}, "is_correct": correct, "time_spent_seconds": 40,
                  "answered_at": at.isoformat()}
        self.pg.execute("select public.serve_question(%s::uuid, %s::uuid, %s, '{}'::jsonb)",
                        (self.user_id, session, question))  # record_answer accepts served questions only
        # served 40 s before the answer (its claimed time), as a learner on that day: the nightly refits learn only
        # from answers whose server time carries evidence (maintenance_io.served_evidence)
        self.pg.execute("update session_questions set served_at = %s where session_id = %s and question_id = %s",
                        (at - timedelta(seconds=40), uuid.UUID(session), question))
        status = _one(self.pg, "select public.record_answer(%s::uuid, %s::jsonb, %s::jsonb, '[]'::jsonb, '{}'::jsonb)"
                               " ->> 'status'", (self.user_id, json.dumps(answer), json.dumps([item])))
        assert status == "created"
        self.version[skill] = self.version.get(skill, 0) + 1
        self.p[skill] = p


@pytest.fixture()
def world(pg: psycopg.Connection) -> Iterator[World]:
    tag = uuid.uuid4().hex[:10]
    users = [str(uuid.uuid4()) for _ in range(N_ACTIVE + N_IDLE)]
    pg.execute("delete from maintenance_runs where run_date = %s", (RUN_DATE,))
    try:
        for user_id in users:
            pg.execute("insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id}@mt.test"))
        skills, questions = _content(pg, tag)
        rng = np.random.default_rng(2025)
        ability, difficulty = rng.normal(size=N_ACTIVE), np.linspace(-1.5, 1.5, N_QUESTIONS)
        correct_today: dict[str, int] = {}
        for i, user_id in enumerate(users[:N_ACTIVE]):
            learner = Learner(pg, user_id)
            session = learner.start()
            right = rng.random(N_QUESTIONS) < 1.0 / (1.0 + np.exp(-(ability[i] - difficulty)))
            for j, question in enumerate(questions):
                learner.answer(session, question, skills[j % N_SKILLS], correct=bool(right[j]),
                               at=DAY_START + timedelta(hours=9, minutes=j), stability=3.0)
            correct_today[user_id] = int(right.sum())
        idle_p: dict[tuple[str, int], float] = {}
        for user_id in users[N_ACTIVE:]:
            learner = Learner(pg, user_id)
            session = learner.start()
            for j in range(N_SKILLS):
                learner.answer(session, questions[j], skills[j], correct=True, stability=IDLE_STABILITY,
                               at=DAY_START - timedelta(days=IDLE_DAYS) + timedelta(hours=10, minutes=j))
                idle_p[(user_id, skills[j])] = learner.p[skills[j]]
        yield World(tag, users[:N_ACTIVE], users[N_ACTIVE:], skills, questions, correct_today, idle_p)
    finally:
        _cleanup(pg, users=users, tag=tag)


def _cleanup(pg: psycopg.Connection, *, users: list[str], tag: str) -> None:
    """Users cascade to everything they own; other tests' whole-table deletes can deadlock with us: retry."""
    for attempt in range(5):
        try:
            pg.execute("delete from auth.users where id = any(%s::uuid[])", (users,))
            pg.execute("delete from questions where external_ref like %s", (f"mt_{tag}.%",))
            pg.execute("delete from subjects where code = %s", (f"mt_{tag}",))  # topics, skills cascade
            pg.execute("delete from maintenance_runs where run_date = %s", (RUN_DATE,))
            return
        except psycopg.errors.DeadlockDetected:
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError(f"could not clean up the maintenance test data (tag {tag})")


FINGERPRINTS = {
    "user_skill_mastery": "select count(*), max(updated_at), sum(version), md5(string_agg(t::text, ',' "
                          "order by user_id, skill_id)) from user_skill_mastery t where user_id = any(%(u)s)",
    "mastery_history": "select count(*), md5(string_agg(t::text, ',' order by id)) from mastery_history t "
                       "where user_id = any(%(u)s)",
    "user_performance_snapshots": "select count(*), md5(string_agg(t::text, ',' order by id)) "
                                  "from user_performance_snapshots t where user_id = any(%(u)s)",
    "daily_user_stats": "select count(*), max(updated_at) from daily_user_stats where user_id = any(%(u)s)",
    "user_learning_metrics": "select count(*), max(updated_at) from user_learning_metrics where user_id = any(%(u)s)",
    "knowledge_gaps": "select count(*), max(updated_at) from knowledge_gaps where user_id = any(%(u)s)",
    "bkt_params": "select md5(string_agg(t::text, ',' order by skill_id)) from bkt_params t "
                  "where skill_id = any(%(s)s)",
    "question_difficulty_params": "select md5(string_agg(t::text, ',' order by question_id)) "
                                  "from question_difficulty_params t where question_id = any(%(q)s)",
    "maintenance_runs": "select md5(string_agg(t::text, ',' order by step)) from maintenance_runs t "
                        "where run_date = %(d)s",
}


def fingerprint(pg: psycopg.Connection, w: World) -> dict[str, Any]:
    params = {"u": w.users, "s": w.skills, "q": w.questions, "d": RUN_DATE}
    return {name: pg.execute(sql, params).fetchone() for name, sql in FINGERPRINTS.items()}


def expected_decay(p: float) -> float:
    decay = -float(DEFAULT_PARAMETERS[20])
    factor = 0.9 ** (1.0 / decay) - 1.0
    return p * float((1.0 + factor * IDLE_DAYS / IDLE_STABILITY) ** decay)  # 12.6 days elapsed → 12 whole


def test_full_maintenance_run_then_a_second_run_changes_nothing(
    pg: psycopg.Connection, world: World, service_store: ServiceStore
) -> None:
    deps = MaintenanceDeps(service=service_store, now=datetime.now(UTC))
    body = MaintenanceRequest(run_date=RUN_DATE, batch_size=500)
    # Small pages so every cursor continuation (content pages, snapshot_inputs, attempt_log_page) goes through
    # the gateway.
    config = MaintenanceConfig(read_page=50, snapshot_users=7, attempt_page_rows=50)
    first = run_maintenance(body=body, deps=deps, config=config)
    assert [(s.step, s.status) for s in first.steps] == [
        (step, "done") for step in ("decay", "snapshots", "aggregates", "bkt_refit", "irt_calibration",
                                    "predictor_fit", "retention", "partitions")]
    counts = {s.step: s.counts for s in first.steps}

    # decay: the idle learners' rows, 12 whole days after their last review; today's rows are fresh.
    assert counts["decay"]["rows_changed"] >= len(world.idle_p)
    decayed = pg.execute("select user_id::text, skill_id, effective_mastery from user_skill_mastery "
                         "where user_id = any(%s) and effective_mastery <> p_mastery", (world.users,)).fetchall()
    assert {(u, s): pytest.approx(expected_decay(world.idle_p[(u, s)]), abs=1e-9) for u, s, _ in decayed} == {
        (u, s): v for u, s, v in decayed}
    assert len(decayed) == len(world.idle_p)
    assert _one(pg, "select count(*) from mastery_history where user_id = any(%s) and trigger_type = 'decay'",
                (world.users,)) == len(world.idle_p)

    # snapshots: the active learners only, with the SQL's own counts of the day.
    snapshots = pg.execute("""select user_id::text, questions_answered, correct_answers, avg_mastery, predicted_score,
                                     predicted_section_scores ? 'math'
                              from user_performance_snapshots
                              where user_id = any(%s) and snapshot_type = 'daily' and snapshot_date = %s""",
                           (world.users, RUN_DATE)).fetchall()
    assert sorted(s[0] for s in snapshots) == sorted(world.active)
    assert all(s[1] == N_QUESTIONS and s[2] == world.correct_today[s[0]] for s in snapshots)
    # Their answers carried no predictor payload, so they have no predictor state: the predictor's route gives
    # no score (null, as insights says), never the mastery route's (test_insights_predictor_scores.py has scores).
    assert all(0.0 < s[3] <= 0.95 and s[4] is None and not s[5] for s in snapshots)
    assert counts["snapshots"]["learners_active"] >= N_ACTIVE
    assert counts["snapshots"]["answers"] >= N_ACTIVE * N_QUESTIONS

    # aggregates: the day's stats of this test's learners.
    assert pg.execute("select count(*), min(questions_answered), max(questions_answered) from daily_user_stats "
                      "where user_id = any(%s) and stat_date = %s", (world.users, RUN_DATE)).fetchone() == (
        N_ACTIVE, N_QUESTIONS, N_QUESTIONS)
    assert counts["aggregates"]["daily_user_stats"] >= N_ACTIVE

    # refits: every skill has 60 × 4 + 5 observations; every question ≥ 60 first attempts.
    bkt = pg.execute("select skill_id, n_obs, p_guess <= 0.3 and p_slip <= 0.3 from bkt_params "
                     "where skill_id = any(%s) order by skill_id", (world.skills,)).fetchall()
    assert bkt == [(s, N_ACTIVE * 4 + N_IDLE, True) for s in world.skills]
    irt = pg.execute("select question_id, guessing, calibrated_at is not null from question_difficulty_params "
                     "where question_id = any(%s) order by question_id", (world.questions,)).fetchall()
    assert irt == [(q, 0.25 if j < N_QUESTIONS // 2 else 0.0, True) for j, q in enumerate(world.questions)]
    difficulty = [r[0] for r in pg.execute("select difficulty from question_difficulty_params "
                                           "where question_id = any(%s) order by question_id",
                                           (world.questions,)).fetchall()]
    assert np.corrcoef(difficulty, np.linspace(-1.5, 1.5, N_QUESTIONS))[0, 1] > 0.7
    assert counts["bkt_refit"]["skills_fitted"] >= N_SKILLS and counts["irt_calibration"]["items_calibrated"] >= 12
    assert counts["retention"] == {"partitions_dropped": 0, "events_deleted": 0, "sessions_abandoned": 0}
    assert counts["partitions"] == {"partitions_created": 0, "future_months": 12}  # made 12 ahead at migration
    assert {r[0] for r in pg.execute("select step from maintenance_runs where run_date = %s",
                                     (RUN_DATE,)).fetchall()} >= set(counts)

    before = fingerprint(pg, world)
    second = run_maintenance(body=body, deps=MaintenanceDeps(service=service_store, now=datetime.now(UTC)),
                             config=config)
    assert [(s.step, s.status, s.counts) for s in second.steps] == [(s.step, "skipped", s.counts) for s in first.steps]
    assert fingerprint(pg, world) == before
