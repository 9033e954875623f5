"""Performance dimensions (accuracy, speed, consistency, progress → overall) and mastery levels.

Seed (student performance analytics): overall = 0.35·accuracy + 0.25·speed +
0.20·consistency + 0.20·progress, each 0–100. The seed names the dimensions but not
their formulas; these are ours:

* accuracy    = 100 · correct / answered
* speed       = 100 · mean over *correct* answers of min(1, target_seconds / seconds_taken)
                (the seed's time_efficiency = optimal / actual, capped; wrong answers do not
                count, so rushing through guesses cannot raise it)
* consistency = 100 · (1 − 2·sd(per-session accuracy)); 0.5 is the largest possible
                standard deviation of values in [0, 1], so all-equal sessions score 100
                and alternating 0 %/100 % sessions score 0. Needs ≥ 2 sessions.
* progress    = 100 · clip(0.5 + 0.5 · mastery_gain / target_gain, 0, 1): no change is 50,
                gaining ``target_gain`` (default 0.20) over the period is 100, losing it is 0.

A dimension without data is None and the overall score re-normalises the weights over
the dimensions that exist (instead of silently counting a missing one as 0).

Mastery levels follow the seed's thresholds exactly: mastered (accuracy ≥ 0.8 and ≥ 10
attempts), proficient (≥ 0.6 and ≥ 5), developing (≥ 0.4), otherwise needs focus.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt


class MasteryLevel(StrEnum):
    MASTERED = "mastered"
    PROFICIENT = "proficient"
    DEVELOPING = "developing"
    NEEDS_FOCUS = "needs_focus"


@dataclass(frozen=True, slots=True)
class PerformanceWeights:
    accuracy: float = 0.35
    speed: float = 0.25
    consistency: float = 0.20
    progress: float = 0.20


@dataclass(frozen=True, slots=True)
class PerformanceScores:
    """Each dimension 0–100, None when there is no data for it."""

    accuracy: float | None
    speed: float | None
    consistency: float | None
    progress: float | None
    overall: float | None


def _accuracy_score(correct: npt.NDArray[np.float64]) -> float | None:
    return 100.0 * float(correct.mean()) if correct.size else None


def _speed_score(
    correct: npt.NDArray[np.float64], seconds: npt.NDArray[np.float64], target: npt.NDArray[np.float64]
) -> float | None:
    right = correct == 1.0
    if not right.any():
        return None
    efficiency = np.minimum(1.0, target[right] / seconds[right])
    return 100.0 * float(efficiency.mean())


def _consistency_score(session_accuracy: npt.NDArray[np.float64]) -> float | None:
    if session_accuracy.size < 2:
        return None
    return 100.0 * max(0.0, 1.0 - 2.0 * float(session_accuracy.std()))


def _progress_score(mastery_gain: float | None, target_gain: float) -> float | None:
    if mastery_gain is None:
        return None
    return 100.0 * min(1.0, max(0.0, 0.5 + 0.5 * mastery_gain / target_gain))


def performance_scores(
    *,
    correct: npt.ArrayLike,
    seconds_taken: npt.ArrayLike,
    target_seconds: npt.ArrayLike,
    session_accuracy: npt.ArrayLike,
    mastery_gain: float | None,
    target_gain: float = 0.20,
    weights: PerformanceWeights | None = None,
) -> PerformanceScores:
    """Scores for one learner over a period (answers, their timings, per-session accuracies, mastery gain)."""
    outcome = np.asarray(correct, dtype=np.float64)
    seconds = np.asarray(seconds_taken, dtype=np.float64)
    target = np.broadcast_to(np.asarray(target_seconds, dtype=np.float64), outcome.shape)
    sessions = np.asarray(session_accuracy, dtype=np.float64)
    if outcome.ndim != 1 or seconds.shape != outcome.shape:
        raise ValueError("correct and seconds_taken must be 1-D arrays of one length")
    if np.any((outcome != 0.0) & (outcome != 1.0)) or np.any(seconds <= 0.0) or np.any(target <= 0.0):
        raise ValueError("correct must be 0/1 and times must be positive")
    if np.any((sessions < 0.0) | (sessions > 1.0)) or target_gain <= 0.0:
        raise ValueError("session accuracies must lie in [0, 1] and target_gain must be positive")
    chosen = weights if weights is not None else PerformanceWeights()
    dimensions = {
        "accuracy": _accuracy_score(outcome),
        "speed": _speed_score(outcome, seconds, target),
        "consistency": _consistency_score(sessions),
        "progress": _progress_score(mastery_gain, target_gain),
    }
    present = {name: value for name, value in dimensions.items() if value is not None}
    weight_total = sum(getattr(chosen, name) for name in present)
    overall = (
        sum(getattr(chosen, name) * value for name, value in present.items()) / weight_total
        if present and weight_total > 0.0
        else None
    )
    return PerformanceScores(overall=overall, **dimensions)


def mastery_levels(*, accuracy: npt.ArrayLike, attempts: npt.ArrayLike) -> tuple[MasteryLevel, ...]:
    """Seed thresholds, vectorised over topics.

    Args:
        accuracy: Accuracy per topic as a fraction in [0, 1] (not percent); NaN falls through to needs_focus.
        attempts: Answers per topic (integers).

    Returns:
        One MasteryLevel per entry, in input order: mastered (>= 0.8 and >= 10 answers), proficient
        (>= 0.6 and >= 5), developing (>= 0.4), else needs_focus.
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    n = np.asarray(attempts, dtype=np.int64)
    if acc.shape != n.shape or acc.ndim != 1:
        raise ValueError("accuracy and attempts must be 1-D arrays of one length")
    labels = np.select(
        [(acc >= 0.8) & (n >= 10), (acc >= 0.6) & (n >= 5), acc >= 0.4],
        [MasteryLevel.MASTERED.value, MasteryLevel.PROFICIENT.value, MasteryLevel.DEVELOPING.value],
        default=MasteryLevel.NEEDS_FOCUS.value,
    )
    return tuple(MasteryLevel(str(label)) for label in labels)
