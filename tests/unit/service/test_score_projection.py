"""readiness' points_per_day and days_to_ready project the scoped score's own history (the nightly snapshots on the
predictor's route, then the current score), by mastery_velocity's rule on the score as a share of the scale span."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smartpractice.service import insights_numbers as numbers
from smartpractice.service.goals import goals_from_profile

NOW = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # midnight: a snapshot dated D counts at the end of D, D + 1 00:00


def _math(score: float) -> numbers.Scoped:
    return numbers.Scoped("math", score, score - 30.0, score + 30.0, 650.0, numbers.SECTION_SPAN)


def _snap(day: str, sections: dict[str, float], source: str | None = "predictor") -> dict[str, object]:
    return {"date": day, "sections": {k: {"score": v, "low": v - 30, "high": v + 30} for k, v in sections.items()},
            "score_source": source}


GOALS_MATH = goals_from_profile({"sections": ["math"], "target_math": 650})
GOALS_BOTH = goals_from_profile({"target_total": 1300})


def test_ten_points_a_day_over_ten_days() -> None:
    snapshots = [_snap("2026-11-26", {"math": 500.0}),  # counts at 11-27 00:00: 10 days before NOW
                 _snap("2026-11-28", {"math": 700.0}, source=None),  # the mastery route: not this score's history
                 _snap("2026-12-01", {"math": 550.0})]  # 5 days before NOW
    points = numbers.score_points_per_day(snapshots=snapshots, scope=_math(600.0), goals=GOALS_MATH, now=NOW)
    assert points == pytest.approx(10.0, abs=1e-9)
    readiness = numbers.readiness_out(scope=_math(600.0), points_per_day=points, goals=GOALS_MATH, now=NOW,
                                      reason=None)
    assert readiness.points_per_day == pytest.approx(10.0, abs=1e-9)
    assert (readiness.days_to_ready, readiness.days_to_ready_reason) == (5, None)  # (650 − 600) / 10


def test_too_little_history_is_null_with_the_reason() -> None:
    # two points (one snapshot and now) and a snapshot of the other route: no projection
    snapshots = [_snap("2026-11-26", {"math": 500.0}), _snap("2026-12-01", {"math": 550.0}, source=None)]
    points = numbers.score_points_per_day(snapshots=snapshots, scope=_math(600.0), goals=GOALS_MATH, now=NOW)
    assert points is None
    readiness = numbers.readiness_out(scope=_math(600.0), points_per_day=points, goals=GOALS_MATH, now=NOW,
                                      reason=None)
    assert readiness.days_to_ready is None
    assert readiness.days_to_ready_reason == "no projection yet: needs 3 days of history"
    # three points within one day: still none (mastery_velocity's span rule)
    same_day = [_snap("2026-12-06", {"math": 550.0}), _snap("2026-12-06", {"math": 560.0})]
    assert numbers.score_points_per_day(snapshots=same_day, scope=_math(600.0), goals=GOALS_MATH, now=NOW) is None


def test_the_total_uses_snapshots_with_both_sections() -> None:
    total = numbers.Scoped("total", 1200.0, 1150.0, 1250.0, 1300.0, 2 * numbers.SECTION_SPAN)
    snapshots = [_snap("2026-11-26", {"math": 500.0, "reading_writing": 500.0}),  # 1000 at NOW − 10 days
                 _snap("2026-11-29", {"math": 520.0}),  # one section only: no total that day
                 _snap("2026-12-01", {"math": 540.0, "reading_writing": 560.0})]  # 1100 at NOW − 5 days
    points = numbers.score_points_per_day(snapshots=snapshots, scope=total, goals=GOALS_BOTH, now=NOW)
    assert points == pytest.approx(20.0, abs=1e-9)
    # a falling score: negative points, and readiness says the projection never reaches the target
    falling = [_snap("2026-11-26", {"math": 700.0}), _snap("2026-12-01", {"math": 650.0})]
    down = numbers.score_points_per_day(snapshots=falling, scope=_math(600.0), goals=GOALS_MATH, now=NOW)
    assert down == pytest.approx(-10.0, abs=1e-9)
    readiness = numbers.readiness_out(scope=_math(600.0), points_per_day=down, goals=GOALS_MATH, now=NOW,
                                      reason=None)
    assert readiness.days_to_ready is None
    assert readiness.days_to_ready_reason == "not improving: the projection never reaches the target"
