"""Exam prediction from stored mastery rows: the mastery route of learner.readiness over the whole bank.

Every skill counts with its topic's exam weight split evenly across the topic's skills; a skill never
practised counts at its BKT prior (so untouched content pulls the prediction down, as it should).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

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


def skill_weights(*, skills: list[dict[str, Any]], topics: list[dict[str, Any]]) -> dict[int, float]:
    per_topic = Counter(int(s["topic_id"]) for s in skills)
    topic_weight = {int(t["id"]): float(t.get("exam_weight") or 0.0) for t in topics}
    weights = {int(s["id"]): topic_weight.get(int(s["topic_id"]), 0.0) / per_topic[int(s["topic_id"])]
               for s in skills}
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
