"""Selection features of a candidate pool: pinned values for a small pool worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from smartpractice.learner import predictor
from smartpractice.learner.elo import probability_not_mastered
from smartpractice.service.candidates import PREDICTOR_MASTERY_LOGIT, LearnerPredictor, SkillView, build_candidates
from smartpractice.service.question_bank import PoolFilter, QuestionBank

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


STATE = LearnerPredictor(
    learner=predictor.LearnerGlobal(theta=0.4, answers=14, correct=9),
    skills={1: predictor.SkillDeviation(deviation=0.3, answers=10, correct=7),
            2: predictor.SkillDeviation(deviation=-0.5, answers=4, correct=1)},  # skill 3 never practised
    weights=predictor.Weights((0.1, 0.8, -0.05, 0.3, 0.01, -0.04, -0.3, -0.45)))


def test_features_of_a_small_pool() -> None:
    bank = QuestionBank.from_columns({
        "id": [10, 11, 12], "topic_id": [1, 1, 2], "subject_id": [1, 1, 1], "exam_section": ["math"] * 3,
        "skill_ids": [[1], [1, 2], [3]],
        "difficulties": [[1200.0], [1250.0, 1150.0], [1200.0]],
        "times_seen": [5, 0, 0], "predictor_difficulty": [0.2, -0.7, 1.1], "n_options": [4, 0, 5],
    })
    pool = bank.pool(where=PoolFilter(), exclude=[], seen_ids=[10, 99], seen_epochs=[NOW.timestamp() - 3600.0, 1.0])
    views = {1: SkillView(rating=1300.0, count=10, mastery=0.8, due_score=0.3),
             2: SkillView(rating=1100.0, count=4, mastery=0.4, due_score=0.0)}  # skill 3 never practised
    candidates = build_candidates(pool=pool, views=views, prerequisites={2: [1], 3: [1, 2]}, now=NOW, state=STATE)

    assert candidates.question_ids.tolist() == [10, 11, 12]
    assert pool.skills_of(1) == [1, 2] and pool.skills_of(2) == [3]
    # the served P(correct) is the pure predictor's, question by question (floors 1/4, open answer, 1/5)
    expected = [predictor.predict(learner=STATE.learner, skills=[STATE.skills.get(s, predictor.SkillDeviation())
                                                                 for s in skills],
                                  item=predictor.ItemDifficulty(b), weights=STATE.weights, floor=floor).p_correct
                for skills, b, floor in (([1], 0.2, 0.25), ([1, 2], -0.7, 0.0), ([3], 1.1, 0.2))]
    np.testing.assert_allclose(candidates.predicted_p, expected, rtol=1e-12)
    # z = 0.4 + 0.3 − 0.2 = 0.5; x = [1, 0.5, log 8, log 4, log 10, log 6, log 1 = 0 (one skill), 0 (practised)]
    assert candidates.predicted_p[0] == pytest.approx(0.761548, abs=1e-6)  # 1/4 + 3/4 σ(w · x)
    # mean answers on the question's skills + 14 answers over the 2 skills practised
    np.testing.assert_allclose(candidates.evidence, [17.0, 14.0, 7.0])
    # Σ P(skill below the bar) over the question's skills / 2 (the widest question has two skills), from the
    # predictor's per-skill logit at the mean b of the pool's questions on the skill (1: −0.25, 2: −0.7, 3: 1.1)
    w, theta = STATE.weights.values, 0.4
    # Relative practice (learning curve): mean answers over the practised skills 1, 2 = 7 → shifts 0.2 · (10 − 7)
    # = +0.6, 0.2 · (4 − 7) = −0.6, and skill 3 (never practised) 0.2 · (0 − 7) = −1.4, capped at −1 logit.
    def below(deviation: float, answers: int, correct: int, b: float, shift: float) -> float:
        x = (1.0, theta + deviation - b, np.log1p(correct), np.log1p(answers - correct), np.log1p(9), np.log1p(5),
             0.0, float(answers == 0))  # a question of the skill alone: log 1 skill, new if never answered
        logit = float(np.dot(w, x)) + shift
        return float(1.0 / (1.0 + np.exp(-1.702 * (PREDICTOR_MASTERY_LOGIT - logit) * np.sqrt(1.0 + 0.2 * answers))))
    p1, p2, p3 = below(0.3, 10, 7, -0.25, 0.6), below(-0.5, 4, 1, -0.7, -0.6), below(0.0, 0, 0, 1.1, -1.0)
    np.testing.assert_allclose(candidates.skill_weakness, [p1 / 2, (p1 + p2) / 2, p3 / 2], rtol=1e-12)
    # skill 3 has no answers: its logit carries the new-skill weight (before the 8th weight, 0.489523)
    assert candidates.skill_weakness.tolist() == pytest.approx([0.026850, 0.392263, 0.495074], abs=1e-6)
    np.testing.assert_allclose(candidates.due_score, [0.3, 0.3, 0.0])
    # skill 1 has no prerequisites → 1; skill 2 needs 1 (0.8); skill 3 needs 1 and 2 → min 0.4
    np.testing.assert_allclose(candidates.prerequisite_readiness, [1.0, 0.8, 0.4])
    np.testing.assert_allclose(candidates.seconds_since_seen, [3600.0, np.inf, np.inf])
    np.testing.assert_allclose(candidates.exposure_count, [5.0, 0.0, 0.0])


def test_weakness_reads_the_predictor_logit_where_the_view_has_one() -> None:
    bank = QuestionBank.from_columns({
        "id": [10, 11], "topic_id": [1, 1], "subject_id": [1, 1], "exam_section": ["math"] * 2,
        "skill_ids": [[1], [1, 2]], "difficulties": [[1200.0], [1250.0, 1150.0]], "times_seen": [0, 0],
    })
    pool = bank.pool(where=PoolFilter(), exclude=[], seen_ids=[], seen_epochs=[])
    # Skill 1: predictor logit 1.0 over 5 answers (its Elo rating is ignored); skill 2: Elo only.
    views = {1: SkillView(rating=1900.0, count=5, mastery=0.8, due_score=0.0, predictor_logit=1.0),
             2: SkillView(rating=1100.0, count=4, mastery=0.4, due_score=0.0)}
    candidates = build_candidates(pool=pool, views=views, prerequisites={}, now=NOW)
    p1 = 1.0 / (1.0 + np.exp(-1.702 * (PREDICTOR_MASTERY_LOGIT - 1.0) * np.sqrt(2.0)))  # precision 1 + 0.2·5
    (p2,) = probability_not_mastered(ratings=[1100.0], answers=[4])
    np.testing.assert_allclose(candidates.skill_weakness, [p1 / 2, (p1 + p2) / 2], rtol=1e-12)
    assert candidates.skill_weakness[0] == pytest.approx(0.176972, abs=1e-6)


def test_with_the_predictor_state_weakness_reads_its_per_skill_logits_at_the_pools_mean_difficulty() -> None:
    bank = QuestionBank.from_columns({
        "id": [10, 11, 12], "topic_id": [1, 1, 1], "subject_id": [1, 1, 1], "exam_section": ["math"] * 3,
        "skill_ids": [[1], [1, 2], [2]], "difficulties": [[1200.0], [1250.0, 1150.0], [1100.0]],
        "times_seen": [0, 0, 0], "predictor_difficulty": [0.4, -0.2, 1.0],
    })
    pool = bank.pool(where=PoolFilter(), exclude=[], seen_ids=[], seen_epochs=[])
    weights = predictor.Weights(values=(0.1, 0.9, 0.05, -0.1, 0.02, -0.03, -0.4, -0.45))
    state = LearnerPredictor(learner=predictor.LearnerGlobal(theta=0.3, answers=12, correct=8),
                             skills={1: predictor.SkillDeviation(deviation=0.5, answers=6, correct=5)}, weights=weights)
    views = {1: SkillView(rating=900.0, count=40, mastery=0.2, due_score=0.0)}
    candidates = build_candidates(pool=pool, views=views, prerequisites={}, now=NOW, state=state)
    # skill 1: questions 10, 11 → mean b 0.1; skill 2 (never practised): questions 11, 12 → mean b 0.4
    def logit(deviation: float, answers: int, correct: int, b: float) -> float:
        x = (1.0, 0.3 + deviation - b, np.log1p(correct), np.log1p(answers - correct), np.log1p(8), np.log1p(4), 0.0,
             float(answers == 0))  # a question of the skill alone: log m = 0, new if the skill has no answers
        return float(np.dot(weights.values, x))
    # Only skill 1 is practised (the mean over practised skills is its own 6 answers: no shift); skill 2, never
    # practised, sits 0.2 · 6 = 1.2 logits lower, capped at 1.
    p1 = 1.0 / (1.0 + np.exp(-1.702 * (PREDICTOR_MASTERY_LOGIT - logit(0.5, 6, 5, 0.1)) * np.sqrt(1.0 + 0.2 * 6)))
    p2 = 1.0 / (1.0 + np.exp(-1.702 * (PREDICTOR_MASTERY_LOGIT - (logit(0.0, 0, 0, 0.4) - 1.0))))
    np.testing.assert_allclose(candidates.skill_weakness, [p1 / 2, (p1 + p2) / 2, p2 / 2], rtol=1e-12)


def test_empty_pool() -> None:
    empty = QuestionBank.from_columns({"id": [], "topic_id": [], "subject_id": [], "exam_section": [],
                                       "skill_ids": [], "difficulties": [], "times_seen": []})
    assert len(empty.pool(where=PoolFilter(), exclude=[], seen_ids=[1], seen_epochs=[1.0])) == 0


def test_the_bank_serves_the_stored_floors_when_the_database_sends_them() -> None:
    columns: dict[str, list[Any]] = {
               "id": [10, 11], "topic_id": [1, 1], "subject_id": [1, 1], "exam_section": ["math"] * 2,
               "skill_ids": [[1], [2]], "difficulties": [[1200.0], [1200.0]], "times_seen": [0, 0],
               "predictor_difficulty": [0.0, 0.0], "n_options": [4, 0]}
    np.testing.assert_array_equal(QuestionBank.from_columns(columns).floors, [0.25, 0.0])
    served = QuestionBank.from_columns({**columns, "guessing_floor": [0.17, 0.06]}).floors
    np.testing.assert_array_equal(served, [0.17, 0.06])
