"""Multi-skill Elo: learner rating per skill, question difficulty per question × skill (seed 003).

Per skill k of a question (seed 003):  E_k = 1 / (1 + 10^((D_k - R_k) / 400)).

Combining skills (decided): conjunctive, like `bkt` — the answer is right only if every skill succeeds,
so  P = Π_k E_k  (a one-skill question is exactly classic Elo).  The update is one stochastic-gradient
step on the log-loss of that model with the performance score y ∈ [0, 1] as the target:

    ΔR_k = K_learner,k · g_k,    ΔD_k = -K_question,k · g_k,    g_k = (1 - E_k) (y - P) / (1 - P).

With one skill g = y - E: the seed's ΔR = K (Actual - Expected).  With several, the skill with the lower
E_k gets the larger share of a failure and of a success (credit assignment, seed's "asymmetric
updates"), and |g_k| ≤ 1 because 1 - P ≥ 1 - E_k.  Difficulties are returned as ADDITIVE deltas:
the database applies d = d + delta so concurrent answers to one question never conflict.

Uncertainty-scaled K: K(n) = max(K_min, K_max / (1 + decay · n)) for n previous attempts — the shape
of a Gaussian rating's posterior variance after n observations (σ²_n = σ²_0 / (1 + n σ²_0 / τ²)),
floored so learner ratings keep tracking learning.  `next_learner_k` is the uncertainty to store/show.

Performance score (seed 003): clamp(raw · time_factor · confidence_factor, 0, 1) with
time_factor = clamp(expected_time / max(time_spent, min_time), 0.8, 1.2) and confidence_factor 1.1 for
high confidence (≥ 4) with raw > 0.7, 0.9 for high confidence otherwise, 1.0 else; missing → 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartpractice.errors import FieldError
from smartpractice.learner.bkt import FloatArray, ParamsValidationError

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class KSchedule:
    """K(n) = max(k_min, k_max / (1 + decay · n))."""

    k_max: float
    k_min: float
    decay: float

    def __post_init__(self) -> None:
        errors = []
        if not 0.0 < self.k_min <= self.k_max:
            errors.append(FieldError("k_min", f"must satisfy 0 < k_min <= k_max, got {self.k_min!r}"))
        if not self.decay >= 0.0:
            errors.append(FieldError("decay", f"must be >= 0, got {self.decay!r}"))
        if errors:
            raise ParamsValidationError(errors)

    def k(self, attempts: ArrayLike) -> FloatArray:
        n = np.maximum(np.asarray(attempts, dtype=np.float64), 0.0)
        return np.maximum(self.k_min, self.k_max / (1.0 + self.decay * n))


@dataclass(frozen=True, slots=True)
class EloConfig:
    learner_k: KSchedule = field(default_factory=lambda: KSchedule(k_max=64.0, k_min=16.0, decay=0.1))
    question_k: KSchedule = field(default_factory=lambda: KSchedule(k_max=48.0, k_min=8.0, decay=0.05))
    scale: float = 400.0
    initial_rating: float = 1200.0


@dataclass(frozen=True, slots=True)
class PerformanceConfig:
    """Seed 003 `_calculate_performance_score` constants, made configurable."""

    expected_time_seconds: float = 300.0
    min_time_seconds: float = 60.0
    time_factor_bounds: tuple[float, float] = (0.8, 1.2)
    high_confidence: int = 4
    confident_correct_factor: float = 1.1
    confident_wrong_factor: float = 0.9
    correct_threshold: float = 0.7


@dataclass(frozen=True, slots=True)
class EloUpdate:
    """Result of one answer. Arrays are per skill of the question, in the order given."""

    expected_per_skill: FloatArray  # E_k
    expected_correct: float  # P = Π E_k, before the update
    score: float  # y used as the target
    learner_ratings: FloatArray  # new R_k
    learner_attempts: IntArray  # n_k + 1
    learner_k: FloatArray  # K used for R_k
    next_learner_k: FloatArray  # K for the next attempt: the rating's remaining uncertainty
    difficulty_deltas: FloatArray  # add to D_k in the database
    question_k: FloatArray  # K used for D_k


# The defaults, built once (frozen): `config or X()` per call rebuilt and re-validated them on every answer.
DEFAULT_ELO_CONFIG = EloConfig()
_DEFAULT_PERFORMANCE = PerformanceConfig()


def performance_score(
    *,
    raw_score: float,
    time_spent_seconds: float | None,
    confidence: int | None,
    expected_time_seconds: float | None = None,
    config: PerformanceConfig | None = None,
) -> float:
    """Seed 003 performance score in [0, 1] from correctness (or partial credit), time and confidence."""
    config = config or _DEFAULT_PERFORMANCE
    if not 0.0 <= raw_score <= 1.0:
        raise ValueError(f"raw_score must be in [0, 1], got {raw_score!r}")
    if confidence is not None and not 1 <= confidence <= 5:
        raise ValueError(f"confidence must be 1..5, got {confidence!r}")
    time_factor = 1.0
    if time_spent_seconds is not None:
        expected = config.expected_time_seconds if expected_time_seconds is None else expected_time_seconds
        low, high = config.time_factor_bounds
        time_factor = min(high, max(low, expected / max(time_spent_seconds, config.min_time_seconds)))
    confidence_factor = 1.0
    if confidence is not None and confidence >= config.high_confidence:
        correct = raw_score > config.correct_threshold
        confidence_factor = config.confident_correct_factor if correct else config.confident_wrong_factor
    return min(1.0, max(0.0, raw_score * time_factor * confidence_factor))


def expected_scores(
    *, learner_ratings: ArrayLike, difficulties: ArrayLike, scale: float = 400.0
) -> FloatArray:
    """Elo expected score E = 1 / (1 + 10^((D − R) / scale)) element-wise, i.e. P(correct) on one skill.

    Args:
        learner_ratings: Learner ratings R in Elo points (new learners start at 1200); broadcast with D.
        difficulties: Question difficulties D per skill, in Elo points on the same scale; NaN propagates.
        scale: Rating points for a factor of 10 in the odds (400: D − R = 400 gives E ≈ 0.09).

    Returns:
        Float array of E in [0, 1] (0.5 when D = R), strictly inside (0, 1) for realistic rating gaps.
    """
    gap = np.asarray(difficulties, dtype=np.float64) - np.asarray(learner_ratings, dtype=np.float64)
    return 1.0 / (1.0 + np.power(10.0, gap / scale))


def expected_correct(*, learner_ratings: ArrayLike, difficulties: ArrayLike, scale: float = 400.0) -> float:
    """P(correct) of one question over its skills: Π_k E_k."""
    per_skill = expected_scores(learner_ratings=learner_ratings, difficulties=difficulties, scale=scale)
    return float(np.prod(per_skill))


def _credit(expected: FloatArray, score: float, scale: float, gap: FloatArray) -> tuple[float, FloatArray]:
    """(P, g_k) computed in log space so 1 - P stays exact when every E_k is close to 1."""
    log_expected = -np.log1p(np.power(10.0, gap / scale))
    miss_all = float(-np.expm1(log_expected.sum()))  # 1 - P
    p_all = 1.0 - miss_all
    equal_split = np.full_like(expected, 1.0 / expected.size)  # limit when every E_k → 1 together
    share = np.divide(1.0 - expected, miss_all, out=equal_split, where=miss_all > 0)
    return p_all, share * (score - p_all)


def update_ratings(
    *,
    learner_ratings: ArrayLike,
    learner_attempts: ArrayLike,
    difficulties: ArrayLike,
    question_attempts: ArrayLike,
    score: float,
    config: EloConfig | None = None,
) -> EloUpdate:
    """One answer to a question over K skills; every array argument has shape (K,)."""
    config = config or DEFAULT_ELO_CONFIG
    ratings = np.array(learner_ratings, dtype=np.float64)
    difficulty = np.array(difficulties, dtype=np.float64)
    attempts = np.array(learner_attempts, dtype=np.int64)
    seen = np.array(question_attempts, dtype=np.int64)
    same_shape = ratings.shape == difficulty.shape == attempts.shape == seen.shape
    if not (ratings.ndim == 1 and same_shape and ratings.size):
        raise ValueError("ratings, attempts and difficulties need one entry per skill of the question")
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"score must be in [0, 1], got {score!r}")
    if np.any(attempts < 0) or np.any(seen < 0):
        raise ValueError("attempt counts must be >= 0")
    expected = expected_scores(learner_ratings=ratings, difficulties=difficulty, scale=config.scale)
    p_all, gradient = _credit(expected, score, config.scale, difficulty - ratings)
    learner_k = config.learner_k.k(attempts)
    question_k = config.question_k.k(seen)
    return EloUpdate(
        expected_per_skill=expected,
        expected_correct=p_all,
        score=score,
        learner_ratings=ratings + learner_k * gradient,
        learner_attempts=attempts + 1,
        learner_k=learner_k,
        next_learner_k=config.learner_k.k(attempts + 1),
        difficulty_deltas=-question_k * gradient,
        question_k=question_k,
    )


def rating_from_logit(*, theta: ArrayLike, center: float = 1200.0, scale: float = 400.0) -> FloatArray:
    """Map an IRT/logit ability to the Elo scale (E = σ(θ - b) ⇔ 10-base with `scale`)."""
    return np.asarray(center + np.asarray(theta, dtype=np.float64) * (scale / np.log(10.0)), dtype=np.float64)


def probability_not_mastered(
    *, ratings: ArrayLike, answers: ArrayLike, mastery_theta: float = 1.0, center: float = 1200.0,
    scale: float = 400.0, precision_per_answer: float = 0.2,
) -> FloatArray:
    """P(a skill's true rating is below the mastery rating), element-wise.

    Mastered means an ability of `mastery_theta` logits over an average (rating `center`) question, i.e. an
    expected score σ(mastery_theta) (≈ 0.73 at 1.0). The rating is read as a normal posterior with a prior sd
    of one logit whose precision grows by `precision_per_answer` per answer; Φ(x) ≈ σ(1.702 x).
    Unlike 1 − BKT mastery, this keeps saying "not yet" until the rating itself is clearly above the bar.

    Args:
        ratings: Learner ratings per skill, in Elo points (1200 = average); broadcast with `answers`.
        answers: Answers behind each rating (counts >= 0); more answers narrow the posterior.
        mastery_theta: The mastery bar in logits above `center` (one logit = scale / ln 10 ≈ 174 points).
        center: Rating of an average question, in Elo points.
        scale: Elo scale (points per factor of 10 in the odds).
        precision_per_answer: Posterior precision gained per answer, in units of the prior precision.

    Returns:
        Float array of probabilities in (0, 1): ≈ 0.5 at the bar (1200 + 174 points by default), → 1 below it.
    """
    logit = scale / np.log(10.0)  # rating points per logit
    sd = logit / np.sqrt(1.0 + precision_per_answer * np.asarray(answers, dtype=np.float64))
    z = (center + mastery_theta * logit - np.asarray(ratings, dtype=np.float64)) / sd
    result: FloatArray = 1.0 / (1.0 + np.exp(-1.702 * z))
    return result
