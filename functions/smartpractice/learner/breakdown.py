"""Seed 004 breakdowns of a learner's answers: speed against each question's expected time, accuracy
by difficulty band, mastery levels by the seed's accuracy bands per group (skill, topic, subject),
and the one-line feedback after an answer.

Cold start: every statistic over zero answers is None (with a reason where a learner sees it), never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpractice.learner.performance import MasteryLevel, mastery_levels

DIFFICULTY_BANDS: tuple[str, ...] = ("easy", "medium", "hard")


@dataclass(frozen=True, slots=True)
class Speed:
    """Time per answer against the question's expected time.

    ``median_time_ratio``: median of seconds taken / expected seconds (1.0 = on pace, < 1 faster), > 0.
    ``within_expected``: share of answers at or under the expected time, in [0, 1].
    ``speed_score``: seed 004's time efficiency, 100 · mean over correct answers of min(1, expected / taken),
    in [0, 100]; None without a correct answer.
    """

    answers: int
    median_time_ratio: float | None
    within_expected: float | None
    speed_score: float | None


def speed_vs_expected(
    *, seconds_taken: npt.ArrayLike, expected_seconds: npt.ArrayLike, correct: npt.ArrayLike
) -> Speed:
    """Speed over the answers that have a recorded time.

    Args:
        seconds_taken: Seconds spent per answer (> 0; NaN = not recorded, dropped).
        expected_seconds: The question's expected seconds per answer (> 0).
        correct: Correctness per answer (bools).

    Returns:
        Speed (see the class); all None with 0 answers.
    """
    taken = np.asarray(seconds_taken, dtype=np.float64)
    expected = np.asarray(expected_seconds, dtype=np.float64)
    right = np.asarray(correct, dtype=np.bool_)
    if not (taken.shape == expected.shape == right.shape) or taken.ndim != 1:
        raise ValueError("seconds_taken, expected_seconds and correct must be 1-D of one length")
    keep = ~np.isnan(taken)
    taken, expected, right = taken[keep], expected[keep], right[keep]
    if np.any(taken <= 0.0) or np.any(expected <= 0.0):
        raise ValueError("times must be positive")
    if taken.size == 0:
        return Speed(0, None, None, None)
    ratio = taken / expected
    score = 100.0 * float(np.minimum(1.0, 1.0 / ratio[right]).mean()) if right.any() else None
    return Speed(int(taken.size), float(np.median(ratio)), float(np.mean(ratio <= 1.0)), score)


@dataclass(frozen=True, slots=True)
class BandAccuracy:
    """Answers and accuracy (fraction in [0, 1], None with no answers) in one difficulty band."""

    band: str
    answers: int
    accuracy: float | None


def accuracy_by_difficulty(*, difficulty: Sequence[str], correct: npt.ArrayLike) -> tuple[BandAccuracy, ...]:
    """Accuracy per difficulty band (easy, medium, hard), always all three bands in that order.

    Args:
        difficulty: The question's difficulty label per answer (one of DIFFICULTY_BANDS).
        correct: Correctness per answer (bools).

    Returns:
        One BandAccuracy per band; accuracy None for a band without answers.
    """
    labels = np.asarray(difficulty, dtype=object)
    right = np.asarray(correct, dtype=np.bool_)
    if labels.shape != right.shape or right.ndim != 1:
        raise ValueError("difficulty and correct must be 1-D of one length")
    if not set(labels.tolist()) <= set(DIFFICULTY_BANDS):
        raise ValueError(f"difficulty must be one of {DIFFICULTY_BANDS}")
    out = []
    for band in DIFFICULTY_BANDS:
        inside = labels == band
        n = int(inside.sum())
        out.append(BandAccuracy(band, n, float(right[inside].mean()) if n else None))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class GroupLevel:
    """Seed 004 level of one group (a skill, topic or subject) from its answers' accuracy."""

    key: int
    answers: int
    accuracy: float
    level: MasteryLevel


def levels_by_group(*, group: npt.ArrayLike, correct: npt.ArrayLike) -> tuple[GroupLevel, ...]:
    """Accuracy and seed level per group, for groups with at least one answer, by ascending key.

    The seed's bands (``performance.mastery_levels``): mastered ≥ 0.8 with ≥ 10 answers, proficient
    ≥ 0.6 with ≥ 5, developing ≥ 0.4, else needs focus. A group without answers has no level at all.

    Args:
        group: Group id per answer (a multi-skill answer appears once per skill).
        correct: Correctness per answer (bools).

    Returns:
        One GroupLevel per group: answers >= 1, accuracy in [0, 1], the level.
    """
    keys = np.asarray(group, dtype=np.int64)
    right = np.asarray(correct, dtype=np.float64)
    if keys.shape != right.shape or keys.ndim != 1:
        raise ValueError("group and correct must be 1-D of one length")
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    accuracy = np.bincount(inverse, weights=right, minlength=unique.size) / np.maximum(counts, 1)
    levels = mastery_levels(accuracy=accuracy, attempts=counts)
    return tuple(GroupLevel(int(k), int(n), float(a), lv)
                 for k, n, a, lv in zip(unique, counts, accuracy, levels, strict=True))


def answer_feedback(
    *,
    is_correct: bool,
    skill_name: str,
    mastery_before: float,
    mastery_after: float,
    seconds_taken: float | None,
    expected_seconds: float | None,
) -> str:
    """One line after an answer: what changed (mastery on the main skill, in points) and why.

    Args:
        is_correct: Whether the answer was right.
        skill_name: The skill the line talks about (the one whose mastery moved most).
        mastery_before: Its mastery before the answer, in [0, 1].
        mastery_after: Its mastery after, in [0, 1].
        seconds_taken: Seconds spent (> 0), or None when not recorded.
        expected_seconds: The question's expected seconds (> 0), or None.

    Returns:
        A sentence such as "Correct: Linear equations mastery 42% → 55% (+13 points); faster than expected."
    """
    change = round(100.0 * (mastery_after - mastery_before))
    head = "Correct" if is_correct else "Not quite"
    moved = (f"{skill_name} mastery {mastery_before:.0%} → {mastery_after:.0%} ({change:+d} points)"
             if change else f"{skill_name} mastery unchanged at {mastery_after:.0%}")
    if is_correct:
        why = "a right answer is evidence you know it" if change > 0 else "you had already shown it"
    elif change > 0:
        # BKT's learning step: working a question is practice even when the answer is wrong.
        why = "working through a question still builds the skill; review the explanation"
    elif mastery_before >= 0.6:
        why = "a miss on a skill you seemed to know weighs more"
    else:
        why = "a miss points to a gap; review the explanation, then try a similar one"
    pace = ""
    if seconds_taken is not None and expected_seconds is not None and seconds_taken > 0 and expected_seconds > 0:
        ratio = seconds_taken / expected_seconds
        pace = "; faster than expected" if ratio <= 0.8 else "; slower than expected" if ratio >= 1.5 else ""
    return f"{head}: {moved}, because {why}{pace}."
