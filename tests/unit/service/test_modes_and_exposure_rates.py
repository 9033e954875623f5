"""Session modes' pure parts (service/modes.py) and the exposure rates per bank question (service/exposure_rates)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from smartpractice.learner.exposure import ExposureConfig
from smartpractice.service.candidates import SkillView
from smartpractice.service.exposure_rates import bank_rates, pool_rates
from smartpractice.service.models_responses import AnswerProgress, SkillUpdate, SubmitAnswerResponse
from smartpractice.service.modes import EXAM_FEEDBACK, due_first, withhold_results
from smartpractice.service.question_bank import PoolFilter, QuestionBank

COLUMNS: dict[str, list[Any]] = {
    "id": [1, 2, 3, 4], "topic_id": [10, 10, 11, 12], "subject_id": [100, 100, 100, 200],
    "exam_section": ["math", "math", "math", "reading"], "skill_ids": [[1], [1, 2], [2], [3]],
    "difficulties": [[1100.0], [1200.0, 1300.0], [1250.0], [900.0]], "times_seen": [0, 0, 0, 0],
}
BANK = QuestionBank.from_columns(COLUMNS)


def test_eligible_sessions_follow_each_filter_set() -> None:
    figures = {"question_id": [1, 3, 4], "served_sessions": [30, 5, 10],
               "filter_sets": [{"filters": {}, "sessions": 40}, {"filters": {"topic_ids": [10]}, "sessions": 60}]}
    rates = bank_rates(BANK, figures, ExposureConfig(min_sessions=20))
    # questions 1, 2 are eligible in all 100 sessions, 3 and 4 only in the 40 unfiltered ones
    assert rates.tolist() == pytest.approx([0.30, 0.0, 5 / 40, 10 / 40])
    pool = BANK.pool(where=PoolFilter(topic_ids=(10, 12)), exclude=[2], seen_ids=[], seen_epochs=[])
    assert pool_rates(BANK, rates, pool).tolist() == pytest.approx([0.30, 0.25])


def test_review_keeps_the_questions_on_due_skills_or_everything() -> None:
    pool = BANK.pool(where=PoolFilter(), exclude=[], seen_ids=[], seen_epochs=[])
    views = {1: SkillView(1200.0, 3, 0.5, 0.0), 2: SkillView(1200.0, 3, 0.5, 0.3)}
    assert due_first(pool, views).question_ids.tolist() == [2, 3]
    assert due_first(pool, {1: SkillView(1200.0, 3, 0.5, 0.0)}) is pool
    assert np.array_equal(due_first(pool, {}).question_ids, pool.question_ids)


def test_an_exam_answer_withholds_everything_that_tells_right_from_wrong() -> None:
    full = SubmitAnswerResponse(
        is_correct=True, correct_answer=["B"], explanation="because", replayed=False, feedback="up",
        skills=[SkillUpdate(skill_id=1, skill_name="s", mastery_before=0.2, mastery_after=0.4, elo_before=1200.0,
                            elo_after=1230.0, next_review_at=None)],
        session_progress=AnswerProgress(answered=2, correct=1, accuracy=0.5))
    withheld = withhold_results(full)
    assert withheld.model_dump() == {
        "is_correct": None, "correct_answer": None, "explanation": None, "skills": [], "withheld": True,
        "session_progress": {"answered": 2, "correct": None, "accuracy": None}, "feedback": EXAM_FEEDBACK,
        "replayed": False}


def test_the_rates_are_computed_once_per_bank_and_figures_and_again_when_either_reloads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from smartpractice.service import exposure_rates

    calls: list[int] = []

    def counting(bank: QuestionBank, figures: Any, config: ExposureConfig) -> Any:
        calls.append(1)
        return bank_rates(bank, figures, config)

    monkeypatch.setattr(exposure_rates, "bank_rates", counting)
    last = exposure_rates._LastRates()
    figures = {"question_id": [1], "served_sessions": [30], "filter_sets": [{"filters": {}, "sessions": 40}]}
    config = ExposureConfig(min_sessions=20)
    first = last.rates(BANK, figures, config)
    assert last.rates(BANK, figures, ExposureConfig(min_sessions=20)) is first and len(calls) == 1
    assert not first.flags.writeable
    reloaded = dict(figures, served_sessions=[10])  # the TTL cache hands out a new object on reload
    assert last.rates(BANK, reloaded, config).tolist() == pytest.approx([0.25, 0.0, 0.0, 0.0])
    assert len(calls) == 2
    other_bank = QuestionBank.from_columns(COLUMNS)
    assert np.array_equal(last.rates(other_bank, reloaded, config), bank_rates(other_bank, reloaded, config))
    assert len(calls) == 3
    assert np.array_equal(last.rates(other_bank, reloaded, ExposureConfig(min_sessions=50)), np.zeros(4))
    assert len(calls) == 4
