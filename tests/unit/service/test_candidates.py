"""Selection features of a candidate pool: pinned values for a small pool worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from smartpractice.learner import predictor
from smartpractice.learner.elo import probability_not_mastered
from smartpractice.service.candidates import LOGIT, PRODUCTION_WEIGHTS, SkillView, build_candidates, global_ability
from smartpractice.service.question_bank import PoolFilter, QuestionBank

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _predicted(theta: float, deviations: list[float], difficulty: float) -> float:
    return predictor.predict(learner=predictor.LearnerGlobal(theta=theta),
                             skills=[predictor.SkillDeviation(deviation=d) for d in deviations],
                             item=predictor.ItemDifficulty(difficulty=difficulty), weights=PRODUCTION_WEIGHTS).p_correct


def test_features_of_a_small_pool() -> None:
    bank = QuestionBank.from_columns({
        "id": [10, 11, 12], "topic_id": [1, 1, 2], "subject_id": [1, 1, 1], "exam_section": ["math"] * 3,
        "skill_ids": [[1], [1, 2], [3]],
        "difficulties": [[1200.0], [1250.0, 1150.0], [1200.0]],
        "times_seen": [5, 0, 0],
    })
    pool = bank.pool(where=PoolFilter(), exclude=[], seen_ids=[10, 99], seen_epochs=[NOW.timestamp() - 3600.0, 1.0])
    views = {1: SkillView(rating=1300.0, count=10, mastery=0.8, due_score=0.3),
             2: SkillView(rating=1100.0, count=4, mastery=0.4, due_score=0.0)}  # skill 3 never practised
    candidates = build_candidates(pool=pool, views=views, prerequisites={2: [1], 3: [1, 2]}, now=NOW)

    assert candidates.question_ids.tolist() == [10, 11, 12]
    assert pool.skills_of(1) == [1, 2] and pool.skills_of(2) == [3]
    # θ: answer-weighted skill ratings in logits, shrunk by 5 prior answers: (10·100 − 4·100) / 19 points.
    theta = 600.0 / 19.0 / LOGIT
    assert global_ability(views).theta == pytest.approx(0.181783, abs=1e-6)
    d1 = (100.0 / LOGIT - theta) * 10 / 20  # deviations shrink toward θ with 10 prior answers
    d2 = (-100.0 / LOGIT - theta) * 4 / 14
    # Question 11's difficulty is the mean of its skills' (1250 and 1150 → 0 logits); skill 3 is unseen (δ 0).
    np.testing.assert_allclose(candidates.predicted_p,
                               [_predicted(theta, [d1], 0.0), _predicted(theta, [d1, d2], 0.0),
                                _predicted(theta, [0.0], 0.0)], rtol=1e-12)
    np.testing.assert_allclose(candidates.evidence, [10.0, 7.0, 0.0])
    # Σ P(not mastered) over the question's skills / 2 (the widest question has two skills)
    p1, p2, p3 = probability_not_mastered(ratings=[1300.0, 1100.0, 1200.0], answers=[10, 4, 0])
    np.testing.assert_allclose(candidates.skill_weakness, [p1 / 2, (p1 + p2) / 2, p3 / 2], rtol=1e-12)
    assert candidates.skill_weakness.tolist() == pytest.approx([0.388734, 0.875409, 0.422898], abs=1e-6)
    np.testing.assert_allclose(candidates.due_score, [0.3, 0.3, 0.0])
    # skill 1 has no prerequisites → 1; skill 2 needs 1 (0.8); skill 3 needs 1 and 2 → min 0.4
    np.testing.assert_allclose(candidates.prerequisite_readiness, [1.0, 0.8, 0.4])
    np.testing.assert_allclose(candidates.seconds_since_seen, [3600.0, np.inf, np.inf])
    np.testing.assert_allclose(candidates.exposure_count, [5.0, 0.0, 0.0])


def test_empty_pool() -> None:
    empty = QuestionBank.from_columns({"id": [], "topic_id": [], "subject_id": [], "exam_section": [],
                                       "skill_ids": [], "difficulties": [], "times_seen": []})
    assert len(empty.pool(where=PoolFilter(), exclude=[], seen_ids=[1], seen_epochs=[1.0])) == 0
