"""Memory model on fsrs: rating mapping, pinned fsrs outputs, Card round trip, idempotent decay."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from fsrs import Rating, State
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.memory import (
    DEFAULT_SCHEDULER,
    MemoryState,
    SkillMemory,
    apply_decay,
    effective_mastery,
    effective_mastery_array,
    elapsed_days,
    new_memory_state,
    rating_for_answer,
    retrievability,
    retrievability_array,
    review,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("correct", "confidence", "seconds", "expected"),
    [
        (False, 5, 10.0, Rating.Again),  # wrong is Again whatever the confidence
        (False, None, None, Rating.Again),
        (True, 1, 30.0, Rating.Hard),  # unsure
        (True, 2, 30.0, Rating.Hard),
        (True, 3, 200.0, Rating.Hard),  # slow: 200 > 1.5 · 90
        (True, 3, 90.0, Rating.Good),
        (True, None, None, Rating.Good),  # defaults: confidence 3, expected time
        (True, 4, 90.0, Rating.Easy),  # sure and within expected time
        (True, 5, 100.0, Rating.Good),  # sure but slower than expected
        (True, 5, None, Rating.Easy),
    ],
)
def test_rating_mapping(
    correct: bool, confidence: int | None, seconds: float | None, expected: Rating
) -> None:
    rating = rating_for_answer(is_correct=correct, confidence=confidence, time_spent_seconds=seconds)
    assert rating == expected


def test_rating_mapping_rejects_bad_confidence() -> None:
    with pytest.raises(ValueError):
        rating_for_answer(is_correct=True, confidence=0, time_spent_seconds=None)


def test_pinned_fsrs_sequence() -> None:
    # fsrs 6 default weights w. First Good: S = w2 = 2.3065 ; D = w4 − e^(w5·2) + 1 = 7.4133 − e^1.6668
    # = 2.118103970459016 ; interval = round(S) = 2 days (desired retention 0.9 ⇒ interval = S).
    # Same-day Good: short-term factor e^(w17(0 + w18)) · S^(−w19) = 1.0507 · 0.9465 < 1 → clamped to 1.
    steps = [
        (Rating.Good, timedelta(0), 2.3065, 2.118103970459016, timedelta(days=2)),
        (Rating.Good, timedelta(minutes=15), 2.3065, 2.111214235785395, timedelta(days=2)),
        (Rating.Again, timedelta(days=3), 0.6077016626638644, 7.392238132342694, timedelta(days=1)),
        (Rating.Hard, timedelta(days=4), 1.6866272110591496, 8.254074519842886, timedelta(days=2)),
        (Rating.Easy, timedelta(days=10), 10.930618709873977, 7.655895953798593, timedelta(days=11)),
    ]
    memory = new_memory_state(now=T0)
    for rating, offset, stability, difficulty, interval in steps:
        now = T0 + offset
        memory = review(memory=memory, rating=rating, now=now)
        assert memory.stability == pytest.approx(stability, rel=1e-12)
        assert memory.difficulty == pytest.approx(difficulty, rel=1e-12)
        assert memory.last_review == now
        assert memory.due == now + interval
        assert memory.state == int(State.Review)
    assert (memory.reps, memory.lapses) == (5, 1)


def test_retrievability_is_090_after_stability_days() -> None:
    # fsrs defines S as the interval at which R falls to 0.9: R(S days) = (1 + factor)^decay = 0.9.
    memory = MemoryState(due=T0, state=int(State.Review), step=None, stability=10.0, difficulty=5.0,
                         last_review=T0, reps=3, lapses=0)
    assert retrievability(memory=memory, now=T0 + timedelta(days=10)) == pytest.approx(0.9, abs=1e-12)
    assert retrievability(memory=memory, now=T0 + timedelta(hours=20)) == 1.0  # fsrs counts whole days


def test_memory_state_round_trips_through_fsrs_card() -> None:
    memory = review(memory=new_memory_state(now=T0), rating=Rating.Good, now=T0)
    card = memory.to_card()
    assert card.stability == memory.stability and card.due == memory.due and card.state == State.Review
    assert MemoryState.from_card(card, reps=memory.reps, lapses=memory.lapses) == memory


def test_times_must_be_aware_and_are_normalised_to_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        new_memory_state(now=datetime(2025, 1, 6, 9, 0))
    paris = timezone(timedelta(hours=1))
    at_ten_in_paris = datetime(2025, 1, 6, 10, 0, tzinfo=paris)
    memory = review(memory=new_memory_state(now=T0), rating=Rating.Good, now=at_ten_in_paris)
    assert memory.last_review == T0 and memory.last_review.tzinfo is UTC
    with pytest.raises(ValueError, match="before the last review"):
        review(memory=memory, rating=Rating.Good, now=T0 - timedelta(days=1))


def test_effective_mastery_formula_pinned() -> None:
    memory = MemoryState(due=T0, state=int(State.Review), step=None, stability=10.0, difficulty=5.0,
                         last_review=T0, reps=3, lapses=0)
    # m_eff = 0.8 · R(10 days) = 0.8 · 0.9 = 0.72 ; at the review itself R = 1
    assert effective_mastery(p_known=0.8, memory=memory, now=T0 + timedelta(days=10)) == pytest.approx(0.72)
    assert effective_mastery(p_known=0.8, memory=memory, now=T0) == 0.8
    # Never reviewed: nothing to decay.
    assert effective_mastery(p_known=0.3, memory=new_memory_state(now=T0), now=T0 + timedelta(days=99)) == 0.3


def _skill(p_known: float) -> SkillMemory:
    memory = review(memory=new_memory_state(now=T0), rating=Rating.Good, now=T0)
    return SkillMemory(p_known=p_known, memory=memory, effective_mastery=p_known)


@settings(max_examples=100, deadline=None)
@given(p=st.floats(0.0, 1.0), first=st.floats(0.0, 400.0), second=st.floats(0.0, 400.0))
def test_decay_is_idempotent_in_elapsed_time(p: float, first: float, second: float) -> None:
    t1 = T0 + timedelta(days=min(first, second))
    t2 = T0 + timedelta(days=max(first, second))
    skill = _skill(p)
    at_t2 = apply_decay(skill=skill, now=t2)
    assert apply_decay(skill=at_t2, now=t2) == at_t2  # twice at the same time: no change
    assert apply_decay(skill=apply_decay(skill=skill, now=t1), now=t2) == at_t2  # t1 then t2 = t2
    assert at_t2.p_known == p  # the BKT value is never overwritten
    assert 0.0 <= at_t2.effective_mastery <= apply_decay(skill=skill, now=t1).effective_mastery <= p


def test_vectorised_retrievability_matches_fsrs() -> None:
    rng = np.random.default_rng(0)
    stabilities = rng.uniform(0.1, 200.0, size=300)
    offsets = [timedelta(seconds=float(s)) for s in rng.uniform(0, 400 * 86_400, size=300)]
    reviews = [T0 - offset for offset in offsets]
    days = elapsed_days(last_reviews=reviews, now=T0)
    vectorised = retrievability_array(stability=stabilities, elapsed_days=days)
    for value, stability, last in zip(vectorised, stabilities, reviews, strict=True):
        memory = MemoryState(due=T0, state=int(State.Review), step=None, stability=float(stability),
                             difficulty=5.0, last_review=last)
        expected = DEFAULT_SCHEDULER.get_card_retrievability(memory.to_card(), T0)
        assert value == pytest.approx(expected, rel=1e-12)


def test_vectorised_effective_mastery_handles_never_reviewed_rows() -> None:
    days = elapsed_days(last_reviews=[T0 - timedelta(days=10), None], now=T0)
    assert math.isnan(days[1])
    out = effective_mastery_array(p_known=[0.8, 0.3], stability=[10.0, math.nan], elapsed_days=days)
    np.testing.assert_allclose(out, [0.72, 0.3], rtol=1e-12)
    with pytest.raises(ValueError):
        effective_mastery_array(p_known=[1.5], stability=[1.0], elapsed_days=[1.0])
