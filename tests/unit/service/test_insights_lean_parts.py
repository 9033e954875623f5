"""The parts insights computes once since issue 16 item 3 give what the per-use code gave: each answer's local day
and hour from one conversion, the sessions' accuracy from one bincount (the same float64 sum / count as np.mean
of each session's answers), and the answer columns parsed with map and np.maximum (NaN kept for a missing time)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from smartpractice.learner import series
from smartpractice.service.insights_numbers import AnswerColumns, session_accuracy


def test_local_days_and_hours_are_the_separate_conversions() -> None:
    zone = ZoneInfo("America/New_York")
    # across the November DST change and a local midnight
    start = datetime(2026, 10, 31, 20, 0, tzinfo=UTC).timestamp()
    epoch = [start + 1_800.0 * i + 0.25 for i in range(0, 200, 7)]
    days, hours = series.local_days_and_hours(epoch_s=epoch, zone=zone)
    assert days == series.local_days(epoch_s=epoch, zone=zone)
    assert hours == [datetime.fromtimestamp(t, tz=zone).hour for t in epoch]
    assert days[0] == date(2026, 10, 31) and hours[0] == 16 and days[-1] == date(2026, 11, 4) and hours[-1] == 17
    assert series.local_days_and_hours(epoch_s=[], zone=zone) == ([], [])


def test_session_accuracy_is_each_sessions_mean_in_order_of_first_answer() -> None:
    rng = np.random.default_rng(16)
    ids = tuple(str(s) for s in rng.integers(1, 40, size=700))
    correct = rng.random(700) < 0.62
    by_session: dict[str, list[bool]] = {}
    for sid, ok in zip(ids, correct.tolist(), strict=True):
        by_session.setdefault(sid, []).append(ok)
    expected = [float(np.mean(v)) for v in by_session.values()]
    assert session_accuracy(session_ids=ids, correct=correct) == expected  # exact, same order
    assert session_accuracy(session_ids=("7", "3", "7", "7"), correct=np.array([True, False, False, True])) == \
        [2 / 3, 0.0]
    assert session_accuracy(session_ids=(), correct=np.array([], dtype=bool)) == []


def test_answer_columns_keep_a_missing_time_and_floor_a_recorded_one_at_one_second() -> None:
    columns = {"is_correct": [True, False, True], "time_spent_seconds": [None, 0.2, 37], "expected_time_seconds":
               [60, 90, 45], "difficulty_label": ["easy", None, "hard"], "topic_id": [3, 4, 3], "session_id": [1, 1, 2]}
    answers = AnswerColumns.from_columns(columns)
    assert np.isnan(answers.seconds[0]) and answers.seconds[1:].tolist() == [1.0, 37.0]
    assert answers.difficulty == ("easy", "None", "hard") and answers.session_ids == ("1", "1", "2")
    assert answers.correct.tolist() == [True, False, True] and answers.topic_ids.tolist() == [3, 4, 3]
    empty = AnswerColumns.from_columns({})
    assert empty.seconds.shape == (0,) and empty.session_ids == () and empty.difficulty == ()
