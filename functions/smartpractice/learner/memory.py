"""Memory and decay per learner × skill on top of the `fsrs` package (v6), replacing seed 002's SM-2.

fsrs owns stability S, difficulty D, retrievability R(t) and the next review (`due`).  We keep our own
frozen `MemoryState` (plain columns for the database) and convert to/from `fsrs.Card` at each call.

Answer → fsrs Rating (`rating_for_answer`; confidence 1–5, missing → 3; missing time → expected time):
    incorrect                                              → Again
    correct, confidence ≤ 2 (a lucky or unsure recall)     → Hard
    correct, time > slow_ratio × expected (1.5 ×)          → Hard   (effortful retrieval)
    correct, confidence ≥ 4 and time ≤ fast_ratio × exp.   → Easy
    any other correct answer                               → Good

Effective mastery at time t (decided):  m_eff(t) = P_BKT(known at last review) × R(t),
i.e. the skill is still available if it was known and has not been forgotten since; R(last_review) = 1
so m_eff equals the BKT estimate right after practice.  A never-reviewed skill has no memory trace to
decay: R is taken as 1 and m_eff is the BKT estimate (its prior).

Decay job (`apply_decay`): recomputes m_eff from the stored BKT value and last_review, never from the
previously decayed value, so it is idempotent in elapsed time (same `now` twice → unchanged;
now = t1 then t2 → same as t2 alone).  The database must keep the undecayed BKT column.

Scheduler defaults (`make_scheduler`): no intraday learning/relearning steps (a skill is not a
flashcard; sessions are days apart), no fuzzing (fsrs fuzz uses the global `random`), max interval 365
days.  Every call takes an explicit, timezone-aware `now`; fsrs never reads the clock here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS
from numpy.typing import ArrayLike

from smartpractice.learner.bkt import FloatArray

SECONDS_PER_DAY = 86_400.0
_CARD_ID = 0  # fsrs invents an id from the clock (and sleeps 1 ms) when none is given


def make_scheduler(
    *,
    desired_retention: float = 0.9,
    parameters: Sequence[float] = DEFAULT_PARAMETERS,
    maximum_interval_days: int = 365,
) -> Scheduler:
    return Scheduler(
        parameters=parameters,
        desired_retention=desired_retention,
        learning_steps=(),
        relearning_steps=(),
        maximum_interval=maximum_interval_days,
        enable_fuzzing=False,
    )


DEFAULT_SCHEDULER = make_scheduler()


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)  # fsrs insists on tzinfo == timezone.utc


@dataclass(frozen=True, slots=True)
class RatingPolicy:
    expected_time_seconds: float = 90.0
    slow_ratio: float = 1.5
    fast_ratio: float = 1.0
    unsure_confidence: int = 2
    sure_confidence: int = 4
    default_confidence: int = 3


_DEFAULT_RATING_POLICY = RatingPolicy()


def rating_for_answer(
    *,
    is_correct: bool,
    confidence: int | None,
    time_spent_seconds: float | None,
    expected_time_seconds: float | None = None,
    policy: RatingPolicy | None = None,
) -> Rating:
    """Map an answer to an fsrs Rating (table in the module docstring)."""
    policy = policy or _DEFAULT_RATING_POLICY
    level = policy.default_confidence if confidence is None else confidence
    if not 1 <= level <= 5:
        raise ValueError(f"confidence must be 1..5, got {confidence!r}")
    if not is_correct:
        return Rating.Again
    expected = expected_time_seconds if expected_time_seconds is not None else policy.expected_time_seconds
    spent = expected if time_spent_seconds is None else time_spent_seconds
    if level <= policy.unsure_confidence or spent > policy.slow_ratio * expected:
        return Rating.Hard
    if level >= policy.sure_confidence and spent <= policy.fast_ratio * expected:
        return Rating.Easy
    return Rating.Good


_STATES = frozenset(int(s) for s in State)


@dataclass(frozen=True, slots=True)
class MemoryState:
    """fsrs card state as plain columns, plus review and lapse counters (fsrs does not keep them)."""

    due: datetime
    state: int = int(State.Learning)
    step: int | None = 0
    stability: float | None = None
    difficulty: float | None = None
    last_review: datetime | None = None
    reps: int = 0
    lapses: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "due", _utc(self.due, "due"))
        if self.last_review is not None:
            object.__setattr__(self, "last_review", _utc(self.last_review, "last_review"))
        if self.state not in _STATES:
            raise ValueError(f"state must be one of {[int(s) for s in State]}, got {self.state!r}")
        if (self.stability is None) != (self.difficulty is None):
            raise ValueError("stability and difficulty are set together")
        if self.reps < 0 or self.lapses < 0:
            raise ValueError("reps and lapses must be >= 0")

    def to_card(self) -> Card:
        return Card(
            card_id=_CARD_ID,
            state=State(self.state),
            step=self.step,
            stability=self.stability,
            difficulty=self.difficulty,
            due=self.due,
            last_review=self.last_review,
        )

    @classmethod
    def from_card(cls, card: Card, *, reps: int, lapses: int) -> MemoryState:
        return cls(
            due=card.due,
            state=int(card.state),
            step=card.step,
            stability=card.stability,
            difficulty=card.difficulty,
            last_review=card.last_review,
            reps=reps,
            lapses=lapses,
        )


def new_memory_state(*, now: datetime) -> MemoryState:
    """The memory state of a skill never reviewed: no stability yet, due immediately.

    Args:
        now: The current moment (timezone-aware); becomes the state's `due`.

    Returns:
        A MemoryState with `due = now` and no last review, stability or difficulty.
    """
    return MemoryState(due=now)


def review(
    *, memory: MemoryState, rating: Rating, now: datetime, scheduler: Scheduler | None = None
) -> MemoryState:
    """Apply one review at `now`; returns the new state (due = next review)."""
    moment = _utc(now, "now")
    if memory.last_review is not None and moment < memory.last_review:
        raise ValueError("now is before the last review")
    card, _ = (scheduler or DEFAULT_SCHEDULER).review_card(memory.to_card(), rating, review_datetime=moment)
    lapsed = rating == Rating.Again and memory.state == int(State.Review)
    return MemoryState.from_card(card, reps=memory.reps + 1, lapses=memory.lapses + int(lapsed))


def retrievability(*, memory: MemoryState, now: datetime, scheduler: Scheduler | None = None) -> float:
    """fsrs R(now) = (1 + factor · whole_days / S) ** decay; 1.0 when never reviewed (see module doc)."""
    if memory.last_review is None:
        return 1.0
    return float((scheduler or DEFAULT_SCHEDULER).get_card_retrievability(memory.to_card(), _utc(now, "now")))


def effective_mastery(
    *, p_known: float, memory: MemoryState, now: datetime, scheduler: Scheduler | None = None
) -> float:
    """m_eff = P_BKT(known at last review) × R(now)."""
    if not 0.0 <= p_known <= 1.0:
        raise ValueError(f"p_known must be in [0, 1], got {p_known!r}")
    return p_known * retrievability(memory=memory, now=now, scheduler=scheduler)


@dataclass(frozen=True, slots=True)
class SkillMemory:
    """What the decay job reads and writes per learner × skill."""

    p_known: float  # BKT P(known) as of memory.last_review; decay never overwrites it
    memory: MemoryState
    effective_mastery: float


def apply_decay(*, skill: SkillMemory, now: datetime, scheduler: Scheduler | None = None) -> SkillMemory:
    """Scheduled-job step: effective mastery at `now`, recomputed from last_review (idempotent)."""
    value = effective_mastery(p_known=skill.p_known, memory=skill.memory, now=now, scheduler=scheduler)
    return replace(skill, effective_mastery=value)


# --- vectorised form for the scheduled job over many rows -------------------------------------------


def elapsed_days(*, last_reviews: Sequence[datetime | None], now: datetime) -> FloatArray:
    """Elapsed time since each last review, for the vectorised decay.

    Args:
        last_reviews: The last review of each row (timezone-aware), None where the skill was never reviewed.
        now: The moment to measure to (timezone-aware).

    Returns:
        Float days (fractional, negative if a review lies after `now`) per row; NaN where never reviewed.
    """
    moment = _utc(now, "now")
    return np.array(
        [math.nan if r is None else (moment - _utc(r, "last_review")).total_seconds() / SECONDS_PER_DAY
         for r in last_reviews],
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class ForgettingCurve:
    """fsrs's power forgetting curve R(t) = (1 + factor · t / S) ** decay, t in whole days."""

    decay: float  # negative
    factor: float  # 0.9 ** (1 / decay) − 1, so that R(S) = 0.9


def forgetting_curve(scheduler: Scheduler | None = None) -> ForgettingCurve:
    """The constants of fsrs's power forgetting curve R(t) = (1 + factor · t / S) ** decay.

    The nightly SQL decay receives these values rather than keeping its own copy.

    Args:
        scheduler: The fsrs Scheduler whose parameter w20 sets the decay; default: the module's scheduler.

    Returns:
        ForgettingCurve with `decay` < 0 and `factor` > 0 chosen so that R(S) = 0.9 (t and S in days).
    """
    decay = -float((scheduler or DEFAULT_SCHEDULER).parameters[20])
    return ForgettingCurve(decay=decay, factor=0.9 ** (1.0 / decay) - 1.0)


def retrievability_array(
    *, stability: ArrayLike, elapsed_days: ArrayLike, scheduler: Scheduler | None = None
) -> FloatArray:
    """fsrs retrievability R, the probability of recall, element-wise (the decay job's form).

    Elapsed days are floored to whole days and clipped at 0, as fsrs does; a row with NaN stability or NaN
    days (never reviewed) gets R = 1.0, i.e. no decay.

    Args:
        stability: fsrs stability S per row, in days (> 0), NaN where unknown.
        elapsed_days: Days since the last review per row (see `elapsed_days`), NaN where never reviewed.
        scheduler: The fsrs Scheduler defining the curve; default: the module's scheduler.

    Returns:
        Float array of R in (0, 1], broadcast from the two inputs.
    """
    curve = forgetting_curve(scheduler)
    decay, factor = curve.decay, curve.factor
    s = np.asarray(stability, dtype=np.float64)
    days = np.asarray(elapsed_days, dtype=np.float64)
    missing = np.isnan(s) | np.isnan(days)
    whole_days = np.maximum(np.floor(np.where(missing, 0.0, days)), 0.0)
    value = (1.0 + factor * whole_days / np.where(missing, 1.0, s)) ** decay
    return np.where(missing, 1.0, value)


def effective_mastery_array(
    *, p_known: ArrayLike, stability: ArrayLike, elapsed_days: ArrayLike, scheduler: Scheduler | None = None
) -> FloatArray:
    """Effective mastery m_eff = p_known × R element-wise: BKT knowledge discounted by forgetting.

    Args:
        p_known: Undecayed BKT P(known) per row, probabilities in [0, 1] (ValueError otherwise).
        stability: fsrs stability per row, in days, NaN where unknown.
        elapsed_days: Days since the last review per row, NaN where never reviewed (then R = 1).
        scheduler: The fsrs Scheduler defining the curve; default: the module's scheduler.

    Returns:
        Float array of m_eff in [0, 1], never above p_known.
    """
    p = np.asarray(p_known, dtype=np.float64)
    if np.any(~((p >= 0.0) & (p <= 1.0))):
        raise ValueError("p_known must hold probabilities in [0, 1]")
    return p * retrievability_array(stability=stability, elapsed_days=elapsed_days, scheduler=scheduler)
