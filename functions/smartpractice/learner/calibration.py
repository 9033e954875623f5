"""Confidence calibration: does a learner's stated confidence (1–5) match how often they are right?

Each confidence level is mapped to a probability (default 1→0.1, 2→0.3, 3→0.5, 4→0.7,
5→0.9, a symmetric ladder around "unsure"), then against correctness y ∈ {0, 1}:

* Brier score  = mean((p − y)²)                       (0 is perfect; 0.25 is a constant 0.5)
* calibration error (ECE) = Σ_levels (n_level / n) · |p_level − accuracy_level|
* bias = mean(p) − accuracy                           (> 0 over-confident, < 0 under-confident)

The label is significance-aware: over/under-confident only when |bias| exceeds both
``margin`` and 2 standard errors of the bias under perfect calibration,
sqrt(Σ p(1 − p)) / n, so a handful of answers cannot earn a label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

DEFAULT_LEVEL_PROBABILITIES = (0.1, 0.3, 0.5, 0.7, 0.9)


class CalibrationLabel(StrEnum):
    OVERCONFIDENT = "overconfident"
    UNDERCONFIDENT = "underconfident"
    CALIBRATED = "calibrated"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class LevelCalibration:
    level: int
    stated_probability: float
    answers: int
    accuracy: float | None


@dataclass(frozen=True, slots=True)
class ConfidenceCalibration:
    answers: int
    brier_score: float | None
    calibration_error: float | None
    bias: float | None
    label: CalibrationLabel
    levels: tuple[LevelCalibration, ...]


def confidence_calibration(
    *,
    confidence: npt.ArrayLike,
    correct: npt.ArrayLike,
    level_probabilities: tuple[float, ...] = DEFAULT_LEVEL_PROBABILITIES,
    margin: float = 0.05,
    min_answers: int = 10,
) -> ConfidenceCalibration:
    """Calibration summary for confidence levels 1..len(level_probabilities).

    Args:
        confidence: Stated confidence per answer, integers 1..len(level_probabilities) (1..5 by default).
        correct: Correctness per answer, 0/1 (or bools), aligned with ``confidence``.
        level_probabilities: The probability each level states, in [0, 1] (default 0.1, 0.3, …, 0.9).
        margin: Smallest |bias| (probability) that can earn an over/under-confident label.
        min_answers: Fewest answers for any label other than insufficient_data.

    Returns:
        ConfidenceCalibration: answer count; Brier score in [0, 1]; calibration error (ECE) in [0, 1];
        bias = mean stated probability − accuracy in [−1, 1] (> 0 over-confident) — all three None with no
        answers; the label; per level the stated probability, answers and accuracy in [0, 1] (None if none).
    """
    levels = np.asarray(confidence, dtype=np.int64)
    outcome = np.asarray(correct, dtype=np.float64)
    probabilities = np.asarray(level_probabilities, dtype=np.float64)
    if levels.ndim != 1 or levels.shape != outcome.shape:
        raise ValueError("confidence and correct must be 1-D arrays of one length")
    if np.any((levels < 1) | (levels > probabilities.size)):
        raise ValueError(f"confidence must be an integer in 1..{probabilities.size}")
    if np.any((outcome != 0.0) & (outcome != 1.0)) or np.any((probabilities < 0.0) | (probabilities > 1.0)):
        raise ValueError("correct must be 0/1 and level probabilities must lie in [0, 1]")
    counts = np.bincount(levels - 1, minlength=probabilities.size)
    hits = np.bincount(levels - 1, weights=outcome, minlength=probabilities.size)
    per_level = tuple(
        LevelCalibration(
            level=index + 1,
            stated_probability=float(probabilities[index]),
            answers=int(counts[index]),
            accuracy=float(hits[index] / counts[index]) if counts[index] else None,
        )
        for index in range(probabilities.size)
    )
    n = int(levels.size)
    if n == 0:
        return ConfidenceCalibration(0, None, None, None, CalibrationLabel.INSUFFICIENT_DATA, per_level)
    stated = probabilities[levels - 1]
    brier = float(np.mean((stated - outcome) ** 2))
    answered = counts > 0
    ece = float(np.sum(np.abs(probabilities[answered] * counts[answered] - hits[answered])) / n)
    bias = float(stated.mean() - outcome.mean())
    null_se = math.sqrt(float(np.sum(stated * (1.0 - stated)))) / n
    threshold = max(margin, 2.0 * null_se)
    if n < min_answers:
        label = CalibrationLabel.INSUFFICIENT_DATA
    elif bias > threshold:
        label = CalibrationLabel.OVERCONFIDENT
    elif bias < -threshold:
        label = CalibrationLabel.UNDERCONFIDENT
    else:
        label = CalibrationLabel.CALIBRATED
    return ConfidenceCalibration(n, brier, ece, bias, label, per_level)
