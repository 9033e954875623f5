"""Performance alerts from the seed's rules (student performance analytics, "Performance Alert System").

Seed rule → our reading of it:

* performance_drop (high): "accuracy_drop > 15 % over 3 consecutive tests" → each of the
  last 3 sessions is more than 15 points below the mean of the sessions before them.
* streak_break (medium): "correct_streak_ended AND streak_length > 10" → the latest answer
  is wrong and the run of correct answers just before it is longer than 10.
* milestone (low): "accuracy_threshold_crossed OR percentile_jump > 10" → accuracy moved
  from below to at/above one of the milestone thresholds (highest one reported), or the
  cohort percentile rose by more than 10 points.
* percentile_change (low up / medium down): the seed's "percentile_jump > 10" also read
  downwards — the cohort percentile moved by more than 10 points since the last reading.
* exam_readiness (medium): "predicted_success_rate > target_threshold" → the pass
  probability crossed above the target (raised once on the crossing, not every day).

``now`` stamps the alerts; nothing reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt


class AlertKind(StrEnum):
    PERFORMANCE_DROP = "performance_drop"
    STREAK_BREAK = "streak_break"
    MILESTONE = "milestone"
    EXAM_READINESS = "exam_readiness"
    PERCENTILE_CHANGE = "percentile_change"


class Urgency(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    urgency: Urgency
    value: float
    message: str
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class AlertRules:
    drop_points: float = 0.15
    drop_sessions: int = 3
    streak_length: int = 10
    accuracy_milestones: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
    percentile_jump: float = 10.0
    pass_probability_target: float = 0.80


def performance_drop_alert(
    *, session_accuracy: npt.ArrayLike, now: datetime, rules: AlertRules | None = None
) -> Alert | None:
    """Sessions in time order; needs at least one session before the last ``drop_sessions``.

    Args:
        session_accuracy: Accuracy per session as a fraction in [0, 1], oldest first.
        now: Timestamp for the alert (timezone-aware); no clock is read.
        rules: Thresholds; default AlertRules() (each of the last 3 sessions > 0.15 below the baseline).

    Returns:
        A high-urgency Alert whose value is the drop (baseline mean − mean of the last sessions, a fraction
        in (0.15, 1]), or None when there are too few sessions or no drop.
    """
    chosen = rules if rules is not None else AlertRules()
    sessions = np.asarray(session_accuracy, dtype=np.float64)
    if sessions.size <= chosen.drop_sessions:
        return None
    baseline = float(sessions[: -chosen.drop_sessions].mean())
    recent = sessions[-chosen.drop_sessions :]
    if not np.all(recent < baseline - chosen.drop_points):
        return None
    drop = baseline - float(recent.mean())
    return Alert(
        AlertKind.PERFORMANCE_DROP, Urgency.HIGH, drop,
        f"Accuracy in your last {chosen.drop_sessions} sessions is {drop:.0%} below "
        f"your usual {baseline:.0%}.",
        now,
    )


def streak_break_alert(
    *, answers_correct: npt.ArrayLike, now: datetime, rules: AlertRules | None = None
) -> Alert | None:
    """Answers in time order; alert when the newest is wrong after a long run of correct ones.

    Args:
        answers_correct: Correctness per answer (bools or 0/1), oldest first.
        now: Timestamp for the alert (timezone-aware).
        rules: Thresholds; default AlertRules() (a run longer than 10 answers).

    Returns:
        A medium-urgency Alert whose value is the length of the broken run (answers), or None.
    """
    chosen = rules if rules is not None else AlertRules()
    answers = np.asarray(answers_correct, dtype=np.bool_)
    if answers.size < 2 or answers[-1]:
        return None
    before = answers[:-1][::-1]
    misses = np.flatnonzero(~before)
    streak = int(misses[0]) if misses.size else int(before.size)
    if streak <= chosen.streak_length:
        return None
    return Alert(
        AlertKind.STREAK_BREAK, Urgency.MEDIUM, float(streak),
        f"Your streak of {streak} correct answers just ended — that run still counts.", now,
    )


def milestone_alert(
    *,
    previous_accuracy: float,
    current_accuracy: float,
    now: datetime,
    previous_percentile: float | None = None,
    current_percentile: float | None = None,
    rules: AlertRules | None = None,
) -> Alert | None:
    """Highest accuracy milestone crossed upwards, else a percentile jump, else None.

    Args:
        previous_accuracy: Accuracy of the earlier period, a fraction in [0, 1].
        current_accuracy: Accuracy of the later period, a fraction in [0, 1].
        now: Timestamp for the alert (timezone-aware).
        previous_percentile: Cohort percentile 0–100 before, or None (no percentile check).
        current_percentile: Cohort percentile 0–100 now, or None.
        rules: Milestones (0.5 … 0.9) and the percentile jump (> 10 points); default AlertRules().

    Returns:
        A low-urgency Alert whose value is the milestone crossed (a fraction) or the jump (percentile
        points), or None.
    """
    chosen = rules if rules is not None else AlertRules()
    crossed = [t for t in chosen.accuracy_milestones if previous_accuracy < t <= current_accuracy]
    if crossed:
        return Alert(
            AlertKind.MILESTONE, Urgency.LOW, max(crossed),
            f"Milestone: your accuracy reached {max(crossed):.0%}.", now,
        )
    if previous_percentile is not None and current_percentile is not None:
        jump = current_percentile - previous_percentile
        if jump > chosen.percentile_jump:
            return Alert(
                AlertKind.MILESTONE, Urgency.LOW, jump,
                f"Milestone: you moved up {jump:.0f} percentile points.", now,
            )
    return None


def exam_readiness_alert(
    *, previous_pass_probability: float, current_pass_probability: float, now: datetime,
    rules: AlertRules | None = None,
) -> Alert | None:
    """An alert on the day the pass probability first rises above the target.

    Args:
        previous_pass_probability: Pass probability before, in [0, 1].
        current_pass_probability: Pass probability now, in [0, 1].
        now: Timestamp for the alert (timezone-aware).
        rules: The target; default AlertRules() (0.80).

    Returns:
        A medium-urgency Alert whose value is the current pass probability, or None without a crossing.
    """
    chosen = rules if rules is not None else AlertRules()
    target = chosen.pass_probability_target
    if not previous_pass_probability <= target < current_pass_probability:
        return None
    return Alert(
        AlertKind.EXAM_READINESS, Urgency.MEDIUM, current_pass_probability,
        f"Your predicted chance of passing is now {current_pass_probability:.0%} — time to book the exam.",
        now,
    )


def percentile_change_alert(
    *, previous_percentile: float | None, current_percentile: float | None, now: datetime,
    rules: AlertRules | None = None,
) -> Alert | None:
    """An alert when the cohort percentile moved by more than ``percentile_jump`` points either way.

    Args:
        previous_percentile: Percentile 0–100 at the earlier reading, or None (no alert: no baseline).
        current_percentile: Percentile 0–100 now, or None (no alert: the cohort is not k-anonymous).
        now: Timestamp for the alert (timezone-aware).
        rules: The jump; default AlertRules() (more than 10 points).

    Returns:
        An Alert whose value is the signed change in percentile points (low urgency up, medium down), or None.
    """
    chosen = rules if rules is not None else AlertRules()
    if previous_percentile is None or current_percentile is None:
        return None
    change = current_percentile - previous_percentile
    if abs(change) <= chosen.percentile_jump:
        return None
    direction = "up" if change > 0 else "down"
    return Alert(
        AlertKind.PERCENTILE_CHANGE, Urgency.LOW if change > 0 else Urgency.MEDIUM, change,
        f"You moved {direction} {abs(change):.0f} percentile points among learners like you.", now,
    )
