"""Trend, learning velocity and plateau detection over a time series (e.g. mastery history).

Times are POSIX seconds (UTC) and ``now`` is a timezone-aware datetime passed in.

Deviation from the seeds: the seeds call a concept "improving" when the summed deltas of
its last 7 days exceed +0.05 and compute velocity as net delta / window days. A sum of
deltas is a two-point difference, so one lucky answer flips it. Here the trend is the
least-squares slope per day over the window, labelled improving/declining only when it
is both practically large (|slope| ≥ ``min_slope_per_day``) and statistically
distinguishable from zero (|t| above the two-sided Student-t critical value on n − 2
degrees of freedom). Velocity is the same slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray

SECONDS_PER_DAY = 86_400.0


class Trend(StrEnum):
    IMPROVING = "improving"
    DECLINING = "declining"
    STABLE = "stable"


@dataclass(frozen=True, slots=True)
class TrendEstimate:
    """Least-squares line over the window; ``slope_se``/``t_statistic`` are NaN below 3 points."""

    direction: Trend
    slope_per_day: float
    slope_se: float
    t_statistic: float
    n_points: int


@dataclass(frozen=True, slots=True)
class PlateauCheck:
    """Plateau = below target while we are confident progress is slower than ``min_progress_per_day``."""

    is_plateau: bool
    latest_value: float | None
    slope_upper_bound: float  # one-sided upper confidence bound on the slope per day (NaN if unknown)


def student_t_quantile(*, probability: float, dof: int) -> float:
    """Student-t quantile: exact for 1 and 2 degrees of freedom, Cornish–Fisher expansion above.

    The expansion (Abramowitz & Stegun 26.7.5) is within 0.004 of the exact 0.975 quantile at dof 3
    and within 0.0003 from dof 5 on.

    Args:
        probability: Lower-tail probability in (0, 1).
        dof: Degrees of freedom (>= 1).

    Returns:
        The t value with P(T <= t) = probability.
    """
    if not 0.0 < probability < 1.0 or dof < 1:
        raise ValueError("need 0 < probability < 1 and dof >= 1")
    if dof == 1:
        return math.tan(math.pi * (probability - 0.5))
    if dof == 2:
        return (2.0 * probability - 1.0) / math.sqrt(2.0 * probability * (1.0 - probability))
    z = NormalDist().inv_cdf(probability)
    g1 = (z**3 + z) / 4.0
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384.0
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92_160.0
    return z + g1 / dof + g2 / dof**2 + g3 / dof**3 + g4 / dof**4


def _now_seconds(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()


def _window(
    *, times_s: npt.ArrayLike, values: npt.ArrayLike, now: datetime, window_days: float | None
) -> tuple[FloatArray, FloatArray]:
    """Points inside (now − window, now], as (days relative to now, values), in time order."""
    times = np.asarray(times_s, dtype=np.float64)
    series = np.asarray(values, dtype=np.float64)
    if times.ndim != 1 or times.shape != series.shape:
        raise ValueError("times_s and values must be 1-D arrays of one length")
    days = (times - _now_seconds(now)) / SECONDS_PER_DAY
    keep = days <= 0.0
    if window_days is not None:
        keep &= days > -window_days
    order = np.argsort(days[keep], kind="stable")
    return days[keep][order], series[keep][order]


def _least_squares(days: FloatArray, values: FloatArray) -> tuple[float, float]:
    """(slope, slope standard error); SE is NaN below 3 points, slope NaN without time spread."""
    n = days.size
    if n < 2:
        return math.nan, math.nan
    centred = days - days.mean()
    spread = float(centred @ centred)
    if spread == 0.0:
        return math.nan, math.nan
    slope = float(centred @ (values - values.mean())) / spread
    if n < 3:
        return slope, math.nan
    residuals = values - values.mean() - slope * centred
    return slope, math.sqrt(float(residuals @ residuals) / (n - 2) / spread)


def linear_trend(
    *,
    times_s: npt.ArrayLike,
    values: npt.ArrayLike,
    now: datetime,
    window_days: float | None = 30.0,
    min_slope_per_day: float = 0.005,
    confidence: float = 0.95,
) -> TrendEstimate:
    """Improving/declining/stable from the slope's size and its two-sided t-test at ``confidence``.

    Args:
        times_s: POSIX seconds (UTC) of each point; points after ``now`` are ignored.
        values: The series (e.g. mastery, a probability in [0, 1]), aligned with ``times_s``.
        now: The window's end (timezone-aware).
        window_days: Keep points in (now − window_days, now]; None keeps all points up to ``now``.
        min_slope_per_day: Smallest |slope| (value units per day) that can count as a trend.
        confidence: Two-sided confidence of the t-test, in (0, 1).

    Returns:
        TrendEstimate: direction; least-squares slope in value units per day (0.0 when fewer than 2 distinct
        times); its standard error and t-statistic (NaN below 3 points; t = ±inf for a perfect line); the
        number of points used. Below 3 points the direction is always stable.
    """
    days, series = _window(times_s=times_s, values=values, now=now, window_days=window_days)
    slope, slope_se = _least_squares(days, series)
    return _trend(slope, slope_se, int(days.size), min_slope_per_day=min_slope_per_day, confidence=confidence)


def _trend(slope: float, slope_se: float, n: int, *, min_slope_per_day: float, confidence: float) -> TrendEstimate:
    """The direction of a fitted slope (linear_trend's decision, shared with the window-sums path)."""
    if math.isnan(slope) or math.isnan(slope_se):
        return TrendEstimate(Trend.STABLE, 0.0 if math.isnan(slope) else slope, math.nan, math.nan, n)
    t_stat = math.copysign(math.inf, slope) if slope_se == 0.0 else slope / slope_se
    critical = student_t_quantile(probability=0.5 + confidence / 2.0, dof=n - 2)
    direction = Trend.STABLE
    if abs(slope) >= min_slope_per_day and abs(t_stat) > critical:
        direction = Trend.IMPROVING if slope > 0.0 else Trend.DECLINING
    return TrendEstimate(direction, slope, slope_se, t_stat, n)


def learning_velocity(
    *, times_s: npt.ArrayLike, values: npt.ArrayLike, now: datetime, window_days: float = 30.0
) -> float | None:
    """Least-squares gain per day over the window (e.g. mastery per day); None below 2 distinct times.

    Args:
        times_s: POSIX seconds (UTC) of each point; points after ``now`` are ignored.
        values: The series (e.g. mastery in [0, 1]), aligned with ``times_s``.
        now: The window's end (timezone-aware).
        window_days: Keep points in (now − window_days, now].

    Returns:
        Slope in value units per day (for mastery: probability per day, negative when falling); None when
        the window holds fewer than 2 distinct times.
    """
    days, series = _window(times_s=times_s, values=values, now=now, window_days=window_days)
    slope, _ = _least_squares(days, series)
    return None if math.isnan(slope) else slope


def detect_plateau(
    *,
    times_s: npt.ArrayLike,
    values: npt.ArrayLike,
    now: datetime,
    window_days: float = 14.0,
    target: float = 0.8,
    min_progress_per_day: float = 0.01,
    min_points: int = 5,
    confidence: float = 0.90,
) -> PlateauCheck:
    """Flag a plateau when the latest value is below ``target`` and the one-sided upper confidence
    bound of the slope is under ``min_progress_per_day`` (so noise alone never raises the flag).

    Args:
        times_s: POSIX seconds (UTC) of each point; points after ``now`` are ignored.
        values: The series (e.g. mastery in [0, 1]), aligned with ``times_s``.
        now: The window's end (timezone-aware).
        window_days: Keep points in (now − window_days, now].
        target: Value at or above which there is no plateau (0.8 mastery by default).
        min_progress_per_day: Progress per day (value units) that counts as still moving.
        min_points: Fewest points in the window to judge at all (at least 3 are always required).
        confidence: One-sided confidence of the upper bound, in (0, 1).

    Returns:
        PlateauCheck: the flag (False with too few points); the latest value in the window (None when
        empty); the slope's upper bound in value units per day (NaN when too few points).
    """
    days, series = _window(times_s=times_s, values=values, now=now, window_days=window_days)
    latest = float(series[-1]) if series.size else None
    slope, slope_se = _least_squares(days, series)
    return _plateau(latest, slope, slope_se, int(days.size), target=target, min_progress_per_day=min_progress_per_day,
                    min_points=min_points, confidence=confidence)


def _plateau(latest: float | None, slope: float, slope_se: float, n: int, *, target: float,
             min_progress_per_day: float, min_points: int, confidence: float) -> PlateauCheck:
    """detect_plateau's decision on a fitted slope (shared with the window-sums path)."""
    if n < max(min_points, 3) or math.isnan(slope_se):
        return PlateauCheck(False, latest, math.nan)
    upper = slope + student_t_quantile(probability=confidence, dof=n - 2) * slope_se
    below_target = latest is not None and latest < target
    return PlateauCheck(below_target and upper < min_progress_per_day, latest, upper)


@dataclass(frozen=True, slots=True)
class Velocity:
    """Mastery change per day, or None with the reason the evidence is too thin.

    ``per_day`` is in value units per day (mastery per day), within [−1, 1] by construction: the
    slope is only taken over a span of at least ``min_span_days`` (≥ 1 day) and then clipped, so
    a series in [0, 1] can never report more than a full swing per day. ``trend`` is None exactly
    when ``per_day`` is None.
    """

    per_day: float | None
    trend: Trend | None
    reason: str | None
    span_days: float
    n_points: int


def mastery_velocity(
    *,
    times_s: npt.ArrayLike,
    values: npt.ArrayLike,
    now: datetime,
    window_days: float = 30.0,
    min_span_days: float = 3.0,
    min_points: int = 3,
) -> Velocity:
    """The one definition of velocity and trend that learners see (insights, per skill and overall).

    The measured bug: a least-squares slope over points minutes apart extrapolates a few answers
    to hundreds of thousands of "mastery per day". Here no slope is reported until the window holds
    ``min_points`` points spread over ``min_span_days`` days.

    Args:
        times_s: POSIX seconds (UTC) of each point; points after ``now`` are ignored.
        values: The series (mastery in [0, 1]), aligned with ``times_s``.
        now: The window's end (timezone-aware).
        window_days: Keep points in (now − window_days, now].
        min_span_days: Fewest days between the first and last point (>= 1).
        min_points: Fewest points (>= 3, so the trend's t-test has a degree of freedom).

    Returns:
        Velocity: per_day in [−1, 1] mastery per day and the trend direction, or both None with a reason;
        the span in days (>= 0) and the number of points used.
    """
    days, _ = _window(times_s=times_s, values=values, now=now, window_days=window_days)
    n = int(days.size)
    thin = _thin_evidence(n, float(days[-1] - days[0]) if n else 0.0, min_span_days=min_span_days,
                          min_points=min_points)
    if thin is not None:
        return thin
    estimate = linear_trend(times_s=times_s, values=values, now=now, window_days=window_days)
    return Velocity(float(np.clip(estimate.slope_per_day, -1.0, 1.0)), estimate.direction, None,
                    float(days[-1] - days[0]), n)


def _thin_evidence(n: int, span: float, *, min_span_days: float, min_points: int) -> Velocity | None:
    """The no-velocity answer with its reason when the window is too thin, else None."""
    if min_span_days < 1.0 or min_points < 3:
        raise ValueError("need min_span_days >= 1 and min_points >= 3")
    if n < min_points:
        return Velocity(None, None, f"needs {min_points} answers on this skill, has {n}", span, n)
    if span < min_span_days:
        return Velocity(None, None, f"needs {min_span_days:g} days of history, has {span:.1f}", span, n)
    return None


@dataclass(frozen=True, slots=True)
class WindowSums:
    """One series' points in a window as least squares needs them, so a database can aggregate them.

    ``first``/``last`` are the earliest and latest point in days relative to ``now`` (<= 0); ``sxx``,
    ``sxy``, ``syy`` the centred sums Σ(t−t̄)², Σ(t−t̄)(y−ȳ), Σ(y−ȳ)² (PostgreSQL's regr_sxx/regr_sxy/regr_syy);
    ``latest`` the value of the latest point (None when empty).
    """

    n: int
    first: float
    last: float
    sxx: float
    sxy: float
    syy: float
    latest: float | None

    @classmethod
    def of(cls, *, times_s: npt.ArrayLike, values: npt.ArrayLike, now: datetime,
           window_days: float | None) -> WindowSums:
        """The sums of the points inside (now − window, now] (the raw-points reference of the SQL aggregate)."""
        days, series = _window(times_s=times_s, values=values, now=now, window_days=window_days)
        if not days.size:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0, None)
        dt, dy = days - days.mean(), series - series.mean()
        return cls(int(days.size), float(days[0]), float(days[-1]), float(dt @ dt), float(dt @ dy), float(dy @ dy),
                   float(series[-1]))

    def fit(self) -> tuple[float, float]:
        """(slope, slope standard error) as _least_squares gives them from the points (equal up to rounding)."""
        if self.n < 2 or self.first == self.last:
            return math.nan, math.nan
        slope = self.sxy / self.sxx
        if self.n < 3:
            return slope, math.nan
        # Σ residual² = syy − slope·sxy; rounding can take an exact line a hair below zero.
        return slope, math.sqrt(max(0.0, self.syy - slope * self.sxy) / (self.n - 2) / self.sxx)


def mastery_velocity_from_sums(sums: WindowSums, *, min_span_days: float = 3.0, min_points: int = 3,
                               min_slope_per_day: float = 0.005, confidence: float = 0.95) -> Velocity:
    """mastery_velocity from its window's sums (same thresholds, same reasons)."""
    span = sums.last - sums.first if sums.n else 0.0
    thin = _thin_evidence(sums.n, span, min_span_days=min_span_days, min_points=min_points)
    if thin is not None:
        return thin
    slope, slope_se = sums.fit()
    estimate = _trend(slope, slope_se, sums.n, min_slope_per_day=min_slope_per_day, confidence=confidence)
    return Velocity(float(np.clip(estimate.slope_per_day, -1.0, 1.0)), estimate.direction, None, span, sums.n)


def detect_plateau_from_sums(sums: WindowSums, *, target: float = 0.8, min_progress_per_day: float = 0.01,
                             min_points: int = 5, confidence: float = 0.90) -> PlateauCheck:
    """detect_plateau from its window's sums (14 days by default there: aggregate the same window)."""
    slope, slope_se = sums.fit()
    return _plateau(sums.latest, slope, slope_se, sums.n, target=target, min_progress_per_day=min_progress_per_day,
                    min_points=min_points, confidence=confidence)
