"""The production P(correct): global ability + shrunk skill deviations − item difficulty, calibrated.

Served by next_question (candidates), learned online by submit_answer (record_answer applies the bounded
steps, private.apply_predictor_update) and fitted nightly (service/maintenance_predictor.py); pure numpy.

Chosen by evidence on the evaluation harness (dev/smartpractice_dev/eval_harness.py, README "Predictor"):

    z      = θ + mean_k δ_k − b_q                                  (logits; the online "Elo" part)
    x      = [1, z, mean_k log(1+s_k), mean_k log(1+f_k), log(1+S), log(1+F), log m, new]
    P      = c + (1 − c) · σ(w · x)                                 (c = guessing floor, 1/options)

- θ: the learner's global ability; every answer moves it, so a learner's first answer in a new skill
  already uses what the other skills showed (the cold-skill gap of a per-skill Elo).
- δ_k: the skill's deviation from θ, prior 0 with a smaller K than θ: it shrinks toward the global ability
  until the skill's own answers say otherwise.
- b_q: the question's difficulty, seeded by the nightly IRT calibration (`predictor_fit.calibrate_rasch`),
  then moved online by bounded steps (|Δb| ≤ `max_item_step`, K shrinking with the question's answers).
- s_k, f_k: the learner's successes and failures on the question's skills; S, F: over all skills
  (PFA / Best-LR style counts). Their weights and the Platt-style weights on z are fitted nightly by
  `predictor_fit.fit_weights` (logistic regression with the floor, on replayed training answers).
- m: the question's number of skills (log m = 0 for a one-skill question). Success on a multi-skill question
  needs every skill (conjunctive: P ≈ Π_k σ(θ_k − b_k)), which the mean over skills in z does not express:
  with the same z, a two-skill question is answered less often than a one-skill one. Without this term the
  multi-skill questions were over-predicted and the one-skill ones under-predicted (harness 0.005-0.030 /
  0.018-0.022 on three splits, |gap| <= 0.014 with it; demo control group 0.025-0.045 / 0.004-0.027, the gap
  between the two 0.00-0.02 with it; README "Predictor", "The skill count"); its fitted weight is negative.
- new: 1 if the learner has no answer in the state of at least one of the question's skills (answers = 0:
  never answered, or only answers without evidence), else 0. θ carries the practised skills' level into a
  skill not yet learnt, and a skill without answers has δ = 0 and zero counts, which the log(1 + count) terms
  cannot tell from one answer: on real data (ASSISTments) the first answer on a skill was over-predicted by
  5-7 points without it (−0.014 to +0.006 with it, AUC +0.0025 to +0.0034). Chosen over the share of new
  skills by evidence (README "The new skill"); its fitted weight is about −0.48 there.
Each online step reads and writes only the question's skills: O(skills of the question).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from smartpractice.learner.arrays import row_sums
from smartpractice.learner.irt import FloatArray

N_FEATURES = 8
FEATURE_NAMES = ("bias", "z", "skill_successes", "skill_failures", "successes", "failures", "log_skills",
                 "new_skill")


@dataclass(frozen=True, slots=True)
class StepSchedule:
    """K(n) = max(k_min, k_max / (1 + decay · n)), in logits per unit of residual (y − p)."""

    k_max: float
    k_min: float
    decay: float

    def __post_init__(self) -> None:
        if not (0.0 < self.k_min <= self.k_max and self.decay >= 0.0):
            raise ValueError(f"need 0 < k_min <= k_max and decay >= 0, got {self!r}")

    def k(self, n: int) -> float:
        return max(self.k_min, self.k_max / (1.0 + self.decay * max(n, 0)))


@dataclass(frozen=True, slots=True)
class PredictorConfig:
    """Online step sizes (chosen on training data only; see README "Predictor")."""

    ability: StepSchedule = field(default_factory=lambda: StepSchedule(k_max=0.8, k_min=0.08, decay=0.15))
    deviation: StepSchedule = field(default_factory=lambda: StepSchedule(k_max=0.4, k_min=0.08, decay=0.1))
    item: StepSchedule = field(default_factory=lambda: StepSchedule(k_max=0.4, k_min=0.02, decay=0.05))
    max_item_step: float = 0.1  # one learner moves a shared difficulty by at most this (trust boundary)
    max_abs_logit: float = 6.0  # abilities, deviations and difficulties stay in ±6 logits


@dataclass(frozen=True, slots=True)
class Weights:
    """Calibration weights over FEATURE_NAMES; the default is the plain logistic model σ(z)."""

    values: tuple[float, ...] = (0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if len(self.values) != N_FEATURES or not all(math.isfinite(v) for v in self.values):
            raise ValueError(f"weights need {N_FEATURES} finite values, got {self.values!r}")

    def as_array(self) -> FloatArray:
        return np.asarray(self.values, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LearnerGlobal:
    """Per learner: global ability θ (logits) and answer counts over all skills."""

    theta: float = 0.0
    answers: int = 0
    correct: int = 0


@dataclass(frozen=True, slots=True)
class SkillDeviation:
    """Per learner × skill: deviation δ from θ (logits) and the skill's answer counts."""

    deviation: float = 0.0
    answers: int = 0
    correct: int = 0


@dataclass(frozen=True, slots=True)
class ItemDifficulty:
    """Per question: difficulty b (logits, 0 = average) and its answer count (drives K)."""

    difficulty: float = 0.0
    answers: int = 0


@dataclass(frozen=True, slots=True)
class Prediction:
    p_correct: float  # calibrated, with the guessing floor
    z: float  # the raw logit θ + mean δ − b
    features: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PredictorUpdate:
    prediction: Prediction
    learner: LearnerGlobal
    skills: tuple[SkillDeviation, ...]
    item_delta: float  # additive: the database applies b = b + delta


_DEFAULT_CONFIG = PredictorConfig()


def guessing_floor(n_options: int | None) -> float:
    """1/options for a multiple-choice question (0 for open answers, unknown, or fewer than 2 options)."""
    return 1.0 / n_options if n_options is not None and n_options >= 2 else 0.0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def features(*, learner: LearnerGlobal, skills: Sequence[SkillDeviation], item: ItemDifficulty) -> tuple[float, ...]:
    if not skills:
        raise ValueError("a question has at least one skill")
    m = len(skills)
    z = learner.theta + sum(s.deviation for s in skills) / m - item.difficulty
    successes = sum(math.log1p(s.correct) for s in skills) / m
    failures = sum(math.log1p(s.answers - s.correct) for s in skills) / m
    new = 1.0 if any(s.answers <= 0 for s in skills) else 0.0
    return (1.0, z, successes, failures, math.log1p(learner.correct), math.log1p(learner.answers - learner.correct),
            math.log(m), new)


def predict(*, learner: LearnerGlobal, skills: Sequence[SkillDeviation], item: ItemDifficulty,
            weights: Weights, floor: float = 0.0) -> Prediction:
    """P(correct) in [floor, 1] for one question over its skills (aligned `skills`), before the answer."""
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor must be in [0, 1), got {floor!r}")
    x = features(learner=learner, skills=skills, item=item)
    logit = sum(w * v for w, v in zip(weights.values, x, strict=True))
    return Prediction(p_correct=floor + (1.0 - floor) * _sigmoid(logit), z=x[1], features=x)


def _clip(value: float, bound: float) -> float:
    return min(bound, max(-bound, value))


def update(*, learner: LearnerGlobal, skills: Sequence[SkillDeviation], item: ItemDifficulty, is_correct: bool,
           weights: Weights, floor: float = 0.0, config: PredictorConfig | None = None) -> PredictorUpdate:
    """Predict, then learn from one answer: θ, each δ_k and b_q take one Elo step on the raw residual y − σ(z).

    The raw σ(z) (not the calibrated P) drives the steps, so the online part stays a plain logistic model
    whose scale the nightly weights can rely on.
    """
    config = config or _DEFAULT_CONFIG
    prediction = predict(learner=learner, skills=skills, item=item, weights=weights, floor=floor)
    y = 1.0 if is_correct else 0.0
    residual = y - _sigmoid(prediction.z)
    bound = config.max_abs_logit
    new_learner = LearnerGlobal(theta=_clip(learner.theta + config.ability.k(learner.answers) * residual, bound),
                                answers=learner.answers + 1, correct=learner.correct + int(is_correct))
    new_skills = tuple(
        SkillDeviation(deviation=_clip(s.deviation + config.deviation.k(s.answers) * residual, bound),
                       answers=s.answers + 1, correct=s.correct + int(is_correct))
        for s in skills)
    step = _clip(-config.item.k(item.answers) * residual, config.max_item_step)
    step = _clip(item.difficulty + step, bound) - item.difficulty
    return PredictorUpdate(prediction=prediction, learner=new_learner, skills=new_skills, item_delta=step)


def logit_grid(*, theta: float, learner_answers: int, learner_correct: int, deviations: FloatArray,
               skill_answers: FloatArray, skill_correct: FloatArray, present: npt.NDArray[np.bool_],
               difficulties: FloatArray, weights: Weights) -> FloatArray:
    """The calibrated logit w · x per candidate (before the floor): `predict_grid`'s inside."""
    m = np.maximum(row_sums(present), 1)

    def mean(values: FloatArray) -> FloatArray:
        result: FloatArray = row_sums(np.where(present, values, 0.0)) / m
        return result

    w = weights.as_array()
    z = theta + mean(deviations) - difficulties
    logit: FloatArray = (w[0] + w[1] * z + w[2] * mean(np.log1p(skill_correct))
                         + w[3] * mean(np.log1p(skill_answers - skill_correct))
                         + w[4] * math.log1p(learner_correct) + w[5] * math.log1p(learner_answers - learner_correct)
                         + w[6] * np.log(m) + w[7] * np.any(present & (skill_answers <= 0), axis=1))
    return logit


def predict_grid(*, theta: float, learner_answers: int, learner_correct: int, deviations: FloatArray,
                 skill_answers: FloatArray, skill_correct: FloatArray, present: npt.NDArray[np.bool_],
                 difficulties: FloatArray, floors: FloatArray, weights: Weights) -> FloatArray:
    """`predict` vectorised over candidates: (n, k) skill grids padded where `present` is False."""
    logit = logit_grid(theta=theta, learner_answers=learner_answers, learner_correct=learner_correct,
                       deviations=deviations, skill_answers=skill_answers, skill_correct=skill_correct,
                       present=present, difficulties=difficulties, weights=weights)
    return floored_probability(logit=logit, floor=floors)


def floored_probability(*, logit: npt.ArrayLike, floor: npt.ArrayLike) -> FloatArray:
    """P = c + (1 − c) · σ(w · x) element-wise, from calibrated logits w · x and guessing floors c."""
    c = np.asarray(floor, dtype=np.float64)
    p: FloatArray = c + (1.0 - c) / (1.0 + np.exp(-np.asarray(logit, dtype=np.float64)))
    return p


def skill_logits(*, learner: LearnerGlobal, skills: Sequence[SkillDeviation], difficulties: FloatArray,
                 weights: Weights) -> FloatArray:
    """Per skill k, the calibrated logit w · x of success on a question of k alone at difficulty b_k: ability,
    deviation AND practice counts, as `features` builds them for a one-skill question (log m = 0; new = 1 for a
    skill without answers). Selection reads it as the predictor's estimate of each skill
    (service/candidates.skill_weakness)."""
    return skill_logits_of(learner=learner, deviations=np.array([s.deviation for s in skills], dtype=np.float64),
                           answers=np.array([s.answers for s in skills], dtype=np.float64),
                           correct=np.array([s.correct for s in skills], dtype=np.float64),
                           difficulties=difficulties, weights=weights)


def skill_logits_of(*, learner: LearnerGlobal, deviations: FloatArray, answers: FloatArray, correct: FloatArray,
                    difficulties: FloatArray, weights: Weights) -> FloatArray:
    """`skill_logits` over aligned arrays of the skills' deviations (logits) and answer counts."""
    b = np.asarray(difficulties, dtype=np.float64)
    if b.shape != deviations.shape:
        raise ValueError("one difficulty per skill")
    w = weights.as_array()
    logits: FloatArray = (w[0] + w[1] * (learner.theta + deviations - b) + w[2] * np.log1p(correct)
                          + w[3] * np.log1p(answers - correct) + w[4] * math.log1p(learner.correct)
                          + w[5] * math.log1p(learner.answers - learner.correct) + w[7] * (answers <= 0))
    return logits
