"""The numbers a learner sees (issue 13): exact values, and properties over generated learner histories.

Every number is finite and inside its documented range, and coherent with its neighbours: velocity within
±1/day and null until 3 days of history; ready ⇔ pass probability ≥ 0.5 ⇔ days to ready 0; days to ready
at most the horizon.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.alerts import AlertKind, Urgency, percentile_change_alert
from smartpractice.learner.breakdown import (
    accuracy_by_difficulty,
    answer_feedback,
    levels_by_group,
    speed_vs_expected,
)
from smartpractice.learner.exam_scores import HORIZON_DAYS, assess_readiness
from smartpractice.learner.performance import MasteryLevel, performance_scores
from smartpractice.learner.trends import SECONDS_PER_DAY, Trend, mastery_velocity

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

# A learner history: answers as (days ago, mastery after), in any order.
histories = st.lists(st.tuples(st.floats(0.0, 40.0), st.floats(0.0, 1.0)), max_size=40)


def test_ten_answers_in_one_sitting_have_no_velocity() -> None:
    # The measured bug: 10 answers minutes apart gave 296,119 mastery per day.
    times = NOW.timestamp() - np.arange(10)[::-1] * 60.0
    v = mastery_velocity(times_s=times, values=np.linspace(0.2, 0.9, 10), now=NOW)
    assert (v.per_day, v.trend, v.n_points) == (None, None, 10)
    assert v.reason == "needs 3 days of history, has 0.0"


def test_velocity_over_four_days_is_the_least_squares_slope() -> None:
    times = NOW.timestamp() - np.array([4.0, 3.0, 2.0, 1.0, 0.0]) * SECONDS_PER_DAY
    v = mastery_velocity(times_s=times, values=[0.2, 0.25, 0.3, 0.35, 0.4], now=NOW)
    assert v.per_day == pytest.approx(0.05)
    assert v.trend == Trend.IMPROVING and v.reason is None and v.span_days == pytest.approx(4.0)


def test_two_points_are_too_few() -> None:
    times = NOW.timestamp() - np.array([10.0, 0.0]) * SECONDS_PER_DAY
    assert mastery_velocity(times_s=times, values=[0.1, 0.9], now=NOW).reason == "needs 3 answers on this skill, has 2"


@settings(max_examples=300)
@given(history=histories)
def test_velocity_is_null_or_within_one_per_day(history: list[tuple[float, float]]) -> None:
    days = np.array([d for d, _ in history])
    values = np.array([m for _, m in history])
    v = mastery_velocity(times_s=NOW.timestamp() - days * SECONDS_PER_DAY, values=values, now=NOW)
    assert (v.per_day is None) == (v.trend is None) == (v.reason is not None)
    if v.per_day is not None:
        assert math.isfinite(v.per_day) and -1.0 <= v.per_day <= 1.0
        assert v.span_days >= 3.0 and v.n_points >= 3


def test_readiness_exact_values() -> None:
    r = assess_readiness(score=560.0, lower=500.0, upper=620.0, target=600.0, points_per_day=2.0, days_left=30)
    # sd = 120 / (2 · 1.6449) = 36.48; P(X ≥ 600) = 1 − Φ(40 / 36.48) = 0.1364
    assert r.pass_probability == pytest.approx(0.1364, abs=1e-4)
    assert (r.ready, r.days_to_ready, r.on_track) == (False, 20, True)
    never = assess_readiness(score=560.0, lower=500.0, upper=620.0, target=600.0, points_per_day=0.0, days_left=None)
    assert never.days_to_ready is None and never.days_to_ready_reason is not None and never.on_track is None
    cold = assess_readiness(score=560.0, lower=500.0, upper=620.0, target=600.0, points_per_day=None, days_left=9)
    assert cold.days_to_ready is None and cold.days_to_ready_reason == "no projection yet: needs 3 days of history"


@settings(max_examples=300)
@given(score=st.integers(20, 80), half=st.integers(0, 30), target=st.integers(20, 80),
       rate=st.none() | st.floats(-5.0, 50.0), days_left=st.none() | st.integers(0, 400))
def test_readiness_never_contradicts_the_pass_probability(
        score: int, half: int, target: int, rate: float | None, days_left: int | None) -> None:
    s, t = 10.0 * score, 10.0 * target
    r = assess_readiness(score=s, lower=max(200.0, s - 10 * half), upper=min(800.0, s + 10 * half), target=t,
                         points_per_day=rate, days_left=days_left)
    assert 0.0 <= r.pass_probability <= 1.0
    assert r.ready == (r.pass_probability >= 0.5) == (r.days_to_ready == 0) == (s >= t)
    assert r.days_to_ready is None or 0 <= r.days_to_ready <= HORIZON_DAYS
    assert (r.days_to_ready is None) == (r.days_to_ready_reason is not None)
    assert r.on_track is None or r.on_track == (r.days_to_ready is not None and r.days_to_ready <= (days_left or 0))


def test_speed_difficulty_and_levels_exact() -> None:
    speed = speed_vs_expected(seconds_taken=[60.0, 120.0, math.nan, 30.0], expected_seconds=[60.0, 60.0, 60.0, 60.0],
                              correct=[True, True, True, False])
    assert (speed.answers, speed.median_time_ratio) == (3, 1.0)
    assert speed.within_expected == pytest.approx(2 / 3)
    assert speed.speed_score == pytest.approx(75.0)  # mean(min(1, 1), min(1, 0.5))
    assert speed_vs_expected(seconds_taken=[], expected_seconds=[], correct=[]).median_time_ratio is None
    bands = accuracy_by_difficulty(difficulty=["easy", "easy", "hard"], correct=[True, False, True])
    assert [(b.band, b.answers, b.accuracy) for b in bands] == [("easy", 2, 0.5), ("medium", 0, None),
                                                                ("hard", 1, 1.0)]
    levels = levels_by_group(group=[7] * 10 + [3] * 5 + [5], correct=[True] * 8 + [False] * 2 + [True] * 3
                             + [False] * 2 + [False])
    assert [(g.key, g.level) for g in levels] == [(3, MasteryLevel.PROFICIENT), (5, MasteryLevel.NEEDS_FOCUS),
                                                  (7, MasteryLevel.MASTERED)]


@settings(max_examples=200)
@given(answers=st.lists(st.tuples(st.booleans(), st.floats(1.0, 600.0), st.sampled_from([45.0, 75.0, 110.0]),
                                  st.sampled_from(["easy", "medium", "hard"]), st.integers(1, 4)), max_size=40),
       gain=st.none() | st.floats(-1.0, 1.0))
def test_breakdowns_and_performance_score_are_in_range(
        answers: list[tuple[bool, float, float, str, int]], gain: float | None) -> None:
    correct = [a[0] for a in answers]
    speed = speed_vs_expected(seconds_taken=[a[1] for a in answers], expected_seconds=[a[2] for a in answers],
                              correct=correct)
    assert speed.answers == len(answers)
    assert speed.speed_score is None or 0.0 <= speed.speed_score <= 100.0
    assert speed.within_expected is None or 0.0 <= speed.within_expected <= 1.0
    assert sum(b.answers for b in accuracy_by_difficulty(difficulty=[a[3] for a in answers], correct=correct)) \
        == len(answers)
    groups = levels_by_group(group=[a[4] for a in answers], correct=correct)
    assert sum(g.answers for g in groups) == len(answers)
    for g in groups:
        assert 0.0 <= g.accuracy <= 1.0
        assert g.level != MasteryLevel.MASTERED or (g.accuracy >= 0.8 and g.answers >= 10)
    scores = performance_scores(correct=correct, seconds_taken=[a[1] for a in answers],
                                target_seconds=[a[2] for a in answers], session_accuracy=[], mastery_gain=gain)
    parts = [scores.accuracy, scores.speed, scores.consistency, scores.progress]
    assert all(p is None or 0.0 <= p <= 100.0 for p in parts)
    assert (scores.overall is None) == all(p is None for p in parts)
    if scores.overall is not None:
        present = [p for p in parts if p is not None]
        assert min(present) - 1e-9 <= scores.overall <= max(present) + 1e-9


def test_feedback_line_says_what_changed_and_why() -> None:
    line = answer_feedback(is_correct=True, skill_name="Linear equations", mastery_before=0.42, mastery_after=0.55,
                           seconds_taken=40.0, expected_seconds=75.0)
    assert line == ("Correct: Linear equations mastery 42% → 55% (+13 points), because a right answer is evidence "
                    "you know it; faster than expected.")
    miss = answer_feedback(is_correct=False, skill_name="Ratios", mastery_before=0.7, mastery_after=0.5,
                           seconds_taken=None, expected_seconds=75.0)
    assert miss == ("Not quite: Ratios mastery 70% → 50% (-20 points), because a miss on a skill you seemed to "
                    "know weighs more.")
    gap = answer_feedback(is_correct=False, skill_name="Ratios", mastery_before=0.3, mastery_after=0.25,
                          seconds_taken=None, expected_seconds=None)
    assert gap == ("Not quite: Ratios mastery 30% → 25% (-5 points), because a miss points to a gap; review the "
                   "explanation, then try a similar one.")
    learning = answer_feedback(is_correct=False, skill_name="Trigonometry", mastery_before=0.28, mastery_after=0.35,
                               seconds_taken=None, expected_seconds=None)
    assert learning == ("Not quite: Trigonometry mastery 28% → 35% (+7 points), because working through a question "
                        "still builds the skill; review the explanation.")


def test_percentile_change_alert_both_ways() -> None:
    up = percentile_change_alert(previous_percentile=40.0, current_percentile=55.0, now=NOW)
    assert up is not None and (up.kind, up.urgency, up.value) == (AlertKind.PERCENTILE_CHANGE, Urgency.LOW, 15.0)
    down = percentile_change_alert(previous_percentile=60.0, current_percentile=45.0, now=NOW)
    assert down is not None and down.urgency == Urgency.MEDIUM
    assert percentile_change_alert(previous_percentile=None, current_percentile=45.0, now=NOW) is None
    assert percentile_change_alert(previous_percentile=40.0, current_percentile=50.0, now=NOW) is None
