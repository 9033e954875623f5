"""Readiness of a predicted score against the learner's own target.

The SAT reports each section on 200–800 and the total as their sum on 400–1600; the scores themselves are the
production predictor's (learner/predictor_scores.py), here only what readiness makes of a score and its interval:

* **Readiness**: the score is treated as Normal(score, sd) with sd from the interval; the pass
  probability is P(true score ≥ target). "Ready" means score ≥ target, which is exactly pass
  probability ≥ 0.5, and exactly days to ready = 0, so the three never contradict each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from smartpractice.learner.readiness import ScoreScale, days_to_target

SECTION_SCALE = ScoreScale(minimum=200.0, maximum=800.0, step=10.0)
SAT_SECTIONS: tuple[str, ...] = ("math", "reading_writing")
INTERVAL_LEVEL = 0.90
HORIZON_DAYS = 365


@dataclass(frozen=True, slots=True)
class ReadinessAssessment:
    """Readiness of one score against its target; see the module docstring for the coherence rules."""

    target: float
    pass_probability: float
    ready: bool
    days_to_ready: int | None
    days_to_ready_reason: str | None
    days_left: int | None
    on_track: bool | None


def assess_readiness(
    *,
    score: float,
    lower: float,
    upper: float,
    target: float,
    points_per_day: float | None,
    days_left: int | None,
    interval_level: float = INTERVAL_LEVEL,
    horizon_days: int = HORIZON_DAYS,
    pass_probability: float | None = None,
) -> ReadinessAssessment:
    """Pass probability against ``target``, days until the projection reaches it, and whether that fits.

    Args:
        score: Predicted score (any scale, e.g. 200–800 or 400–1600), lower <= score <= upper.
        lower: Lower bound of its interval at ``interval_level``.
        upper: Upper bound of its interval.
        target: The learner's target score, same units.
        points_per_day: Projected gain in score points per day, or None when unknown (cold start).
        days_left: Days until the exam date (>= 0), or None without an exam date.
        interval_level: Coverage of [lower, upper], in (0, 1).
        horizon_days: Projections further out than this are not reported (>= 1).
        pass_probability: P(true score >= target) from the score's own model (the predictor's ability curve,
            learner/predictor_scores.py); None: from Normal(score, sd) with sd read off the interval.

    Returns:
        ReadinessAssessment: pass probability in [0, 1]; ready = score >= target (= pass probability >= 0.5
        = days_to_ready 0); days_to_ready in [0, horizon_days] or None with a reason; on_track = days_to_ready
        <= days_left, None when either is unknown.
    """
    if not lower <= score <= upper or not 0.0 < interval_level < 1.0 or horizon_days < 1:
        raise ValueError("need lower <= score <= upper, 0 < interval_level < 1 and horizon_days >= 1")
    if days_left is not None and days_left < 0:
        raise ValueError("days_left must be >= 0")
    z = NormalDist().inv_cdf(0.5 + interval_level / 2.0)
    sd = (upper - lower) / (2.0 * z)
    ready = score >= target
    if pass_probability is not None:
        if not 0.0 <= pass_probability <= 1.0:
            raise ValueError("pass_probability must lie in [0, 1]")
        probability = pass_probability
    elif sd > 0.0:
        probability = 1.0 - NormalDist(score, sd).cdf(target)
    else:
        probability = 1.0 if ready else 0.0
    # The probability and the ≥ test on the reported (rounded) score agree except within a rounding step of the
    # target (and at float ties); keep the documented equivalence exact.
    probability = max(probability, 0.5) if ready else min(probability, math.nextafter(0.5, 0.0))
    days: int | None
    reason: str | None = None
    if ready:
        days = 0
    elif points_per_day is None:
        days, reason = None, "no projection yet: needs 3 days of history"
    else:
        days = days_to_target(current=score, target=target, velocity_per_day=points_per_day)
        if days is None:
            reason = "not improving: the projection never reaches the target"
        elif days > horizon_days:
            days, reason = None, f"the projection does not reach the target within {horizon_days} days"
    on_track = None if days is None or days_left is None else days <= days_left
    return ReadinessAssessment(target, float(probability), ready, days, reason, days_left, on_track)
