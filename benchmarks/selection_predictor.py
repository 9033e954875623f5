"""The production predictor inside the selection benchmark (imported by bench_selection_efficiency.py).

`PredictorState` keeps, as production will, the predictor's state: per learner θ and answer counts, per
learner × skill δ_k and counts, per question b_q shared by the cohort (moved by `predictor.update`'s additive
item delta after every answer). `warm_start` is the nightly job on a PREVIOUS cohort: learners who answered
random questions of the same bank; `predictor_fit.calibrate_rasch` gives b_q and `predictor_fit.fit_weights`
the weights on features replayed through the online update (each computed before its answer). The main run's
learners are new (θ = 0, δ = 0): only the bank is warm. The simulated questions have no options, so the
guessing floor is 0 (the fitted bias absorbs the simulator's 15 % guessing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from smartpractice.learner.irt import FloatArray
from smartpractice.learner.predictor import (
    ItemDifficulty,
    LearnerGlobal,
    SkillDeviation,
    Weights,
    features,
    predict_grid,
    update,
)
from smartpractice.learner.predictor_fit import calibrate_rasch, fit_weights, leave_one_out_shift, replay
from smartpractice_dev.simulation import SimulatedCohort, SimulatedQuestion

WARM_LEARNERS, WARM_ANSWERS = 200, 40


@dataclass
class LearnerState:
    """One learner's predictor rows: θ and counts, δ_k and counts per skill."""

    learner: LearnerGlobal = field(default_factory=LearnerGlobal)
    skills: dict[int, SkillDeviation] = field(default_factory=dict)

    def skill(self, skill_id: int) -> SkillDeviation:
        return self.skills.get(skill_id, SkillDeviation())


@dataclass
class PredictorState:
    """The bank's shared difficulties and the nightly weights (the same for every policy of one seed)."""

    difficulty: FloatArray  # b_q per question (logits)
    answers: np.ndarray  # answers per question (drives the item step size)
    weights: Weights

    def copy(self) -> PredictorState:
        return PredictorState(self.difficulty.copy(), self.answers.copy(), self.weights)

    def item(self, question_id: int) -> ItemDifficulty:
        return ItemDifficulty(float(self.difficulty[question_id]), int(self.answers[question_id]))

    def record(self, state: LearnerState, question: SimulatedQuestion, is_correct: bool) -> None:
        """predictor.update after one answer: θ, δ of the question's skills, counts, and b_q += item delta."""
        qid = question.question_id
        result = update(learner=state.learner, skills=[state.skill(s) for s in question.skills],
                        item=self.item(qid), is_correct=is_correct, weights=self.weights)
        state.learner = result.learner
        for skill_id, after in zip(question.skills, result.skills, strict=True):
            state.skills[skill_id] = after
        self.difficulty[qid] += result.item_delta
        self.answers[qid] += 1

    def predicted_p(self, state: LearnerState, question_ids: np.ndarray, skill_ids: np.ndarray,
                    weights: Weights | None = None) -> FloatArray:
        """predict_grid over a pool: skill_ids (n, k) padded with −1."""
        present = skill_ids >= 0
        n_skills = int(skill_ids.max(initial=-1)) + 1
        deviation = np.zeros(max(n_skills, 1))
        answers, correct = np.zeros_like(deviation), np.zeros_like(deviation)
        for skill_id, row in state.skills.items():
            deviation[skill_id], answers[skill_id], correct[skill_id] = row.deviation, row.answers, row.correct
        grid = np.where(present, skill_ids, 0)
        return predict_grid(theta=state.learner.theta, learner_answers=state.learner.answers,
                            learner_correct=state.learner.correct, deviations=deviation[grid],
                            skill_answers=answers[grid], skill_correct=correct[grid], present=present,
                            difficulties=self.difficulty[question_ids], floors=np.zeros(len(question_ids)),
                            weights=weights or self.weights)

    def skill_ability(self, state: LearnerState, n_skills: int) -> tuple[FloatArray, FloatArray]:
        """(θ + δ_k, answers on k) per skill 0..n_skills−1: the predictor's estimate of each skill."""
        ability = np.full(n_skills, state.learner.theta)
        answers = np.zeros(n_skills)
        for skill_id, row in state.skills.items():
            ability[skill_id] += row.deviation
            answers[skill_id] = row.answers
        return ability, answers


    def skill_logit(self, state: LearnerState, n_skills: int, skill_ids: np.ndarray) -> tuple[FloatArray, FloatArray]:
        """(calibrated logit of success on a typical question of skill k alone, answers on k) per skill: the
        predictor's full w · x (ability, deviation, the practice counts AND the new-skill term while k has no answers)
        at b = the mean b_q of k's questions."""
        logits, answers = np.zeros(n_skills), np.zeros(n_skills)
        w = self.weights.as_array()
        for k in range(n_skills):
            has_k = (skill_ids == k).any(axis=1)
            b = float(self.difficulty[has_k].mean()) if has_k.any() else 0.0
            x = features(learner=state.learner, skills=[state.skill(k)], item=ItemDifficulty(b))
            logits[k] = float(w @ np.asarray(x))
            answers[k] = state.skill(k).answers
        return logits, answers


def warm_start(questions: tuple[SimulatedQuestion, ...], *, n_skills: int, mean_theta: float,
               seed: int, start: datetime, interval: timedelta, fit: bool = True) -> PredictorState:
    """A previous cohort answers random questions; fit b_q (Rasch) and, if `fit`, the weights on its replay."""
    rng = np.random.default_rng(seed)
    cohort = SimulatedCohort.random(n_learners=WARM_LEARNERS, n_skills=n_skills, rng=rng, mean_theta=mean_theta)
    learner_ix, item_ix, correct = [], [], []
    for i in range(WARM_LEARNERS):
        now = start
        for qid in rng.choice(len(questions), size=WARM_ANSWERS, replace=False):
            answer = cohort.answer(learner=i, question=questions[int(qid)], now=now, rng=rng)
            learner_ix.append(i)
            item_ix.append(int(qid))
            correct.append(int(answer.is_correct))
            now += interval
    learner, item = np.asarray(learner_ix, dtype=np.int64), np.asarray(item_ix, dtype=np.int64)
    rasch = calibrate_rasch(learner=learner, item=item, correct=correct, n_learners=WARM_LEARNERS,
                            n_items=len(questions))
    state = PredictorState(rasch.difficulty.copy(), np.zeros(len(questions), dtype=np.int64), Weights())
    if not fit:
        return state
    # The nightly job's replay (predictor_fit.replay): features taken before each answer, each from its question's
    # b WITHOUT its own outcome (leave_one_out_shift); the weights are fitted on them.
    replayed = replay(learner=learner, item=item, skills=[questions[q].skills for q in item_ix], correct=correct,
                      floor=0.0, difficulty=rasch.difficulty, weights=Weights(),
                      start_shift=leave_one_out_shift(fit=rasch, learner=learner, item=item, correct=correct))
    state.weights = fit_weights(features=replayed.features, correct=correct)
    return state
