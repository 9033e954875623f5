"""The served predictor's state: context rows → learner.predictor dataclasses, and one answer's step → the
record_answer payload (p_answer.predictor) that private.apply_predictor_update bounds and applies.

The steps are sent as increments (the database adds them, so concurrent answers of one learner never lose
one), scaled by the answer's evidence weight (learner/evidence.py; 0 → nothing is sent and nothing moves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smartpractice.db.contexts import PredictorRead
from smartpractice.learner import predictor
from smartpractice.service.candidates import LearnerPredictor


def weights_of(read: PredictorRead) -> predictor.Weights:
    """The latest nightly weights (the plain model σ(z) when none is stored)."""
    return predictor.Weights(tuple(float(v) for v in read.weights)) if read.weights else predictor.Weights()


def learner_of(read: PredictorRead) -> predictor.LearnerGlobal:
    row = read.learner
    return predictor.LearnerGlobal() if row is None else predictor.LearnerGlobal(row.theta, row.answers, row.correct)


def skills_of(read: PredictorRead, skill_ids: Sequence[int]) -> list[predictor.SkillDeviation]:
    """The deviations of `skill_ids`, in that order (the prior for a skill never answered)."""
    rows = {r.skill_id: r for r in read.skills}
    return [predictor.SkillDeviation(rows[s].deviation, rows[s].answers, rows[s].correct) if s in rows
            else predictor.SkillDeviation() for s in skill_ids]


def served_state(read: PredictorRead) -> LearnerPredictor:
    """Everything next_question's candidates need of the learner (question difficulties come with the bank)."""
    ids = [r.skill_id for r in read.skills]
    return LearnerPredictor(learner=learner_of(read), skills=dict(zip(ids, skills_of(read, ids), strict=True)),
                            weights=weights_of(read))


def item_of(read: PredictorRead) -> tuple[predictor.ItemDifficulty, float]:
    """The question's difficulty and its served guessing floor (the nightly floor of its format, stored with the
    latest weights; 1/options, 0 for an open answer, when none is stored)."""
    item = read.item
    if item is None:
        return predictor.ItemDifficulty(), 0.0
    floor = predictor.guessing_floor(item.n_options) if item.guessing_floor is None else item.guessing_floor
    return predictor.ItemDifficulty(item.difficulty, item.answers), floor


def update_payload(*, before: predictor.LearnerGlobal, before_skills: Sequence[predictor.SkillDeviation],
                   skill_ids: Sequence[int], step: predictor.PredictorUpdate, weight: float,
                   moves_difficulty: bool) -> dict[str, Any] | None:
    """p_answer.predictor for record_answer: the weighted increments, or None when the answer carries no
    evidence (the database moves nothing then, and refuses to move anything for a repeat either)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight!r}")
    if weight == 0.0:
        return None
    return {
        "theta_step": weight * (step.learner.theta - before.theta),
        "skills": [{"skill_id": int(s), "deviation_step": weight * (after.deviation - prior.deviation)}
                   for s, prior, after in zip(skill_ids, before_skills, step.skills, strict=True)],
        "item_step": weight * step.item_delta if moves_difficulty else 0.0,
    }
