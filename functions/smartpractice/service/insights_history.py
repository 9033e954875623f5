"""What insights uses of the window's mastery history: each skill's velocity and plateau check, and the daily
mastery events the growth series carries forward.

insights_context aggregates them in SQL (skill_trends: least-squares sums per skill and window; history_days: the
last mastery per skill and local day). A context carrying the raw rows instead (history: skill_id, mastery_after,
epoch) is read with the functions on the points themselves: the reference the SQL path is tested against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from smartpractice.db.contexts import InsightsContext
from smartpractice.learner import series, trends

Row = dict[str, Any]
SkillTrend = tuple[trends.Velocity, trends.PlateauCheck]
_NO_POINTS = np.array([], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class HistoryView:
    """Per skill its (velocity, plateau check); the mastery events, in day order, for the daily series."""

    trend_of: Callable[[int], SkillTrend]
    event_days: list[date]
    skill_ids: list[int]
    mastery_after: list[float]


def _on_points(times: np.ndarray, values: np.ndarray, now: datetime, days: int) -> SkillTrend:
    return (trends.mastery_velocity(times_s=times, values=values, now=now, window_days=days),
            trends.detect_plateau(times_s=times, values=values, now=now))


def _from_raw(history: Row, now: datetime, days: int, zone: ZoneInfo) -> HistoryView:
    skill = np.array(history.get("skill_id", []), dtype=np.int64)
    times = np.array(history.get("epoch", []), dtype=np.float64)
    values = np.array(history.get("mastery_after", []), dtype=np.float64)
    by_skill = {int(k): _on_points(times[skill == k], values[skill == k], now, days) for k in np.unique(skill)}
    empty = _on_points(_NO_POINTS, _NO_POINTS, now, days)
    return HistoryView(trend_of=lambda sid: by_skill.get(sid, empty),
                       event_days=series.local_days(epoch_s=times, zone=zone),
                       skill_ids=skill.tolist(), mastery_after=values.tolist())


def _sums(columns: Row) -> dict[int, trends.WindowSums]:
    """Per skill the window's sums, from insights_context's columns (regr_* are null below 2 points, where the
    fit needs none of them)."""
    return {int(k): trends.WindowSums(n=int(n), first=float(first), last=float(last), sxx=float(sxx or 0.0),
                                      sxy=float(sxy or 0.0), syy=float(syy or 0.0),
                                      latest=None if latest is None else float(latest))
            for k, n, first, last, sxx, sxy, syy, latest in zip(
                columns["skill_id"], columns["n"], columns["first"], columns["last"], columns["sxx"], columns["sxy"],
                columns["syy"], columns["latest"], strict=True)}


def _from_sums(skill_trends: Row, history_days: Row, now: datetime, days: int) -> HistoryView:
    velocity = _sums(skill_trends["velocity"]) if skill_trends.get("velocity") else {}
    plateau = _sums(skill_trends["plateau"]) if skill_trends.get("plateau") else {}
    empty = _on_points(_NO_POINTS, _NO_POINTS, now, days)

    def trend_of(sid: int) -> SkillTrend:
        if sid not in velocity and sid not in plateau:
            return empty
        no_sums = trends.WindowSums(0, 0.0, 0.0, 0.0, 0.0, 0.0, None)
        return (trends.mastery_velocity_from_sums(velocity.get(sid, no_sums)),
                trends.detect_plateau_from_sums(plateau.get(sid, no_sums)))

    return HistoryView(trend_of=trend_of, event_days=[date.fromisoformat(str(d)) for d in history_days.get("day", [])],
                       skill_ids=[int(k) for k in history_days.get("skill_id", [])],
                       mastery_after=[float(v) for v in history_days.get("mastery_after", [])])


def history_view(context: InsightsContext, *, now: datetime, days: int, zone: ZoneInfo) -> HistoryView:
    """The SQL aggregates when the context has no raw rows (always, from the database), else the raw rows."""
    if context.history:
        return _from_raw(context.history, now, days, zone)
    return _from_sums(context.skill_trends, context.history_days, now, days)
