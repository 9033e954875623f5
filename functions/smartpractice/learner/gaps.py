"""Knowledge-gap priority and severity, vectorised over a learner's skills.

Seed formula (analytics architecture, "Knowledge Gap Detection"):

    priority = 3.0·gap + 2.0·board_exam_weight + 1.0·prerequisite_impact + 1.5·recent_failure_rate

kept with its weights, with three changes so the terms are commensurable and robust:

* every term is put on [0, 1] first — gap = 1 − mastery; exam importance = weight / the
  largest weight among the skills; prerequisite impact = 1 − 2^(−dependents / 2) (0 for a
  leaf, ½ for two dependent skills, → 1 for many); so one raw exam weight of "8" no
  longer swamps everything;
* the recent failure rate is shrunk towards the model's expectation 1 − mastery with
  ``shrinkage_attempts`` pseudo-answers, so 1 wrong out of 1 is not a 100 % failure rate;
* the weighted sum is divided by the weight total and reported on 0–10.

This module is the definition; ``private.knowledge_gap_scores`` (migration 20261207000100) mirrors it in
SQL for the nightly ``knowledge_gaps`` table, which insights lists, with a parity test.

Severity (the seed leaves ``classify_severity`` open): critical when priority ≥ 6 and
gap ≥ 0.5; high when priority ≥ 4.5; medium when priority ≥ 3; otherwise low — and
always low once gap < 0.2 (the skill is essentially mastered).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray


class GapSeverity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class GapWeights:
    gap: float = 3.0
    exam_importance: float = 2.0
    prerequisite_impact: float = 1.0
    recent_failure: float = 1.5


@dataclass(frozen=True, slots=True)
class KnowledgeGaps:
    """Per skill in input order: the [0, 1] terms, priority 0–10 and severity.

    ``ranking`` lists skill indices from highest to lowest priority.
    """

    gap: FloatArray
    exam_importance: FloatArray
    prerequisite_impact: FloatArray
    recent_failure_rate: FloatArray
    priority: FloatArray
    severity: tuple[GapSeverity, ...]
    ranking: npt.NDArray[np.intp]


def _classify(gap: FloatArray, priority: FloatArray) -> tuple[GapSeverity, ...]:
    labels = np.select(
        [gap < 0.2, (priority >= 6.0) & (gap >= 0.5), priority >= 4.5, priority >= 3.0],
        [GapSeverity.LOW.value, GapSeverity.CRITICAL.value, GapSeverity.HIGH.value, GapSeverity.MEDIUM.value],
        default=GapSeverity.LOW.value,
    )
    return tuple(GapSeverity(str(label)) for label in labels)


def knowledge_gaps(
    *,
    mastery: npt.ArrayLike,
    exam_weight: npt.ArrayLike,
    dependent_skills: npt.ArrayLike,
    recent_failures: npt.ArrayLike,
    recent_attempts: npt.ArrayLike,
    weights: GapWeights | None = None,
    shrinkage_attempts: float = 5.0,
    largest_exam_weight: float | None = None,
) -> KnowledgeGaps:
    """Gap terms, priority and severity for each skill (all inputs are per-skill arrays).

    Args:
        mastery: Mastery per skill, probabilities in [0, 1] (e.g. effective mastery); gap = 1 − mastery.
        exam_weight: Exam weight per skill (>= 0, any units: divided by the largest; all 0 → importance 0).
        dependent_skills: Number of skills that list this one as a prerequisite (>= 0).
        recent_failures: Wrong answers on the skill in the recent window (0 <= failures <= attempts).
        recent_attempts: Answers on the skill in the recent window (>= 0).
        weights: Weights of the four terms; default GapWeights() (the seed's 3 / 2 / 1 / 1.5).
        shrinkage_attempts: Pseudo-answers pulling the failure rate towards 1 − mastery (> 0).
        largest_exam_weight: Divisor of the exam weights (> 0); None = the largest among these skills. The
            nightly table (private.knowledge_gap_scores) divides by the largest skill weight in the whole bank.

    Returns:
        KnowledgeGaps in input order: the four terms in [0, 1], priority in [0, 10], a severity per skill,
        and ``ranking`` (indices by descending priority, ties in input order).
    """
    m = np.asarray(mastery, dtype=np.float64)
    w = np.asarray(exam_weight, dtype=np.float64)
    dependents = np.asarray(dependent_skills, dtype=np.float64)
    failures = np.asarray(recent_failures, dtype=np.float64)
    attempts = np.asarray(recent_attempts, dtype=np.float64)
    if any(array.shape != m.shape for array in (w, dependents, failures, attempts)) or m.ndim != 1:
        raise ValueError("all inputs must be 1-D arrays of one length")
    if np.any((m < 0.0) | (m > 1.0)) or np.any(w < 0.0) or np.any(dependents < 0.0):
        raise ValueError("mastery must lie in [0, 1]; weights and dependent counts must be non-negative")
    if np.any((failures < 0.0) | (failures > attempts)) or shrinkage_attempts <= 0.0:
        raise ValueError("need 0 <= recent_failures <= recent_attempts and shrinkage_attempts > 0")
    chosen = weights if weights is not None else GapWeights()
    gap = 1.0 - m
    largest_weight = largest_exam_weight if largest_exam_weight is not None else (w.max() if w.size else 0.0)
    importance = w / largest_weight if largest_weight > 0.0 else np.zeros_like(w)
    impact = 1.0 - np.exp2(-dependents / 2.0)
    failure_rate = (failures + shrinkage_attempts * gap) / (attempts + shrinkage_attempts)
    term_weights = np.array(
        [chosen.gap, chosen.exam_importance, chosen.prerequisite_impact, chosen.recent_failure]
    )
    terms = np.stack([gap, importance, impact, failure_rate])
    priority = 10.0 * (term_weights @ terms) / term_weights.sum()
    return KnowledgeGaps(
        gap=gap,
        exam_importance=importance,
        prerequisite_impact=impact,
        recent_failure_rate=failure_rate,
        priority=priority,
        severity=_classify(gap, priority),
        ranking=np.argsort(-priority, kind="stable"),
    )
