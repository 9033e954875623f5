"""Generative learner models for tests, the demo and benchmarks.  Every call takes `rng` and times explicitly.

API summary
-----------
Adaptive-practice world (abilities θ in logits, one per skill):

    rng = np.random.default_rng(7)
    cohort = SimulatedCohort.random(n_learners=200, n_skills=4, rng=rng)     # θ_ik = general_i + specific_ik
    bank = make_question_bank(n_questions=120, n_skills=4, rng=rng)           # tuple[SimulatedQuestion, ...]
    cohort.p_correct(learner=0, question=bank[0], now=t)                      # -> float
    ans = cohort.answer(learner=0, question=bank[0], now=t, rng=rng)          # the learner learns from it
    ans.is_correct, ans.confidence, ans.time_spent_seconds                    # bool, 1..5, float
    cohort.true_mastery(learner=0, skill=2, now=t)                            # θ_eff ≥ mastery_theta -> bool
    cohort.ability(learner=0, now=t)                                          # -> θ_eff per skill
    cohort.learner(0)                                                         # the frozen SimulatedLearner

    `SimulatedLearner` is immutable: `learner.respond(...)` returns (answer, learner_after); the cohort is
    the one stateful object and just swaps learners in place.

Response model for a question with skills k and difficulties b_k (conjunctive, like bkt/elo):
    P(correct) = guess + (1 - guess - slip) · Π_k σ(θ_k - b_k)
Learning: each practised skill closes a fraction learn_rate · (1 + error_feedback_boost if wrong) of its
gap to max_theta (diminishing returns; errors teach more because feedback follows them).
Forgetting: gains above the learner's base θ decay with a half-life in days since the skill was last
practised.  Confidence: round(1 + 4 · clip(0.5 p + 0.5 y + noise)).
Time spent: expected_time · exp(time_difficulty_slope · (mean b - mean θ) + N(0, time_log_sd)).

Known-parameter generators for recovery tests:
    simulate_bkt_sequences(params=[BKTParams, ...], n_learners=, n_opportunities=, rng=) -> BKTSimulation
    simulate_irt_responses(theta=, a=, b=, c=, rng=) -> int8 (n_learners, n_items),
        P = c + (1 - c) / (1 + exp(-a (θ - b)))   (no 1.702 scaling constant)
    missing_at_random(shape=, missing_rate=, rng=) -> bool mask, True = observed
Evaluation helpers: roc_auc(labels=, scores=), spearman_correlation(x=, y=), average_ranks(values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartpractice.learner.arrays import read_only
from smartpractice.learner.bkt import PROBABILITY_FIELDS, BKTParamArrays, BKTParams, FloatArray
from smartpractice.learner.bkt_em import ResponseSequences

SECONDS_PER_DAY = 86_400.0


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True, slots=True)
class LearnerDynamics:
    guess: float = 0.15
    slip: float = 0.05
    learn_rate: float = 0.02
    error_feedback_boost: float = 0.5
    max_theta: float = 3.0
    forgetting_half_life_days: float = 30.0
    mastery_theta: float = 1.0
    confidence_noise: float = 0.15
    time_log_sd: float = 0.35
    time_difficulty_slope: float = 0.3


@dataclass(frozen=True, slots=True)
class SimulatedQuestion:
    question_id: int
    skills: tuple[int, ...]
    difficulties: tuple[float, ...]  # b_k in logits, one per skill
    expected_time_seconds: float = 60.0

    def __post_init__(self) -> None:
        distinct = len(set(self.skills)) == len(self.skills)
        if not self.skills or not distinct or len(self.skills) != len(self.difficulties):
            raise ValueError("a question needs distinct skills, each with one difficulty")

    @property
    def skill_difficulties(self) -> dict[int, float]:
        return dict(zip(self.skills, self.difficulties, strict=True))


@dataclass(frozen=True, slots=True)
class SimulatedAnswer:
    is_correct: bool
    confidence: int
    time_spent_seconds: float
    p_correct: float  # the true probability it was drawn with


@dataclass(frozen=True, slots=True)
class SimulatedLearner:
    base_theta: FloatArray  # long-term ability per skill (never forgotten)
    theta: FloatArray  # ability right after the last practice of each skill
    last_practiced: FloatArray  # POSIX seconds, NaN = never practised
    dynamics: LearnerDynamics = field(default_factory=LearnerDynamics)

    def __post_init__(self) -> None:
        for name in ("base_theta", "theta", "last_practiced"):
            object.__setattr__(self, name, read_only(getattr(self, name)))

    def ability(self, *, now: datetime) -> FloatArray:
        days = np.nan_to_num((now.timestamp() - self.last_practiced) / SECONDS_PER_DAY, nan=0.0)
        retained = 0.5 ** (np.maximum(days, 0.0) / self.dynamics.forgetting_half_life_days)
        return self.base_theta + (self.theta - self.base_theta) * retained

    def p_correct(self, *, question: SimulatedQuestion, now: datetime) -> float:
        return self._p_correct(question, self.ability(now=now))

    def _p_correct(self, question: SimulatedQuestion, ability: FloatArray) -> float:
        gaps = ability[list(question.skills)] - np.asarray(question.difficulties)
        d = self.dynamics
        return d.guess + (1.0 - d.guess - d.slip) * float(np.prod(_sigmoid(gaps)))

    def true_mastery(self, *, skill: int, now: datetime) -> bool:
        return bool(self.ability(now=now)[skill] >= self.dynamics.mastery_theta)

    def respond(
        self, *, question: SimulatedQuestion, now: datetime, rng: np.random.Generator
    ) -> tuple[SimulatedAnswer, SimulatedLearner]:
        """Draw an answer at `now`; return it with the learner after practising (and learning from) it."""
        d = self.dynamics
        current = self.ability(now=now)
        skills = list(question.skills)
        p = self._p_correct(question, current)
        correct = bool(rng.random() < p)
        signal = 0.5 * p + 0.5 * float(correct) + float(rng.normal(0.0, d.confidence_noise))
        confidence = round(1.0 + 4.0 * min(1.0, max(0.0, signal)))
        gap = float(np.mean(question.difficulties)) - float(np.mean(current[skills]))
        log_time = d.time_difficulty_slope * gap + float(rng.normal(0.0, d.time_log_sd))
        expected = question.expected_time_seconds
        seconds = min(10.0 * expected, max(3.0, expected * float(np.exp(log_time))))
        rate = min(1.0, d.learn_rate * (1.0 + (0.0 if correct else d.error_feedback_boost)))
        theta = self.theta.copy()  # unpractised skills keep their own last-practice anchor
        theta[skills] = current[skills] + rate * np.maximum(d.max_theta - current[skills], 0.0)
        last = self.last_practiced.copy()
        last[skills] = now.timestamp()
        after = SimulatedLearner(self.base_theta, theta, last, d)
        return SimulatedAnswer(correct, confidence, seconds, p), after


class SimulatedCohort:
    """A simulated world of learners: the one deliberately stateful object (it swaps frozen learners)."""

    def __init__(self, learners: Sequence[SimulatedLearner]) -> None:
        self._learners = list(learners)

    @classmethod
    def random(
        cls,
        *,
        n_learners: int,
        n_skills: int,
        rng: np.random.Generator,
        mean_theta: float = 0.0,
        general_sd: float = 0.8,
        skill_sd: float = 0.5,
        dynamics: LearnerDynamics | None = None,
    ) -> SimulatedCohort:
        general = rng.normal(mean_theta, general_sd, size=(n_learners, 1))
        theta = general + rng.normal(0.0, skill_sd, size=(n_learners, n_skills))
        never = np.full(n_skills, np.nan)
        d = dynamics or LearnerDynamics()
        return cls([SimulatedLearner(row.copy(), row.copy(), never.copy(), d) for row in theta])

    def __len__(self) -> int:
        return len(self._learners)

    def learner(self, index: int) -> SimulatedLearner:
        return self._learners[index]

    def ability(self, *, learner: int, now: datetime) -> FloatArray:
        return self._learners[learner].ability(now=now)

    def abilities(self, *, now: datetime) -> FloatArray:
        """θ_eff of everyone, shape (n_learners, n_skills)."""
        return np.stack([one.ability(now=now) for one in self._learners])

    def p_correct(self, *, learner: int, question: SimulatedQuestion, now: datetime) -> float:
        return self._learners[learner].p_correct(question=question, now=now)

    def true_mastery(self, *, learner: int, skill: int, now: datetime) -> bool:
        return self._learners[learner].true_mastery(skill=skill, now=now)

    def answer(
        self, *, learner: int, question: SimulatedQuestion, now: datetime, rng: np.random.Generator
    ) -> SimulatedAnswer:
        result, after = self._learners[learner].respond(question=question, now=now, rng=rng)
        self._learners[learner] = after
        return result


def make_question_bank(
    *,
    n_questions: int,
    n_skills: int,
    rng: np.random.Generator,
    max_skills_per_question: int = 2,
    difficulty_sd: float = 1.0,
    expected_time_seconds: float = 60.0,
) -> tuple[SimulatedQuestion, ...]:
    """Questions over 1..max_skills_per_question distinct skills, difficulties b ~ N(0, difficulty_sd)."""
    bank = []
    for question_id in range(n_questions):
        k = int(rng.integers(1, min(max_skills_per_question, n_skills) + 1))
        skills = tuple(int(s) for s in rng.choice(n_skills, size=k, replace=False))
        difficulties = tuple(float(b) for b in rng.normal(0.0, difficulty_sd, size=k))
        bank.append(SimulatedQuestion(question_id, skills, difficulties, expected_time_seconds))
    return tuple(bank)


# --- BKT sequences from known parameters -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BKTSimulation:
    data: ResponseSequences  # row = one learner × skill sequence
    known: NDArray[np.bool_]  # true hidden state at each opportunity (before the answer)


def simulate_bkt_sequences(
    *,
    params: Sequence[BKTParams],
    n_learners: int,
    n_opportunities: int,
    rng: np.random.Generator,
    min_opportunities: int | None = None,
) -> BKTSimulation:
    """One sequence per learner × skill (rows grouped by skill); lengths uniform in [min, n] if min given."""
    arrays = BKTParamArrays.stack(params)
    skill_index = np.repeat(np.arange(len(params), dtype=np.int64), n_learners)
    p = {name: getattr(arrays, name)[skill_index] for name in PROBABILITY_FIELDS}
    n = skill_index.size
    known = np.empty((n, n_opportunities), dtype=np.bool_)
    responses = np.empty((n, n_opportunities), dtype=np.int8)
    state = rng.random(n) < p["p_init"]
    for t in range(n_opportunities):
        known[:, t] = state
        responses[:, t] = rng.random(n) < np.where(state, 1.0 - p["p_slip"], p["p_guess"])
        draw = rng.random(n)
        state = np.where(state, draw >= p["p_forget"], draw < p["p_learn"])
    lowest = n_opportunities if min_opportunities is None else min_opportunities
    lengths = rng.integers(lowest, n_opportunities + 1, size=n)
    mask = np.arange(n_opportunities)[np.newaxis, :] < lengths[:, np.newaxis]
    data = ResponseSequences(np.where(mask, responses, 0).astype(np.int8), mask, skill_index, len(params))
    return BKTSimulation(data, known)


# --- IRT responses from known item parameters ------------------------------------------------------


def irt_probability(
    *, theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None
) -> FloatArray:
    """P[i, j] = c_j + (1 - c_j) / (1 + exp(-a_j (θ_i - b_j))), shape (n_learners, n_items)."""
    th = np.asarray(theta, dtype=np.float64)[:, np.newaxis]
    a_, b_ = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    c_ = np.zeros_like(b_) if c is None else np.asarray(c, dtype=np.float64)
    return c_ + (1.0 - c_) * _sigmoid(a_ * (th - b_))


def simulate_irt_responses(
    *, theta: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray | None, rng: np.random.Generator
) -> NDArray[np.int8]:
    """0/1 responses (n_learners, n_items) drawn from the 2PL (c=None) or 3PL model."""
    probability = irt_probability(theta=theta, a=a, b=b, c=c)
    return (rng.random(probability.shape) < probability).astype(np.int8)


def missing_at_random(
    *, shape: tuple[int, ...], missing_rate: float, rng: np.random.Generator
) -> NDArray[np.bool_]:
    """Observed-mask (True = observed) with each cell missing independently with `missing_rate`."""
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must be in [0, 1), got {missing_rate!r}")
    return rng.random(shape) >= missing_rate


# --- evaluation helpers ----------------------------------------------------------------------------


def average_ranks(values: ArrayLike) -> FloatArray:
    """1-based ranks with ties sharing their average rank."""
    v = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(v, kind="mergesort")
    ordered = v[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], v.size]
    ranks = np.empty(v.size)
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(starts_group) - 1]
    return ranks


def roc_auc(*, labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve (Mann–Whitney U with tie correction)."""
    y = np.asarray(labels).astype(np.bool_).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both positive and negative labels")
    ranks = average_ranks(scores)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def spearman_correlation(*, x: ArrayLike, y: ArrayLike) -> float:
    """Pearson correlation of average ranks."""
    rx, ry = average_ranks(x), average_ranks(y)
    if rx.size != ry.size or rx.size < 2:
        raise ValueError("x and y need the same length >= 2")
    return float(np.corrcoef(rx, ry)[0, 1])
