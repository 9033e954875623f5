"""Alerts, cohort percentile with k-anonymity, and study patterns: pinned cases."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.alerts import (
    AlertKind,
    Urgency,
    exam_readiness_alert,
    milestone_alert,
    performance_drop_alert,
    streak_break_alert,
)
from smartpractice.learner.insights import accuracy_by_time_of_day, cohort_percentile, session_length_stats

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_performance_drop_alert() -> None:
    alert = performance_drop_alert(session_accuracy=[0.8, 0.8, 0.8, 0.6, 0.62, 0.6], now=NOW)
    # baseline 0.8; last three all below 0.8 − 0.15 = 0.65; drop = 0.8 − 0.60667 = 0.19333
    assert alert is not None
    assert (alert.kind, alert.urgency, alert.raised_at) == (AlertKind.PERFORMANCE_DROP, Urgency.HIGH, NOW)
    assert alert.value == pytest.approx(0.1933333, abs=1e-6)
    # One of the last three at 0.70 is within 15 points → no alert; too little history → no alert.
    assert performance_drop_alert(session_accuracy=[0.8, 0.8, 0.8, 0.6, 0.7, 0.6], now=NOW) is None
    assert performance_drop_alert(session_accuracy=[0.9, 0.1, 0.1], now=NOW) is None


def test_streak_break_alert() -> None:
    alert = streak_break_alert(answers_correct=[False] + [True] * 11 + [False], now=NOW)
    assert alert is not None and alert.value == 11.0 and alert.urgency is Urgency.MEDIUM
    assert streak_break_alert(answers_correct=[True] * 10 + [False], now=NOW) is None  # seed: > 10
    assert streak_break_alert(answers_correct=[True] * 12, now=NOW) is None  # still going


def test_milestone_alert() -> None:
    crossed = milestone_alert(previous_accuracy=0.68, current_accuracy=0.81, now=NOW)
    assert crossed is not None and crossed.value == 0.8 and crossed.kind is AlertKind.MILESTONE
    jump = milestone_alert(previous_accuracy=0.61, current_accuracy=0.62, now=NOW,
                           previous_percentile=40.0, current_percentile=55.0)
    assert jump is not None and jump.value == 15.0
    assert milestone_alert(previous_accuracy=0.61, current_accuracy=0.62, now=NOW,
                           previous_percentile=40.0, current_percentile=50.0) is None


def test_exam_readiness_alert_fires_on_crossing_only() -> None:
    alert = exam_readiness_alert(previous_pass_probability=0.75, current_pass_probability=0.82, now=NOW)
    assert alert is not None and alert.kind is AlertKind.EXAM_READINESS and alert.value == 0.82
    already = exam_readiness_alert(previous_pass_probability=0.81, current_pass_probability=0.85, now=NOW)
    assert already is None


def test_cohort_percentile_k_anonymity() -> None:
    cohort = np.arange(1.0, 51.0)  # 50 peers: 1..50
    # value 5: 4 below, 1 equal → 100·(4 + 0.5)/50 = 9
    assert cohort_percentile(value=5.0, cohort=cohort) == pytest.approx(9.0)
    assert cohort_percentile(value=51.0, cohort=cohort) == pytest.approx(100.0)
    assert cohort_percentile(value=5.0, cohort=cohort[:49]) is None  # 49 < k = 50
    assert cohort_percentile(value=5.0, cohort=[*cohort[:49], np.nan]) is None  # NaNs do not count


@settings(max_examples=60, deadline=None)
@given(cohort=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=50, max_size=80),
       value=st.floats(min_value=-1e6, max_value=1e6))
def test_percentile_bounds_and_no_mutation(cohort: list[float], value: float) -> None:
    values = np.array(cohort)
    before = values.copy()
    percentile = cohort_percentile(value=value, cohort=values)
    assert percentile is not None and 0.0 <= percentile <= 100.0
    np.testing.assert_array_equal(values, before)


def test_accuracy_by_time_of_day() -> None:
    hours = [8] * 20 + [19] * 20 + [2] * 2
    correct = [1] * 15 + [0] * 5 + [1] * 10 + [0] * 10 + [1, 1]
    pattern = accuracy_by_time_of_day(local_hours=hours, correct=correct)
    summary = [(bucket.name, bucket.answers, bucket.accuracy) for bucket in pattern.buckets]
    assert summary == [("night", 2, 1.0), ("morning", 20, 0.75), ("afternoon", 0, None), ("evening", 20, 0.5)]
    # Night is perfect but has 2 answers (< 20): the best bucket is morning.
    assert pattern.best_bucket == "morning"
    assert accuracy_by_time_of_day(local_hours=[9], correct=[1]).best_bucket is None
    with pytest.raises(ValueError):
        accuracy_by_time_of_day(local_hours=[24], correct=[1])


def test_session_length_stats() -> None:
    stats = session_length_stats(durations_minutes=[10, 20, 30, 40, 50])
    assert stats is not None
    # linear-interpolated percentiles of 10..50: p25 = 20, median 30, p75 40, p90 = 40 + 0.6·10 = 46
    assert (stats.sessions, stats.total_minutes, stats.mean_minutes) == (5, 150.0, 30.0)
    assert (stats.p25_minutes, stats.median_minutes, stats.p75_minutes) == (20.0, 30.0, 40.0)
    assert stats.p90_minutes == pytest.approx(46.0)
    assert session_length_stats(durations_minutes=[]) is None
