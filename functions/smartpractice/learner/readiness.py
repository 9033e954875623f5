"""Exam readiness: predicted scaled score with an interval, pass probability, days to ready.

Two routes to a predicted score, used in different places:

* **Ability route** (``predict_exam_score``), used once items are IRT-calibrated: the
  learner's ability (θ, SE) is pushed through a monotone link to the score scale —
  either the expected proportion correct over an exam blueprint of calibrated items
  (``BlueprintLink``, the test characteristic curve) or a linear equating
  (``LinearLink``, e.g. SAT section ≈ 500 + 100·θ). Because the link is monotone, the
  interval is the image of θ ± z·SE, and the pass probability is
  Φ((θ − θ_cut) / SE) where θ_cut is the ability whose predicted score is the cut.
* **Mastery route** (``predict_score_from_mastery``), the seeds' snapshot formula
  (predicted SAT from mastery, weighted by exam importance), used for cold start and
  for per-skill snapshots before IRT calibration exists: expected proportion correct is
  the exam-weighted mean of m·(1 − slip) + (1 − m)·guess over skills; the interval is the
  binomial sampling spread of an exam of ``exam_items`` questions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray, ItemParams, probability_correct

_STANDARD_NORMAL = NormalDist()
_THETA_SEARCH_BOUNDS = (-8.0, 8.0)


@dataclass(frozen=True, slots=True)
class ScoreScale:
    """A reported score range; proportions map linearly onto [minimum, maximum] in steps of ``step``."""

    minimum: float = 200.0
    maximum: float = 800.0
    step: float = 10.0

    def __post_init__(self) -> None:
        if not self.maximum > self.minimum or self.step < 0.0:
            raise ValueError("need maximum > minimum and step >= 0")

    def from_proportion(self, proportion: FloatArray) -> FloatArray:
        result: FloatArray = self.minimum + (self.maximum - self.minimum) * np.clip(proportion, 0.0, 1.0)
        return result

    def clip(self, score: FloatArray) -> FloatArray:
        result: FloatArray = np.clip(score, self.minimum, self.maximum)
        return result


@dataclass(frozen=True, slots=True)
class BlueprintLink:
    """Score = scale(mean P(correct) over the exam's calibrated items) — the test characteristic curve."""

    blueprint: ItemParams
    scale: ScoreScale = ScoreScale()

    def score_at(self, theta: FloatArray) -> FloatArray:
        proportion = probability_correct(items=self.blueprint, theta=theta).mean(axis=1)
        return self.scale.from_proportion(proportion)


@dataclass(frozen=True, slots=True)
class LinearLink:
    """Score = intercept + slope·θ clipped to the scale (a linear equating of θ to the reported scale)."""

    intercept: float = 500.0
    slope: float = 100.0
    scale: ScoreScale = ScoreScale()

    def __post_init__(self) -> None:
        if self.slope <= 0.0:
            raise ValueError("slope must be positive so the link is increasing")

    def score_at(self, theta: FloatArray) -> FloatArray:
        return self.scale.clip(self.intercept + self.slope * np.asarray(theta, dtype=np.float64))


ScoreLink = BlueprintLink | LinearLink


@dataclass(frozen=True, slots=True)
class ScorePrediction:
    """Predicted score, its interval at ``interval_level``, all rounded to the scale step (bounds outward)."""

    score: float
    lower: float
    upper: float
    interval_level: float


def round_to_step(value: float, step: float, rounding: str) -> float:
    """`value` rounded to a multiple of `step` ("nearest", "down" or "up"); step 0 leaves it as it is."""
    if step == 0.0:
        return value
    units = value / step
    rounded = {"nearest": round(units), "down": math.floor(units), "up": math.ceil(units)}[rounding]
    return float(rounded * step)


def _prediction(
    *, centre: float, lower: float, upper: float, scale: ScoreScale, level: float
) -> ScorePrediction:
    return ScorePrediction(
        score=round_to_step(centre, scale.step, "nearest"),
        lower=max(scale.minimum, round_to_step(lower, scale.step, "down")),
        upper=min(scale.maximum, round_to_step(upper, scale.step, "up")),
        interval_level=level,
    )


def two_sided_z(level: float) -> float:
    """z of a two-sided normal interval with coverage `level` in (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ValueError("interval_level must lie in (0, 1)")
    return _STANDARD_NORMAL.inv_cdf(0.5 + level / 2.0)


def predict_exam_score(
    *, theta: float, theta_se: float, link: ScoreLink, interval_level: float = 0.90
) -> ScorePrediction:
    """Predicted score at θ with the interval image of θ ± z·SE through the (increasing) link.

    Args:
        theta: Ability in logits on the IRT calibration's N(0, 1) scale.
        theta_se: Its standard error in logits (>= 0).
        link: Blueprint (test characteristic curve) or linear map from θ to the score scale.
        interval_level: Two-sided interval coverage in (0, 1).

    Returns:
        ScorePrediction in the link's scale units (e.g. 200–800), rounded to its step, bounds outward.
    """
    if theta_se < 0.0:
        raise ValueError("theta_se must be non-negative")
    z = two_sided_z(interval_level)
    scores = link.score_at(np.array([theta, theta - z * theta_se, theta + z * theta_se]))
    return _prediction(
        centre=float(scores[0]), lower=float(scores[1]), upper=float(scores[2]),
        scale=link.scale, level=interval_level,
    )


def theta_for_score(*, score: float, link: ScoreLink) -> float | None:
    """Ability whose predicted score equals ``score`` (bisection); None if outside the link's range.

    Args:
        score: A score in the link's scale units.
        link: The increasing map from θ to the score scale.

    Returns:
        θ in logits within [−8, 8], or None when ``score`` lies outside the scores reached over that range.
    """
    low, high = _THETA_SEARCH_BOUNDS
    ends = link.score_at(np.array([low, high]))
    if not ends[0] <= score <= ends[1]:
        return None
    for _ in range(60):  # 16 / 2**60: far below any useful precision
        middle = 0.5 * (low + high)
        if float(link.score_at(np.array([middle]))[0]) < score:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def pass_probability(*, theta: float, theta_se: float, cut_score: float, link: ScoreLink) -> float:
    """P(true ability reaches the cut score) under θ_true ~ Normal(θ, SE²).

    Args:
        theta: Estimated ability in logits.
        theta_se: Its standard error in logits (0 gives a 0/1 answer).
        cut_score: The pass mark in the link's scale units (e.g. 600 on 200–800).
        link: The increasing map from θ to the score scale.

    Returns:
        Probability in [0, 1]; exactly 1.0 (0.0) when the cut lies below (above) every reachable score.
    """
    ends = link.score_at(np.array(_THETA_SEARCH_BOUNDS))
    theta_cut = theta_for_score(score=cut_score, link=link)
    if theta_cut is None:
        return 1.0 if cut_score < ends[0] else 0.0
    if theta_se == 0.0:
        return 1.0 if theta >= theta_cut else 0.0
    return _STANDARD_NORMAL.cdf((theta - theta_cut) / theta_se)


def readiness_percent(*, predicted_score: float, target_score: float, scale: ScoreScale) -> float:
    """Share of the way from the scale floor to the target score, 0–100 (100 once the target is reached).

    Args:
        predicted_score: The predicted score, in the scale's units (e.g. 200–800).
        target_score: The score to reach (e.g. the cut score 600); must lie in (minimum, maximum].
        scale: The reported score scale.

    Returns:
        Percent in [0, 100]: 0 at or below the scale minimum, 100 at or above the target.
    """
    if not scale.minimum < target_score <= scale.maximum:
        raise ValueError("target_score must lie above the scale minimum and within the scale")
    share = (predicted_score - scale.minimum) / (target_score - scale.minimum)
    return 100.0 * min(1.0, max(0.0, share))


def days_to_target(*, current: float, target: float, velocity_per_day: float) -> int | None:
    """Whole days until ``current`` reaches ``target`` at a constant velocity (same units per day).

    Args:
        current: The current value (e.g. a predicted score in points).
        target: The value to reach, in the same units.
        velocity_per_day: Gain per day in those units (score points per day for scores).

    Returns:
        Days >= 0, rounded up (0 if already at or above the target); None when the velocity is not
        positive or not finite (NaN included), i.e. no projection is possible.
    """
    if current >= target:
        return 0
    if velocity_per_day <= 0.0 or not math.isfinite(velocity_per_day):
        return None
    # Rounding first keeps float noise (0.3 / 0.02 = 15.000000000000002) from adding a day.
    return math.ceil(round((target - current) / velocity_per_day, 9))


def predict_score_from_mastery(
    *,
    mastery: npt.ArrayLike,
    exam_weight: npt.ArrayLike,
    scale: ScoreScale,
    guess: npt.ArrayLike = 0.0,
    slip: npt.ArrayLike = 0.0,
    exam_items: int = 50,
    interval_level: float = 0.90,
) -> ScorePrediction:
    """Exam-weighted mastery → expected proportion correct → scaled score with a binomial interval.

    Per skill k: P(correct) = m_k(1 − slip_k) + (1 − m_k) guess_k (BKT's emission);
    p = Σ w_k P_k / Σ w_k; interval p ± z·sqrt(p(1 − p) / exam_items), clipped to [0, 1].

    Args:
        mastery: Mastery per skill, probabilities in [0, 1] (ValueError otherwise).
        exam_weight: Relative exam weight per skill (>= 0, positive sum; only ratios matter).
        scale: The score scale the proportion maps onto linearly (e.g. 200–800 in steps of 10).
        guess: BKT guess per skill or one for all, in [0, 1]; 0 by default.
        slip: BKT slip per skill or one for all, in [0, 1]; 0 by default.
        exam_items: Questions on the exam (>= 1); sets the width of the binomial interval.
        interval_level: Two-sided interval coverage in (0, 1).

    Returns:
        ScorePrediction in scale units: score rounded to the nearest step, lower/upper rounded outward and
        kept within [minimum, maximum], and the interval level.
    """
    m = np.asarray(mastery, dtype=np.float64)
    w = np.asarray(exam_weight, dtype=np.float64)
    if m.ndim != 1 or m.shape != w.shape or m.size == 0:
        raise ValueError("mastery and exam_weight must be non-empty 1-D arrays of one length")
    if np.any((m < 0.0) | (m > 1.0)) or np.any(w < 0.0) or w.sum() <= 0.0:
        raise ValueError("mastery must lie in [0, 1]; weights must be non-negative with a positive sum")
    if exam_items < 1:
        raise ValueError("exam_items must be positive")
    p_skill = m * (1.0 - np.asarray(slip, dtype=np.float64)) + (1.0 - m) * np.asarray(guess, dtype=np.float64)
    proportion = float(np.dot(w, p_skill) / w.sum())
    half_width = two_sided_z(interval_level) * math.sqrt(proportion * (1.0 - proportion) / exam_items)
    bounds = scale.from_proportion(np.array([proportion, proportion - half_width, proportion + half_width]))
    return _prediction(
        centre=float(bounds[0]), lower=float(bounds[1]), upper=float(bounds[2]),
        scale=scale, level=interval_level,
    )
