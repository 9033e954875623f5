"""The learner's goals (public.learner_profiles), with the documented defaults for a learner without a row.

Defaults (flagged in every response that uses them, field by field in ``defaulted``):
exam "sat"; both sections (math, reading_writing); target 600 per section (the old hard-coded cut),
so 1200 total; no exam date; time zone UTC. A set total target without section targets splits evenly
(rounded down to 10) for the per-section readiness.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from smartpractice.learner.exam_scores import SAT_SECTIONS

DEFAULT_SECTION_TARGET = 600


@dataclass(frozen=True, slots=True)
class Goals:
    exam: str
    sections: tuple[str, ...]
    section_targets: dict[str, int]
    total_target: int | None
    exam_date: date | None
    time_zone: str
    defaulted: tuple[str, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def days_left(self, now: datetime) -> int | None:
        """Whole local days from today to the exam date (0 on the day, never negative); None without a date."""
        if self.exam_date is None:
            return None
        return max(0, (self.exam_date - now.astimezone(self.zone).date()).days)


def goals_from_profile(profile: dict[str, Any] | None) -> Goals:
    """Goals from a learner_profiles row (as JSON) or the defaults; ``defaulted`` names the defaulted fields."""
    row = profile or {}
    defaulted: list[str] = []
    sections = tuple(row.get("sections") or ())
    if not sections:
        sections = SAT_SECTIONS
        defaulted.append("sections")
    explicit = {s: row.get(f"target_{s}") for s in sections}
    total = row.get("target_total")
    targets: dict[str, int] = {}
    for section in sections:
        value = explicit.get(section)
        if value is None and total is not None and len(sections) == len(SAT_SECTIONS):
            value = int(total) // 2 // 10 * 10
        if value is None:
            value = DEFAULT_SECTION_TARGET
            defaulted.append(f"target_{section}")
        targets[section] = int(value)
    total_target: int | None = None
    if len(sections) == len(SAT_SECTIONS):
        total_target = int(total) if total is not None else sum(targets.values())
        if total is None and any(explicit.get(s) is None for s in sections):
            defaulted.append("target_total")
    exam_date = row.get("exam_date")
    if exam_date is None:
        defaulted.append("exam_date")
    zone = row.get("time_zone")
    if zone is None:
        defaulted.append("time_zone")
    if "exam" not in row:
        defaulted.append("exam")
    return Goals(exam=str(row.get("exam") or "sat"), sections=sections, section_targets=targets,
                 total_target=total_target,
                 exam_date=date.fromisoformat(exam_date) if isinstance(exam_date, str) else exam_date,
                 time_zone=str(zone or "UTC"), defaulted=tuple(defaulted))
