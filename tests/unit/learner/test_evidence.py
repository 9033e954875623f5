"""Evidence weight of an answer from the server's time (learner/evidence.py), and the weighted update."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smartpractice.learner import knowledge
from smartpractice.learner.bkt import BKTParams
from smartpractice.learner.evidence import MIN_SECONDS, credited_seconds, evidence_weight, weighted

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PARAMS = BKTParams(p_init=0.2, p_learn=0.15, p_guess=0.2, p_slip=0.1, p_forget=0.0)


def test_the_weight_is_zero_below_half_the_minimum_and_one_from_the_minimum() -> None:
    assert MIN_SECONDS == {"multiple_choice": 6.0, "numeric": 10.0}
    weights = [evidence_weight(server_seconds=t, question_type="multiple_choice") for t in (0.05, 3.0, 4.5, 6.0, 60)]
    assert weights == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert evidence_weight(server_seconds=7.5, question_type="numeric") == pytest.approx(0.5)
    assert evidence_weight(server_seconds=None, question_type="numeric") == 0.0  # no server time: no evidence


def test_a_claimed_time_only_lowers_credit() -> None:
    assert credited_seconds(claimed=1.0, server_seconds=40.0) == 40.0  # claiming a quick answer earns nothing
    assert credited_seconds(claimed=90.0, server_seconds=40.0) == 90.0  # claiming a slow one only costs
    assert credited_seconds(claimed=None, server_seconds=40.0) == 40.0


def _change() -> knowledge.SkillChange:
    state = knowledge.initial_state(skill_id=7, params=PARAMS, now=NOW)
    update = knowledge.update_on_answer(
        states=[state], question_skills=[knowledge.QuestionSkill(7, 1200.0, 0)], params=[PARAMS],
        observation=knowledge.Observation(is_correct=True, confidence=5, time_spent_seconds=30.0,
                                          expected_time_seconds=90.0), now=NOW)
    return update.changes[0]


def test_the_weighted_update_moves_w_of_the_way() -> None:
    full = _change()
    assert weighted(full, 1.0) is full
    half = weighted(full, 0.5)
    assert half.after.p_mastery == pytest.approx((full.before.p_mastery + full.after.p_mastery) / 2)
    assert half.after.elo_rating == pytest.approx((full.before.elo_rating + full.after.elo_rating) / 2)
    assert half.difficulty_delta == pytest.approx(full.difficulty_delta / 2)
    assert half.effective_mastery == half.after.p_mastery
    # memory and the Elo answer count advance only on full evidence; the answer is still counted
    assert half.after.memory == full.before.memory and half.after.elo_count == full.before.elo_count
    assert half.after.total_attempts == 1 and half.after.version == 1
    none = weighted(full, 0.0)
    assert (none.after.p_mastery, none.after.elo_rating, none.difficulty_delta) == \
        (full.before.p_mastery, full.before.elo_rating, 0.0)
    with pytest.raises(ValueError):
        weighted(full, 1.5)
