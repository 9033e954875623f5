"""The nightly run on a real day, through HTTP: 500 learners active on the run date, 2,000 with 90 days of history.

The data is benchmarks/bigdata.populate_day's (set-based SQL, its own email suffix), for yesterday: 2,000
learners × 20 skills, 30,000 answers over the 90 days before, and 500 of them answering 20 questions each on
the day. The night before is replayed (its aggregates, every step recorded done). Then run_maintenance for the
day must answer 200 with every step done, the day's numbers must be exact, and the incremental aggregates
must equal a full recompute.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from smartpractice.service.models_requests import MAINTENANCE_STEPS
from supalocal.settings import StackSettings
from tests.integration.conftest import MAINTENANCE_TOKEN, LiveStack

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bigdata

pytestmark = pytest.mark.stack
SUFFIX = "@nightly-day.test"
LEARNERS, ACTIVE, ANSWERS_EACH, HISTORY, SKILLS = 2_000, 500, 20, 30_000, 20


def _rows(pg: psycopg.Connection, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return pg.execute(sql.encode(), params).fetchall()


@pytest.fixture()
def day(pg: psycopg.Connection, stack_settings: StackSettings) -> Iterator[date]:
    run_date = datetime.now(UTC).date() - timedelta(days=1)
    dsn = stack_settings.dsn()
    pg.execute("delete from maintenance_runs where run_date between %s and %s", (run_date - timedelta(days=1),
                                                                                  run_date))
    try:
        bigdata.populate_day(dsn, day=run_date, learners=LEARNERS, skills=SKILLS, attempts=HISTORY,
                             active_today=ACTIVE, answers_today=ANSWERS_EACH, seed=4242, replace=True,
                             verbose=False, suffix=SUFFIX)
        bigdata.finish_night_before(dsn, run_date, steps=MAINTENANCE_STEPS)
        yield run_date
    finally:
        pg.execute("delete from maintenance_runs where run_date between %s and %s",
                   (run_date - timedelta(days=1), run_date))
        bigdata.clean(dsn, verbose=False, suffix=SUFFIX)


OURS = "user_id in (select id from auth.users where email like '%%" + SUFFIX + "')"
# Means over a learner's rows are compared to 1e-12 (relative and absolute): a float sum's last bit depends on the
# order the rows are read in, which a plan or a HOT update may change (the incremental and the full recompute read
# the same rows). Rounding in SQL would not do: a last-bit change next to a rounding boundary flips the digit.
METRICS = ("select user_id, questions_30d, correct_30d, accuracy_30d, active_days_30d, questions_90d, "
           "questions_all_time, sessions_completed_all_time, avg_mastery, skills_practiced, skills_mastered, "
           "skills_weak, current_streak_days from user_learning_metrics where " + OURS + " order by user_id")
GAPS = ("select user_id, skill_id, gap_score, priority_score, severity, recent_failure_rate, status "
        "from knowledge_gaps where " + OURS + " order by user_id, skill_id")


def _assert_same_rows(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """Equal row by row and column by column; floats to 1e-12 (see METRICS)."""
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert len(got) == len(want), (got, want)
        for x, y in zip(got, want, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12), (got, want)
            else:
                assert x == y, (got, want)


def test_a_real_day_runs_every_step_and_incremental_aggregates_equal_a_full_recompute(
    live_stack: LiveStack, pg: psycopg.Connection, day: date
) -> None:
    answered = _rows(pg, "select count(distinct user_id), count(*), count(*) filter (where is_correct) "
                         "from session_questions where answered_at >= %s and answered_at < %s and " + OURS,
                     day, day + timedelta(days=1))
    assert answered[0][:2] == (ACTIVE, ACTIVE * ANSWERS_EACH)

    response = live_stack.call("run_maintenance", token=None, json={"run_date": day.isoformat()},
                               headers={"X-Maintenance-Token": MAINTENANCE_TOKEN})
    assert response.status_code == 200, response.text
    steps = {s["step"]: s for s in response.json()["steps"]}
    assert [(s, steps[s]["status"]) for s in steps] == [(s, "done") for s in MAINTENANCE_STEPS]
    assert _rows(pg, "select step, status, error_code, progress from maintenance_runs where run_date = %s "
                     "order by step", day) == sorted((s, "done", None, None) for s in MAINTENANCE_STEPS)

    # snapshots: exactly our 500 active learners, with the day's counts
    assert steps["snapshots"]["counts"]["learners_active"] >= ACTIVE
    assert _rows(pg, "select count(*), sum(questions_answered), sum(correct_answers) from "
                     "user_performance_snapshots where snapshot_type = 'daily' and snapshot_date = %s and " + OURS,
                 day) == [(ACTIVE, ACTIVE * ANSWERS_EACH, answered[0][2])]
    # aggregates: incremental after the night before; the day's stats for our active learners
    aggregates = steps["aggregates"]["counts"]
    assert aggregates["incremental"] == 1
    assert ACTIVE <= aggregates["learners_recomputed"] < LEARNERS  # only learners whose inputs changed
    assert _rows(pg, "select count(*), sum(questions_answered) from daily_user_stats where stat_date = %s and "
                 + OURS, day) == [(ACTIVE, ACTIVE * ANSWERS_EACH)]
    # decay: rows scanned for everyone, written only where the stored value drifted past the tolerance
    decay = steps["decay"]["counts"]
    assert decay["rows_scanned"] >= LEARNERS * SKILLS and 0 < decay["rows_changed"] < decay["rows_scanned"]
    # refits read the window through attempt_log_page pages
    assert steps["bkt_refit"]["counts"]["attempts_read"] >= HISTORY
    assert steps["irt_calibration"]["counts"]["items_calibrated"] > 0

    # The incremental result equals recomputing every learner (no done run for the day before → full).
    incremental_metrics, incremental_gaps = _rows(pg, METRICS), _rows(pg, GAPS)
    assert len(incremental_metrics) == LEARNERS
    pg.execute("delete from maintenance_runs where run_date = %s and step = 'aggregates'", (day - timedelta(days=1),))
    full = pg.execute("select public.refresh_aggregates(%s)", (day,)).fetchone()
    assert full is not None and full[0]["incremental"] == 0
    _assert_same_rows(_rows(pg, METRICS), incremental_metrics)
    _assert_same_rows(_rows(pg, GAPS), incremental_gaps)

    # Slices of 150 learners, as the nightly job calls them (cursor = last_user_id), write every learner's rows
    # once: the metrics and open gaps come back identical after deleting ours, and the counts add up.
    open_gaps = [row for row in incremental_gaps if row[-1] == "open"]
    pg.execute("delete from user_learning_metrics where " + OURS)
    pg.execute("delete from knowledge_gaps where " + OURS)
    after, slices, totals = None, 0, dict.fromkeys(full[0], 0)
    while True:
        sliced = pg.execute("select public.refresh_aggregates_slice(%s, %s, 150)", (day, after)).fetchone()
        assert sliced is not None
        slices += 1
        totals = {key: totals[key] + sliced[0][key] for key in totals}
        if sliced[0]["done"]:
            break
        after = sliced[0]["last_user_id"]
    assert slices > LEARNERS // 150
    assert totals["learners_recomputed"] == full[0]["learners_recomputed"]
    written = ("daily_user_stats", "weekly_user_stats", "topic_daily_stats")  # upserts: every row counts
    assert [totals[key] for key in written] == [full[0][key] for key in written]
    assert totals["user_learning_metrics"] == LEARNERS  # ours were deleted: rewritten, every other one unchanged
    _assert_same_rows(_rows(pg, METRICS), incremental_metrics)
    _assert_same_rows([row for row in _rows(pg, GAPS) if row[-1] == "open"], open_gaps)
