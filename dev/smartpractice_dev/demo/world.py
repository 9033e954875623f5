"""The simulated world of the demo, built from the seeded bank (pure: rows in, values out; rng passed in).

Question difficulty: the backend's multi-skill Elo expects a learner rated R to succeed on a single-skill
item of difficulty D with 1 / (1 + 10^((D − R)/400)) = σ((R − D)·ln 10/400). The simulation's kernel is
σ(θ − b) (inside its guess/slip bounds), so one logit is 400/ln 10 ≈ 173.7 Elo points, and the origin is
the Elo starting rating 1200, where the simulated population is centred (mean θ = 0): an average new
learner facing an item at 1200 has even odds in both models. Hence b = (D − 1200)·ln 10/400 — the seeded
bank's easy/medium/hard items (D ≈ 950/1150/1350) become b ≈ −1.45/−0.30/+0.85 logits. The Elo has no
guess/slip floor and ceiling (0.15/0.05 in the simulation): a known misfit the calibration plot shows.
The true difficulties are the bank's Elo difficulties when the run starts (the seeded values on a fresh stack;
answers move them by additive deltas, so a later run starts from the drifted bank).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from smartpractice_dev.simulation import SimulatedQuestion

ELO_ORIGIN = 1200.0
LOGITS_PER_ELO_POINT = math.log(10.0) / 400.0
ADAPTIVE, CONTROL = "adaptive", "random"
TEXT_WRONG_ANSWER = "demo: a wrong answer"


def elo_to_logit(difficulty: float) -> float:
    return (difficulty - ELO_ORIGIN) * LOGITS_PER_ELO_POINT


@dataclass(frozen=True, slots=True)
class BankQuestion:
    """A seeded question as the demo (an operator tool) sees it: with its answer key."""

    question_id: int
    question_type: str
    option_labels: tuple[str, ...]
    correct_answer: tuple[str, ...]
    numeric_tolerance: float | None
    expected_time_seconds: float
    skill_ids: tuple[int, ...]
    elo_difficulties: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class World:
    skill_ids: tuple[int, ...]  # DB skill id of each simulated skill index
    skill_names: tuple[str, ...]
    questions: dict[int, BankQuestion]  # by DB question id
    simulated: dict[int, SimulatedQuestion]  # by DB question id

    def skill_index(self, skill_id: int) -> int:
        return self.skill_ids.index(skill_id)


def build_world(*, questions: Sequence[BankQuestion], skill_names: dict[int, str]) -> World:
    """Simulated skills = every skill the in-scope questions practise (sorted by id)."""
    skill_ids = tuple(sorted({s for q in questions for s in q.skill_ids}))
    index = {skill: i for i, skill in enumerate(skill_ids)}
    simulated = {
        q.question_id: SimulatedQuestion(
            question_id=q.question_id, skills=tuple(index[s] for s in q.skill_ids),
            difficulties=tuple(elo_to_logit(d) for d in q.elo_difficulties),
            expected_time_seconds=q.expected_time_seconds)
        for q in questions
    }
    return World(skill_ids=skill_ids, skill_names=tuple(skill_names.get(s, f"skill {s}") for s in skill_ids),
                 questions={q.question_id: q for q in questions}, simulated=simulated)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def answer_for(question: BankQuestion, *, correct: bool, rng: np.random.Generator) -> list[str]:
    """What the simulated learner submits: the key, or a wrong answer the grader must reject."""
    if correct:
        return list(question.correct_answer)
    if question.option_labels:
        keys = {c.strip().upper() for c in question.correct_answer}
        wrong = [label for label in question.option_labels if label.strip().upper() not in keys]
        if not wrong:
            raise ValueError(f"question {question.question_id}: every option is correct")
        return [wrong[int(rng.integers(len(wrong)))]]
    if question.question_type == "numeric":
        key = float(question.correct_answer[0].replace(",", ""))
        # Off by a whole step beyond the tolerance (the grader's default tolerance is ~1e-6 of the key).
        step = (question.numeric_tolerance or 0.0) + 1.0
        offset = step * int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
        return [_format_number(key + offset)]
    return [TEXT_WRONG_ANSWER]


def assign_groups(*, ability: Sequence[float], control_share: float, rng: np.random.Generator) -> tuple[str, ...]:
    """Stratified random assignment: floor(n × share) learners in the control (random selection) group.

    Learners are ranked by `ability` and cut into floor(n × share) consecutive strata; one learner drawn at
    random from each stratum goes to control (share 0.5: one of each neighbouring pair). Still a random
    assignment, but the groups start with the same spread of abilities, so their outcomes compare fairly.
    """
    n = len(ability)
    n_control = math.floor(n * control_share + 1e-9)
    order = np.argsort(np.asarray(ability, dtype=np.float64), kind="stable")
    control = set()
    for stratum in range(n_control):
        low, high = (stratum * n) // n_control, ((stratum + 1) * n) // n_control
        control.add(int(order[low + int(rng.integers(high - low))]))
    return tuple(CONTROL if i in control else ADAPTIVE for i in range(n))


def practice_schedule(*, n_learners: int, days: int, sessions_per_day: float | None = None,
                      sessions_per_week: float | None = None, rng: np.random.Generator) -> NDArray[np.int64]:
    """Sessions per learner and simulated day, shape (n_learners, days).

    Per block of 7 days (the last one may be shorter), a learner has round(rate × block length) sessions,
    rate being sessions per day (or per week / 7): every day of the block gets the whole part of the
    average, and the remainder falls on distinct days drawn at random.
    """
    if (sessions_per_day is None) == (sessions_per_week is None):
        raise ValueError("give exactly one of sessions_per_day and sessions_per_week")
    per_day = sessions_per_day if sessions_per_day is not None else float(sessions_per_week or 0.0) / 7.0
    schedule = np.zeros((n_learners, days), dtype=np.int64)
    for start in range(0, days, 7):
        length = min(7, days - start)
        total = round(per_day * length)
        base, extra = divmod(total, length)
        for learner in range(n_learners):
            block = np.full(length, base, dtype=np.int64)
            block[rng.choice(length, size=extra, replace=False)] += 1
            schedule[learner, start:start + length] = block
    return schedule


def skill_matrix(values: Iterable[tuple[int, int, float]], *, n_learners: int, world: World,
                 default: float) -> NDArray[np.float64]:
    """(learner, DB skill id, value) triples → (n_learners, n_skills), `default` where a pair is missing."""
    matrix = np.full((n_learners, len(world.skill_ids)), default, dtype=np.float64)
    index = {skill: i for i, skill in enumerate(world.skill_ids)}
    for learner, skill_id, value in values:
        if skill_id in index:
            matrix[learner, index[skill_id]] = value
    return matrix
