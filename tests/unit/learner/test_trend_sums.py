"""Velocity and plateau from a window's sums (what insights_context aggregates in SQL) equal them on the points."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner import trends

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
POINTS = st.lists(st.tuples(st.floats(-40.0, 0.5), st.floats(0.0, 1.0)), max_size=80)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=300, deadline=None)
@given(points=POINTS, window=st.sampled_from([7, 30]))
def test_sums_give_the_points_velocity_and_plateau(points: list[tuple[float, float]], window: int) -> None:
    times = [NOW.timestamp() + d * 86_400.0 for d, _ in points]
    values = [v for _, v in points]
    on_points = trends.mastery_velocity(times_s=times, values=values, now=NOW, window_days=window)
    from_sums = trends.mastery_velocity_from_sums(
        trends.WindowSums.of(times_s=times, values=values, now=NOW, window_days=window))
    assert (from_sums.trend, from_sums.reason, from_sums.n_points) == (on_points.trend, on_points.reason,
                                                                      on_points.n_points)
    assert _close(from_sums.per_day, on_points.per_day) and _close(from_sums.span_days, on_points.span_days)
    plateau = trends.detect_plateau(times_s=times, values=values, now=NOW)
    plateau_sums = trends.detect_plateau_from_sums(
        trends.WindowSums.of(times_s=times, values=values, now=NOW, window_days=14.0))
    assert plateau_sums.is_plateau == plateau.is_plateau
    assert _close(plateau_sums.latest_value, plateau.latest_value)
    assert _close(plateau_sums.slope_upper_bound, plateau.slope_upper_bound)


def test_sums_of_a_known_series() -> None:
    """Four points a day apart on y = 0.1 + 0.02·t (t in days before now): exact centred sums, no residual."""
    days = [-3.0, -2.0, -1.0, 0.0]
    sums = trends.WindowSums.of(times_s=[NOW.timestamp() + d * 86_400.0 for d in days],
                                values=[0.1 + 0.02 * (d + 3.0) for d in days], now=NOW, window_days=30.0)
    assert (sums.n, sums.first, sums.last) == (4, -3.0, 0.0) and sums.latest == pytest.approx(0.16)
    assert sums.sxx == pytest.approx(5.0) and sums.sxy == pytest.approx(0.1) and sums.syy == pytest.approx(0.002)
    slope, slope_se = sums.fit()
    assert slope == pytest.approx(0.02) and slope_se == pytest.approx(0.0, abs=1e-9)
    assert all(math.isnan(v) for v in trends.WindowSums(1, -1.0, -1.0, 0.0, 0.0, 0.0, 0.5).fit())
