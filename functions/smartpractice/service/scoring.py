"""Exam prediction from stored mastery rows: the mastery route of learner.readiness over the whole bank.

Every skill counts with its topic's exam weight split evenly across the topic's skills; a skill never
practised counts at its BKT prior (so untouched content pulls the prediction down, as it should).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from smartpractice.db.contexts import Row, SkillRow, TopicRow
from smartpractice.learner.readiness import ScoreScale, predict_score_from_mastery
from smartpractice.service.states import UNPRACTISED_MASTERY

SCALE = ScoreScale(minimum=200.0, maximum=800.0, step=10.0)
CUT_SCORE = 600.0
INTERVAL_LEVEL = 0.90


@dataclass(frozen=True, slots=True)
class ExamPrediction:
    score: float
    low: float
    high: float
    pass_probability: float


def skill_weights(*, skills: Sequence[SkillRow | Row], topics: Sequence[TopicRow | Row]) -> dict[int, float]:
    # Plain rows: service/maintenance_mastery.py until it reads typed results too.
    skill_topics = [(s.id, s.topic_id) if isinstance(s, SkillRow) else (int(s["id"]), int(s["topic_id"]))
                    for s in skills]
    topic_weight = {t.id: t.exam_weight or 0.0 for t in topics if isinstance(t, TopicRow)}
    topic_weight |= {int(t["id"]): float(t.get("exam_weight") or 0.0) for t in topics if not isinstance(t, TopicRow)}
    per_topic = Counter(topic for _, topic in skill_topics)
    weights = {skill: topic_weight.get(topic, 0.0) / per_topic[topic] for skill, topic in skill_topics}
    if sum(weights.values()) <= 0.0:  # a bank without weights: every skill counts the same
        return dict.fromkeys(weights, 1.0)
    return weights


def predict_exam(*, mastery_by_skill: dict[int, float], weights: dict[int, float]) -> ExamPrediction:
    skill_ids = sorted(weights)
    mastery = np.array([mastery_by_skill.get(s, UNPRACTISED_MASTERY) for s in skill_ids], dtype=np.float64)
    prediction = predict_score_from_mastery(
        mastery=np.clip(mastery, 0.0, 1.0), exam_weight=[weights[s] for s in skill_ids], scale=SCALE,
        interval_level=INTERVAL_LEVEL,
    )
    z = NormalDist().inv_cdf(0.5 + INTERVAL_LEVEL / 2.0)
    sd = max((prediction.upper - prediction.lower) / (2.0 * z), 1e-9)
    pass_probability = 1.0 - NormalDist(prediction.score, sd).cdf(CUT_SCORE)
    return ExamPrediction(score=prediction.score, low=prediction.lower, high=prediction.upper,
                          pass_probability=float(min(1.0, max(0.0, pass_probability))))
