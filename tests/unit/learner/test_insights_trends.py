"""Trend, velocity and plateau: pinned least-squares arithmetic and significance behaviour."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.trends import (
    SECONDS_PER_DAY,
    Trend,
    detect_plateau,
    learning_velocity,
    linear_trend,
    student_t_quantile,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _times(days_ago: Sequence[float]) -> np.ndarray:
    return NOW.timestamp() - np.asarray(days_ago) * SECONDS_PER_DAY


def test_student_t_quantiles_match_tables() -> None:
    # Exact closed forms for 1 and 2 dof; table values 3.1824, 2.5706, 2.2281 for 3, 5, 10 dof.
    assert student_t_quantile(probability=0.975, dof=1) == pytest.approx(12.7062047, abs=1e-6)
    assert student_t_quantile(probability=0.975, dof=2) == pytest.approx(4.3026527, abs=1e-6)
    assert student_t_quantile(probability=0.975, dof=3) == pytest.approx(3.1824463, abs=4e-3)
    assert student_t_quantile(probability=0.975, dof=5) == pytest.approx(2.5705818, abs=3e-4)
    assert student_t_quantile(probability=0.975, dof=10) == pytest.approx(2.2281389, abs=1e-5)


def test_noisy_series_is_stable_with_pinned_statistics() -> None:
    estimate = linear_trend(times_s=_times([4, 3, 2, 1, 0]), values=[0.50, 0.60, 0.52, 0.58, 0.55], now=NOW)
    # x centred = [−2, −1, 0, 1, 2], Sxx = 10; y − ȳ = [−.05, .05, −.03, .03, 0]; Sxy = 0.08
    # slope = 0.008/day; residuals [−.034, .058, −.03, .022, −.016], SS = 0.00616,
    # SE = sqrt(0.00616 / 3 / 10) = 0.0143295; t = 0.5583 < t(0.975, 3) = 3.18 → stable
    assert estimate.slope_per_day == pytest.approx(0.008, abs=1e-12)
    assert estimate.slope_se == pytest.approx(0.0143294, abs=1e-6)
    assert estimate.t_statistic == pytest.approx(0.558291, abs=1e-5)
    assert estimate.direction is Trend.STABLE
    assert estimate.n_points == 5


def test_clear_rise_and_fall_are_labelled() -> None:
    rising = linear_trend(times_s=_times([4, 3, 2, 1, 0]), values=[0.50, 0.56, 0.59, 0.66, 0.70], now=NOW)
    assert rising.direction is Trend.IMPROVING and rising.slope_per_day == pytest.approx(0.05, abs=1e-3)
    falling = linear_trend(times_s=_times([4, 3, 2, 1, 0]), values=[0.70, 0.66, 0.59, 0.56, 0.50], now=NOW)
    assert falling.direction is Trend.DECLINING


def test_significant_but_tiny_slope_is_stable() -> None:
    # A perfect line (t = ∞) of 0.003/day is below the practical threshold of 0.005/day.
    values = [0.5, 0.503, 0.506, 0.509, 0.512]
    estimate = linear_trend(times_s=_times([4, 3, 2, 1, 0]), values=values, now=NOW)
    assert estimate.direction is Trend.STABLE
    assert estimate.slope_per_day == pytest.approx(0.003, abs=1e-12)


def test_window_and_future_points_are_excluded() -> None:
    # 45 days ago is outside the 30-day window; −1 day (in the future) is ignored.
    estimate = linear_trend(times_s=_times([45, 2, 1, 0, -1]), values=[0.0, 0.5, 0.6, 0.7, 5.0], now=NOW)
    assert estimate.n_points == 3
    assert estimate.slope_per_day == pytest.approx(0.1, abs=1e-12)


def test_too_few_points_are_stable_with_nan_statistics() -> None:
    two = linear_trend(times_s=_times([1, 0]), values=[0.2, 0.9], now=NOW)
    assert two.direction is Trend.STABLE and math.isnan(two.slope_se)
    assert two.slope_per_day == pytest.approx(0.7)


def test_learning_velocity_pinned() -> None:
    # Least-squares slope of mastery 0.4 → 0.7 over 6 days on a line = 0.05/day.
    velocity = learning_velocity(times_s=_times([6, 4, 2, 0]), values=[0.4, 0.5, 0.6, 0.7], now=NOW)
    assert velocity == pytest.approx(0.05, abs=1e-12)
    assert learning_velocity(times_s=_times([1]), values=[0.5], now=NOW) is None


def test_plateau_detection() -> None:
    days = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    wobble = [0.5, 0.52, 0.5, 0.51, 0.5, 0.52, 0.5, 0.51, 0.5, 0.51]
    flat = detect_plateau(times_s=_times(days), values=wobble, now=NOW)
    assert flat.is_plateau and flat.latest_value == 0.51 and flat.slope_upper_bound < 0.01
    climbing = detect_plateau(times_s=_times(days), values=list(np.linspace(0.3, 0.75, 10)), now=NOW)
    assert not climbing.is_plateau
    mastered = detect_plateau(times_s=_times(days), values=[0.9] * 10, now=NOW)
    assert not mastered.is_plateau  # flat above target is mastery, not a plateau
    few = detect_plateau(times_s=_times([2, 1, 0]), values=[0.5, 0.5, 0.5], now=NOW)
    assert not few.is_plateau and math.isnan(few.slope_upper_bound)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        linear_trend(times_s=[0.0], values=[0.0], now=datetime(2025, 1, 1))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=3, max_size=20),
       shift=st.floats(min_value=-0.5, max_value=0.5))
def test_trend_is_invariant_to_level_shift(values: list[float], shift: float) -> None:
    times = _times(list(np.arange(len(values))[::-1].astype(float)))
    series = np.array(values)
    before = series.copy()
    base = linear_trend(times_s=times, values=series, now=NOW)
    shifted = linear_trend(times_s=times, values=series + shift, now=NOW)
    np.testing.assert_array_equal(series, before)
    assert base.direction == shifted.direction
    assert base.slope_per_day == pytest.approx(shifted.slope_per_day, abs=1e-9)
