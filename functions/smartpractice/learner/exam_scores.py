"""Per-section predicted scores, their total, and readiness against the learner's own target.

Seed 000 (learning-analytics data flow) predicts "SAT Math" and "SAT R/W" separately. The SAT
reports each section on 200–800 and the total as their sum on 400–1600, so:

* **Section score**: the mastery route of ``readiness.predict_score_from_mastery`` over that
  section's skills only (a skill never practised counts at its prior *within a prepared
  section*: untouched content of a section you prepare should pull its score down). A section
  without a single practised skill has no score (None + reason) instead of a floor-level guess.
* **Total (the combination rule)**: total = Math + Reading & Writing, and only when every section
  of the exam is prepared and scored; its interval assumes independent section errors:
  total ± sqrt(Σ half_width²), rounded outward to 10 and kept within [400, 1600].
* **Readiness**: the score is treated as Normal(score, sd) with sd from the interval; the pass
  probability is P(true score ≥ target). "Ready" means score ≥ target, which is exactly pass
  probability ≥ 0.5, and exactly days to ready = 0, so the three never contradict each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from smartpractice.learner.readiness import ScoreScale, days_to_target, predict_score_from_mastery

SECTION_SCALE = ScoreScale(minimum=200.0, maximum=800.0, step=10.0)
SAT_SECTIONS: tuple[str, ...] = ("math", "reading_writing")
# Scored questions per section on the digital SAT (44 Math, 54 Reading and Writing): the binomial interval width.
SECTION_ITEMS = {"math": 44, "reading_writing": 54}
INTERVAL_LEVEL = 0.90
HORIZON_DAYS = 365


@dataclass(frozen=True, slots=True)
class SectionScore:
    """One section's predicted score on 200–800 with its interval, or all None with a reason."""

    section: str
    score: float | None
    lower: float | None
    upper: float | None
    skills_practised: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class ExamScores:
    """Section scores in ``sections`` order and the total on 400–1600 (None + reason unless all are scored)."""

    sections: tuple[SectionScore, ...]
    total: float | None
    total_lower: float | None
    total_upper: float | None
    total_reason: str | None
    interval_level: float


def predict_section_scores(
    *,
    section_of_skill: Sequence[str],
    mastery: npt.ArrayLike,
    practised: npt.ArrayLike,
    exam_weight: npt.ArrayLike,
    sections: Sequence[str],
    interval_level: float = INTERVAL_LEVEL,
) -> ExamScores:
    """Predicted score per prepared section and the SAT total (sum of the sections).

    Args:
        section_of_skill: Exam section of each skill (e.g. "math"); skills of other sections are ignored.
        mastery: Mastery per skill in [0, 1] (a never-practised skill at its prior).
        practised: Whether the learner has answered anything on each skill (bools).
        exam_weight: Relative exam weight per skill (>= 0; only ratios within a section matter).
        sections: The sections the learner prepares, in output order (non-empty, no repeats).
        interval_level: Two-sided interval coverage in (0, 1).

    Returns:
        ExamScores: per section a score in [200, 800] with lower <= score <= upper, or None with a reason;
        the total in [400, 1600] = the sum of the section scores when every SAT section is prepared and
        scored, else None with a reason.
    """
    kind = np.asarray(section_of_skill, dtype=object)
    m = np.asarray(mastery, dtype=np.float64)
    seen = np.asarray(practised, dtype=np.bool_)
    w = np.asarray(exam_weight, dtype=np.float64)
    if not sections or len(set(sections)) != len(sections):
        raise ValueError("sections must be non-empty without repeats")
    if not (kind.shape == m.shape == seen.shape == w.shape) or m.ndim != 1:
        raise ValueError("section_of_skill, mastery, practised and exam_weight must be 1-D of one length")
    out: list[SectionScore] = []
    for section in sections:
        inside = kind == section
        n_practised = int(np.count_nonzero(seen & inside))
        if n_practised == 0:
            out.append(SectionScore(section, None, None, None, 0, "no answers in this section yet"))
            continue
        weights = w[inside] if w[inside].sum() > 0.0 else np.ones(int(inside.sum()))
        prediction = predict_score_from_mastery(
            mastery=m[inside], exam_weight=weights, scale=SECTION_SCALE,
            exam_items=SECTION_ITEMS.get(section, 50), interval_level=interval_level)
        out.append(SectionScore(section, prediction.score, prediction.lower, prediction.upper, n_practised, None))
    return ExamScores(tuple(out), *_total(out), interval_level=interval_level)


def _total(sections: list[SectionScore]) -> tuple[float | None, float | None, float | None, str | None]:
    by_name = {s.section: s for s in sections}
    missing = [name for name in SAT_SECTIONS if name not in by_name]
    if missing:
        return None, None, None, f"the total needs every section; not prepared: {', '.join(missing)}"
    parts = [by_name[name] for name in SAT_SECTIONS]
    if any(p.score is None for p in parts):
        return None, None, None, "the total needs a score in every section"
    total = sum(float(p.score or 0.0) for p in parts)
    half = math.sqrt(sum(((p.upper or 0.0) - (p.lower or 0.0)) ** 2 / 4.0 for p in parts))
    low = max(400.0, 10.0 * math.floor((total - half) / 10.0))
    high = min(1600.0, 10.0 * math.ceil((total + half) / 10.0))
    return total, min(low, total), max(high, total), None


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
