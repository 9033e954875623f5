"""Daily series a chart can draw directly: answers per local day and mastery per group per local day.

Days are the learner's local calendar days (``zone``), every day of the window present (no gaps to
interpolate): a day without answers has 0 answers and carries mastery forward from the day before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt


def _local_times(epoch_s: npt.ArrayLike, zone: ZoneInfo) -> list[datetime]:
    return [datetime.fromtimestamp(t, tz=zone) for t in np.asarray(epoch_s, dtype=np.float64).tolist()]


def local_days(*, epoch_s: npt.ArrayLike, zone: ZoneInfo) -> list[date]:
    """Local calendar day of each POSIX time (seconds) in ``zone``."""
    return [s.date() for s in _local_times(epoch_s, zone)]


def local_days_and_hours(*, epoch_s: npt.ArrayLike, zone: ZoneInfo) -> tuple[list[date], list[int]]:
    """``local_days`` and the local hour of day (0–23) of the same times, each time converted once."""
    stamps = _local_times(epoch_s, zone)
    return [s.date() for s in stamps], [s.hour for s in stamps]


def window_days(*, now: datetime, days: int, zone: ZoneInfo) -> list[date]:
    """Every local day in ``zone`` touched by the window (now − days, now], oldest first.

    That is ``days + 1`` days whenever the window starts mid-day (always, except at local midnight): the
    window's first answers fall on the local day of its start, and a chart must not drop them.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    today = now.astimezone(zone).date()
    first = (now - timedelta(days=days)).astimezone(zone).date()
    return [first + timedelta(days=offset) for offset in range((today - first).days + 1)]


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    answers: int
    correct: int


def answers_per_day(*, days: list[date], answer_days: list[date], correct: npt.ArrayLike) -> tuple[DayCount, ...]:
    """Answers and correct answers per day of ``days`` (answers on other days are ignored); counts >= 0."""
    right = np.asarray(correct, dtype=np.bool_)
    if right.shape != (len(answer_days),):
        raise ValueError("answer_days and correct must have one length")
    answered = dict.fromkeys(days, 0)
    hits = dict.fromkeys(days, 0)
    for day, ok in zip(answer_days, right.tolist(), strict=True):
        if day in answered:
            answered[day] += 1
            hits[day] += int(ok)
    return tuple(DayCount(d, answered[d], hits[d]) for d in days)


def mastery_per_group_per_day(
    *, days: list[date], event_days: list[date], skill_ids: npt.ArrayLike, mastery_after: npt.ArrayLike,
    group_of_skill: dict[int, int],
) -> dict[int, list[float | None]]:
    """Mean mastery over a group's practised skills at the end of each day (carried forward).

    Args:
        days: The window's local days, oldest first.
        event_days: Local day of each mastery change (history row), in time order.
        skill_ids: Skill of each change.
        mastery_after: Mastery after each change, in [0, 1].
        group_of_skill: Group (topic or section index) of each skill; skills not in it are ignored.

    Returns:
        Per group: one value per day, in [0, 1], None until the group's first change in the window.
    """
    skills = np.asarray(skill_ids, dtype=np.int64)
    values = np.asarray(mastery_after, dtype=np.float64)
    if not len(event_days) == skills.size == values.size:
        raise ValueError("event_days, skill_ids and mastery_after must have one length")
    # Per group its skills' latest values in order of first change; a group's mean is taken again only on a day
    # one of its skills changed (the same values in the same order: the same mean as the day before).
    latest: dict[int, dict[int, float]] = {}
    out: dict[int, list[float | None]] = {g: [] for g in sorted(set(group_of_skill.values()))}
    current: dict[int, float | None] = dict.fromkeys(out)
    index = 0
    for day in days:
        changed: set[int] = set()
        while index < skills.size and event_days[index] <= day:
            skill = int(skills[index])
            group = group_of_skill.get(skill)
            if group is not None:
                latest.setdefault(group, {})[skill] = float(values[index])
                changed.add(group)
            index += 1
        for group in changed:
            current[group] = float(np.mean(list(latest[group].values())))
        for group, series in out.items():
            series.append(current[group])
    return {g: s for g, s in out.items() if any(v is not None for v in s)}
