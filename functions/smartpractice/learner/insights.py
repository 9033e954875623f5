"""Comparative and behavioural insights: cohort percentile (k-anonymous) and study patterns.

The other insight maths lives next to this module: ``trends`` (trend, velocity,
plateau), ``gaps`` (knowledge-gap priority/severity), ``calibration`` (confidence vs
correctness), ``performance`` (accuracy/speed/consistency/progress, mastery levels) and
``alerts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpractice.config import K_ANONYMITY_MIN_COHORT

# The breakpoints the k-anonymous cohort RPC exposes (p10, p25, p50, p75, p90).
COHORT_BREAKPOINT_PERCENTILES = (10.0, 25.0, 50.0, 75.0, 90.0)
TIME_OF_DAY_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("night", 0, 6),
    ("morning", 6, 12),
    ("afternoon", 12, 18),
    ("evening", 18, 24),
)


def cohort_percentile(
    *, value: float, cohort: npt.ArrayLike, min_cohort: int = K_ANONYMITY_MIN_COHORT
) -> float | None:
    """Mid-rank percentile of ``value`` among the cohort (other learners' values), 0–100.

    100 · (below + ½ · equal) / n, so a learner tied with everyone sits at 50.

    Args:
        value: The learner's value (e.g. mean effective mastery in [0, 1]).
        cohort: Other learners' values in the same units; NaN entries are dropped.
        min_cohort: Fewest learners for a percentile (k-anonymity).

    Returns:
        Percentile in [0, 100], or None when fewer than ``min_cohort`` learners remain: a percentile
        among a handful of peers would let a learner infer individual results.
    """
    values = np.asarray(cohort, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size < max(min_cohort, 1):
        return None
    below = np.count_nonzero(values < value)
    equal = np.count_nonzero(values == value)
    return 100.0 * (below + 0.5 * equal) / values.size


def percentile_from_breakpoints(*, value: float, breakpoints: Sequence[float]) -> float:
    """Percentile of ``value`` in a cohort known only by its p10..p90 breakpoints, 0–100.

    Linear between breakpoints; 5 below p10 and 95 above p90 (the tails are not published).

    Args:
        value: The learner's value, in the breakpoints' units (e.g. mean effective mastery in [0, 1]).
        breakpoints: The cohort's p10, p25, p50, p75, p90, non-decreasing (not checked).

    Returns:
        Percentile in [5, 95].
    """
    if len(breakpoints) != len(COHORT_BREAKPOINT_PERCENTILES):
        raise ValueError(f"need {len(COHORT_BREAKPOINT_PERCENTILES)} breakpoints, got {len(breakpoints)}")
    return float(np.interp(value, list(breakpoints), list(COHORT_BREAKPOINT_PERCENTILES), left=5.0, right=95.0))


@dataclass(frozen=True, slots=True)
class BucketAccuracy:
    name: str
    answers: int
    accuracy: float | None


@dataclass(frozen=True, slots=True)
class TimeOfDayPattern:
    """Accuracy per local time-of-day bucket; ``best_bucket`` only among buckets with enough answers."""

    buckets: tuple[BucketAccuracy, ...]
    best_bucket: str | None


def accuracy_by_time_of_day(
    *, local_hours: npt.ArrayLike, correct: npt.ArrayLike, min_answers: int = 20, shrinkage: float = 10.0
) -> TimeOfDayPattern:
    """Bucket answers by the learner's local hour (0–23, converted by the caller).

    The best bucket compares accuracies shrunk towards the learner's overall accuracy with
    ``shrinkage`` pseudo-answers, so a small lucky bucket does not win on noise.

    Args:
        local_hours: Hour of day of each answer in the learner's time zone, integers 0..23.
        correct: Correctness per answer, 0/1 (or bools).
        min_answers: Fewest answers for a bucket to be named best.
        shrinkage: Pseudo-answers at the overall accuracy (> 0).

    Returns:
        TimeOfDayPattern: night 0–6, morning 6–12, afternoon 12–18, evening 18–24 with answers and raw
        accuracy in [0, 1] (None when empty); ``best_bucket`` None when no bucket has ``min_answers``.
    """
    hours = np.asarray(local_hours, dtype=np.int64)
    outcome = np.asarray(correct, dtype=np.float64)
    if hours.ndim != 1 or hours.shape != outcome.shape:
        raise ValueError("local_hours and correct must be 1-D arrays of one length")
    if np.any((hours < 0) | (hours > 23)) or np.any((outcome != 0.0) & (outcome != 1.0)):
        raise ValueError("hours must lie in 0..23 and correct must be 0/1")
    overall = float(outcome.mean()) if outcome.size else 0.0
    buckets: list[BucketAccuracy] = []
    best_name: str | None = None
    best_shrunk = -np.inf
    for name, start, end in TIME_OF_DAY_BUCKETS:
        inside = (hours >= start) & (hours < end)
        answers = int(inside.sum())
        hits = float(outcome[inside].sum())
        buckets.append(BucketAccuracy(name, answers, hits / answers if answers else None))
        shrunk = (hits + shrinkage * overall) / (answers + shrinkage)
        if answers >= min_answers and shrunk > best_shrunk:
            best_name, best_shrunk = name, shrunk
    return TimeOfDayPattern(tuple(buckets), best_name)


@dataclass(frozen=True, slots=True)
class SessionLengthStats:
    sessions: int
    total_minutes: float
    mean_minutes: float
    median_minutes: float
    p25_minutes: float
    p75_minutes: float
    p90_minutes: float


def session_length_stats(*, durations_minutes: npt.ArrayLike) -> SessionLengthStats | None:
    """Summary of session durations; None when there are no sessions.

    Args:
        durations_minutes: Duration of each session in minutes (>= 0, no NaN; ValueError otherwise).

    Returns:
        SessionLengthStats in minutes (count, total, mean, median, p25, p75, p90, linear-interpolated
        percentiles), or None for an empty input.
    """
    durations = np.asarray(durations_minutes, dtype=np.float64)
    if durations.ndim != 1 or np.any(durations < 0.0) or np.any(np.isnan(durations)):
        raise ValueError("durations must be a 1-D array of non-negative numbers")
    if durations.size == 0:
        return None
    p25, median, p75, p90 = (float(q) for q in np.percentile(durations, [25, 50, 75, 90]))
    return SessionLengthStats(
        sessions=int(durations.size),
        total_minutes=float(durations.sum()),
        mean_minutes=float(durations.mean()),
        median_minutes=median,
        p25_minutes=p25,
        p75_minutes=p75,
        p90_minutes=p90,
    )
