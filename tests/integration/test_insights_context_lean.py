"""insights_context after issue 16 item 3 (20261207170000–20261207170300) answers exactly what the bodies before it
answered: the previous insights_context (20261207120000, nine ordered aggregates, a latest value per skill and
window) calling the previous private.predictor_score_inputs (20261207160000, language sql, graded answers by
is_correct alone), both loaded as pg_temp functions and called in the same transaction as the same learner.
The learner has a predictor state (so the curves and the information are computed), answers over several
sessions and days (some without a recorded time, some before the window, one served and not answered) and
mastery history in two fit windows. Also: a graded row must be answered (the check of 20261207170100).
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.integration.conftest import Learner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_insights_lean

pytestmark = pytest.mark.stack


def _seed(pg: psycopg.Connection, user_id: uuid.UUID, now: datetime) -> None:
    rng = random.Random(163)
    questions = [r[0] for r in pg.execute("select id from questions where is_active order by id limit 60").fetchall()]
    skills = [r[0] for r in pg.execute("select id from skills order by id limit 6").fetchall()]
    with pg.transaction():
        pg.execute("set local session_replication_role = replica")  # the history trigger's direct-insert guard
        pg.execute("insert into learner_profiles (user_id, time_zone) values (%s, 'Asia/Kolkata')", (user_id,))
        pg.execute("insert into learner_predictor_state (user_id, theta, answers, correct) values (%s, 0.4, 48, 31)",
                   (user_id,))
        for k, skill in enumerate(skills):
            pg.execute("insert into learner_skill_predictor_state (user_id, skill_id, deviation, answers, correct) "
                       "values (%s, %s, %s, %s, %s)", (user_id, skill, 0.1 * k - 0.2, 8 + k, 5 + k // 2))
            pg.execute("insert into user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery, "
                       "total_attempts, correct_attempts) values (%s, %s, %s, %s, %s, %s)",
                       (user_id, skill, 0.4 + 0.08 * k, 0.35 + 0.08 * k, 3 * k, 2 * k))
            for _ in range(4 + 5 * k):  # skill 0: 4 points, some before the plateau window; others more
                ago = rng.uniform(0.0, 34.0)
                pg.execute("insert into mastery_history (user_id, skill_id, trigger_type, mastery_before, "
                           "mastery_after, p_mastery_after, elo_rating_after, mastery_version, created_at) "
                           "values (%s, %s, 'question', 0.5, %s, %s, 1200, 1, %s)",
                           (user_id, skill, round(rng.uniform(0.2, 0.9), 6), 0.5, now - timedelta(days=ago)))
        used = iter(questions)
        for days_ago in (40, 18, 9, 2):  # one session before the window
            start = now - timedelta(days=days_ago)
            session = pg.execute("insert into practice_sessions (user_id, mode, status, started_at, ended_at) "
                                 "values (%s, 'adaptive', 'completed', %s, %s) returning id",
                                 (user_id, start, start + timedelta(minutes=25))).fetchone()
            assert session is not None
            for position in range(1, 13):
                question = next(used)
                answered = start + timedelta(seconds=97 * position + rng.randint(0, 50))
                if days_ago == 2 and position == 12:  # served, not answered
                    pg.execute("insert into session_questions (session_id, user_id, question_id, position, "
                               "served_at) values (%s, %s, %s, %s, %s)",
                               (session[0], user_id, question, position, answered))
                    continue
                pg.execute(
                    "insert into session_questions (session_id, user_id, question_id, position, served_at, "
                    "answered_at, is_correct, user_answer, time_spent_seconds, confidence_score, idempotency_key) "
                    "values (%s, %s, %s, %s, %s, %s, %s, '[\"A\"]'::jsonb, %s, %s, %s)",
                    (session[0], user_id, question, position, answered - timedelta(seconds=40), answered,
                     rng.random() < 0.6, None if position % 5 == 0 else rng.uniform(0.5, 140.0),
                     rng.randint(1, 5), f"lean-{uuid.uuid4()}"))


def _rounded(value: Any) -> Any:
    """Every float of a JSON value to 12 decimals."""
    if isinstance(value, float):
        return round(value, 12)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _as_learner(pg: psycopg.Connection, user_id: uuid.UUID) -> None:
    pg.execute("select set_config('request.jwt.claims', %s, true)",
               (json.dumps({"sub": str(user_id), "role": "authenticated"}),))
    pg.execute("set local role authenticated")


def test_insights_context_answers_what_the_previous_bodies_answered(
        pg: psycopg.Connection, make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    now = datetime.now(UTC).replace(microsecond=0)
    _seed(pg, learner.user_id, now)
    bench_insights_lean.load_before(pg)
    since = now - timedelta(days=30)
    with pg.transaction():
        _as_learner(pg, learner.user_id)
        row = pg.execute("select public.insights_context(%s, %s)::text, pg_temp.insights_context_before(%s, %s)::text, "
                         "private.predictor_score_inputs()::text, pg_temp.predictor_score_inputs_before()::text",
                         (since, now, since, now)).fetchone()
    assert row is not None
    lean, before, inputs, inputs_before = (json.loads(r) for r in row)
    # to 1e-12: the curves' sums over buckets follow the plan's order (the served floor's join changed it,
    # 20261207210200; the last digit of a few curve points)
    assert _rounded(lean) == _rounded(before)
    assert _rounded(inputs) == _rounded(inputs_before)
    # The seed reaches what the rewritten blocks compute: 35 answers in the window over 3 sessions, in time order,
    # 6 of them without a time; both fit windows; curves and information from a predictor state.
    attempts: dict[str, list[Any]] = lean["attempts"]
    assert len(attempts["is_correct"]) == 35 and sorted(set(attempts["session_id"])) == [1, 2, 3]
    assert attempts["answered_epoch"] == sorted(attempts["answered_epoch"])
    assert attempts["time_spent_seconds"].count(None) == 6
    assert len(lean["skill_trends"]["velocity"]["skill_id"]) == 6 and lean["skill_trends"]["plateau"]["skill_id"]
    assert inputs["learner"] is not None and inputs["information"] > 0.0
    assert all(s["curve"] for s in inputs["sections"]) and sum(s["answers"] for s in inputs["sections"]) == 47


def test_a_graded_row_is_an_answered_row(pg: psycopg.Connection, make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    session = pg.execute("insert into practice_sessions (user_id, mode, status) values (%s, 'adaptive', 'active') "
                         "returning id", (learner.user_id,)).fetchone()
    assert session is not None
    pg.execute("insert into session_questions (session_id, user_id, question_id, position, served_at) "
               "select %s, %s, min(id), 1, now() from questions", (session[0], learner.user_id))
    with pytest.raises(psycopg.errors.CheckViolation, match="session_questions_graded_only_when_answered"):
        pg.execute("update session_questions set is_correct = true where session_id = %s", (session[0],))
