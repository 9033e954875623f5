"""Closed-loop check of Thompson selection against the generative learner model (smartpractice_dev/simulation.py).

World: 4 skills, 300 questions over 1–2 skills with difficulties b ~ N(0, 1.5), learners with
θ = general + specific (cohort mean −0.5). The simulated learner learns from every question
practising a skill (more after errors) and counts as mastered when every skill's true ability
reaches ``mastery_theta`` (1.0). Each learner practises until mastered (cap 400 questions), one
answer a minute (forgetting is negligible at this time scale).

The selection inputs come from what the service would know — never from the true abilities:

* predicted p: a logistic (Elo-style) estimate θ̂ per skill, started at the population mean and
  updated by a stochastic-gradient step on each answer's log-likelihood under the same
  conjunctive guess/slip form the bank is calibrated for (question difficulties are treated as
  calibrated, i.e. known);
* evidence: answers seen on the question's least-practised skill;
* weakness: P(skill not yet mastered) = Φ((mastery_θ − θ̂)·sqrt(1 + 0.2·n)) (a normal posterior
  whose precision grows by ≈ 0.2 per answer), summed over the question's skills and divided by 2
  (the most skills a question has) — the amount of unmastered-skill practice the question delivers;
* recency and exposure: this learner's own history of each question.

Practice runs in sessions of 20 answers, whose success so far the band's session controller reads.

Measured (60 learners per run; seeds 101/202/303; with the band's gate 0.25 and session gain 2, 2026-12-07):
mean questions to mastery ours / random = 0.816 / 0.887 / 0.895; realised success rate 0.68 / 0.68 / 0.68 under
our selection versus 0.54 / 0.52 / 0.52 under random selection (gate 0.15, gain 4: 0.858 / 0.911 / 0.914 at
0.68 / 0.67 / 0.68; before the gate and controller: 0.855 / 0.852 / 0.839 at 0.62 / 0.61 / 0.60). With the
weakness weight 0.8 (2026-12-07 20:05): 0.824 / 0.906 / 0.858 at 0.68 / 0.68 / 0.67. In this world the
estimator already served near the band, so the rules mostly cost speed here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

import numpy as np

from smartpractice.learner.band import SessionSuccess
from smartpractice.learner.selection import SelectionCandidates, SelectionPolicy, select_next_question
from smartpractice_dev.simulation import (
    LearnerDynamics,
    SimulatedCohort,
    SimulatedQuestion,
    make_question_bank,
)

N_SKILLS = 4
N_QUESTIONS = 300
N_LEARNERS = 60
MAX_QUESTIONS = 400
COHORT_MEAN_THETA = -0.5
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ANSWER_INTERVAL = timedelta(minutes=1)
DYNAMICS = LearnerDynamics()


@dataclass(frozen=True, slots=True)
class Bank:
    difficulty: np.ndarray  # questions × skills (0 where the skill is absent)
    has_skill: np.ndarray  # questions × skills, bool


@dataclass(frozen=True, slots=True)
class LearnerEstimate:
    """What the service knows about one learner: θ̂ per skill, answers per skill, question history."""

    theta: np.ndarray
    answers: np.ndarray
    last_seen_s: np.ndarray
    exposure: np.ndarray


@dataclass(frozen=True, slots=True)
class Outcome:
    questions_to_mastery: np.ndarray
    success_rate: float


Chooser = Callable[[LearnerEstimate, np.ndarray, datetime, np.random.Generator, SessionSuccess], int]
SESSION_QUESTIONS = 20  # answers per practice session (the band's session controller reads the session so far)
NO_GATE = SelectionPolicy(band_gate_share=1.0)  # the default policy without the band's gate
Picks = list[tuple[str, int]]  # per pick: dominant component, skills of the question


def _make_bank(seed: int) -> tuple[Bank, tuple[SimulatedQuestion, ...]]:
    questions = make_question_bank(
        n_questions=N_QUESTIONS, n_skills=N_SKILLS, rng=np.random.default_rng(seed), difficulty_sd=1.5
    )
    difficulty = np.zeros((N_QUESTIONS, N_SKILLS))
    has_skill = np.zeros((N_QUESTIONS, N_SKILLS), dtype=bool)
    for question in questions:
        for skill, b in question.skill_difficulties.items():
            difficulty[question.question_id, skill] = b
            has_skill[question.question_id, skill] = True
    return Bank(difficulty, has_skill), questions


def _skill_success(estimate: LearnerEstimate, bank: Bank) -> np.ndarray:
    success: np.ndarray = 1.0 / (1.0 + np.exp(-(estimate.theta[None, :] - bank.difficulty)))
    return success


def _predicted_p(estimate: LearnerEstimate, bank: Bank) -> tuple[np.ndarray, np.ndarray]:
    """(P(correct) per question, all-skills-succeed product) under the conjunctive guess/slip form."""
    all_skills = np.exp(np.sum(np.where(bank.has_skill, np.log(_skill_success(estimate, bank)), 0.0), axis=1))
    return DYNAMICS.guess + (1.0 - DYNAMICS.guess - DYNAMICS.slip) * all_skills, all_skills


def _updated(
    estimate: LearnerEstimate, bank: Bank, question: int, correct: bool, now: datetime
) -> LearnerEstimate:
    p, all_skills = _predicted_p(estimate, bank)
    skills = bank.has_skill[question]
    per_skill = _skill_success(estimate, bank)[question]
    # ∂ log-likelihood / ∂θ̂_k = (y − p)/(p(1 − p)) · (1 − g − s) · Π σ · (1 − σ_k)
    gradient = (float(correct) - p[question]) / (p[question] * (1.0 - p[question])) * (
        (1.0 - DYNAMICS.guess - DYNAMICS.slip) * all_skills[question] * (1.0 - per_skill)
    )
    step = np.maximum(0.3, 1.0 / (1.0 + 0.2 * estimate.answers))  # large first, floored to keep tracking
    last_seen = estimate.last_seen_s.copy()
    last_seen[question] = now.timestamp()
    exposure = estimate.exposure.copy()
    exposure[question] += 1.0
    return LearnerEstimate(
        theta=np.where(skills, estimate.theta + step * gradient, estimate.theta),
        answers=estimate.answers + skills,
        last_seen_s=last_seen,
        exposure=exposure,
    )


def _thompson_chooser(bank: Bank, picks: Picks | None = None) -> Chooser:
    question_ids = np.arange(N_QUESTIONS)
    normal = NormalDist()

    def choose(
        estimate: LearnerEstimate, predicted: np.ndarray, now: datetime, rng: np.random.Generator,
        session: SessionSuccess,
    ) -> int:
        z = (DYNAMICS.mastery_theta - estimate.theta) * np.sqrt(1.0 + 0.2 * estimate.answers)
        not_mastered = np.array([normal.cdf(float(value)) for value in z])
        candidates = SelectionCandidates(
            question_ids=question_ids,
            predicted_p=predicted,
            evidence=np.min(np.where(bank.has_skill, estimate.answers[None, :], np.inf), axis=1),
            skill_weakness=np.where(bank.has_skill, not_mastered[None, :], 0.0).sum(axis=1) / 2.0,
            due_score=np.zeros(N_QUESTIONS),
            prerequisite_readiness=np.ones(N_QUESTIONS),
            seconds_since_seen=now.timestamp() - estimate.last_seen_s,
            exposure_count=estimate.exposure,
        )
        ungated = np.random.Generator(np.random.PCG64())
        ungated.bit_generator.state = rng.bit_generator.state  # the same Thompson draws, without the gate
        choice = select_next_question(candidates=candidates, rng=rng, session=session)
        if picks is not None:
            without = select_next_question(candidates=candidates, rng=ungated, session=session, policy=NO_GATE)
            decided = "gate" if without.index != choice.index else choice.reason.dominant_component
            picks.append((decided, int(bank.has_skill[choice.index].sum())))
        return choice.index

    return choose


def _random_chooser(estimate: LearnerEstimate, predicted: np.ndarray, now: datetime,
                    rng: np.random.Generator, session: SessionSuccess) -> int:
    return int(rng.integers(N_QUESTIONS))


def _practise(*, choose: Chooser, seed: int, n_learners: int = N_LEARNERS) -> Outcome:
    """Every learner practises until all skills are truly mastered (or the cap)."""
    bank, questions = _make_bank(seed)
    cohort = SimulatedCohort.random(
        n_learners=n_learners, n_skills=N_SKILLS, rng=np.random.default_rng(seed + 1),
        mean_theta=COHORT_MEAN_THETA, dynamics=DYNAMICS,
    )
    rng = np.random.default_rng(seed + 2)
    counts = np.zeros(n_learners, dtype=np.int64)
    correct_total = 0
    for learner in range(n_learners):
        estimate = LearnerEstimate(np.full(N_SKILLS, COHORT_MEAN_THETA), np.zeros(N_SKILLS),
                                   np.full(N_QUESTIONS, -np.inf), np.zeros(N_QUESTIONS))
        now, session = START, SessionSuccess(answered=0, correct=0)
        while counts[learner] < MAX_QUESTIONS and not all(
            cohort.true_mastery(learner=learner, skill=skill, now=now) for skill in range(N_SKILLS)
        ):
            predicted, _ = _predicted_p(estimate, bank)
            if session.answered == SESSION_QUESTIONS:
                session = SessionSuccess(answered=0, correct=0)
            question = choose(estimate, predicted, now, rng, session)
            answer = cohort.answer(learner=learner, question=questions[question], now=now, rng=rng)
            session = SessionSuccess(answered=session.answered + 1, correct=session.correct + int(answer.is_correct))
            estimate = _updated(estimate, bank, question, answer.is_correct, now)
            correct_total += int(answer.is_correct)
            counts[learner] += 1
            now += ANSWER_INTERVAL
    return Outcome(counts, correct_total / max(int(counts.sum()), 1))


def test_thompson_selection_hits_the_band_and_beats_random_to_mastery() -> None:
    seed = 101
    bank, _ = _make_bank(seed)
    ours = _practise(choose=_thompson_chooser(bank), seed=seed)
    uniform = _practise(choose=_random_chooser, seed=seed)
    ratio = float(ours.questions_to_mastery.mean() / uniform.questions_to_mastery.mean())
    # Target band 0.60–0.70 ± 5 points.
    assert 0.55 <= ours.success_rate <= 0.75, ours.success_rate
    # Random selection lands further from the band centre than ours does.
    assert abs(ours.success_rate - 0.65) < abs(uniform.success_rate - 0.65)
    assert np.all(ours.questions_to_mastery < MAX_QUESTIONS)
    # Same learners, same bank: at least 10 % fewer questions to reach true mastery (measured 0.816).
    assert ratio <= 0.90, ratio


def test_no_component_swamps_and_served_success_stays_near_the_band() -> None:
    """Seeded run (seed 202, 20 learners, default policy): which component decided each pick, the shapes and
    skills served, and the served success rate. Pinned: the run is deterministic for these seeds."""
    seed = 202
    bank, _ = _make_bank(seed)
    picks: Picks = []
    skills_served = np.zeros(N_SKILLS)
    chooser = _thompson_chooser(bank, picks)

    def counting(estimate: LearnerEstimate, predicted: np.ndarray, now: datetime, rng: np.random.Generator,
                 session: SessionSuccess) -> int:
        index = chooser(estimate, predicted, now, rng, session)
        skills_served[bank.has_skill[index]] += 1
        return index

    ours = _practise(choose=counting, seed=seed, n_learners=20)
    decided = Counter(component for component, _ in picks)
    # "gate": the band's gate changed the pick (the same draws without it chose another candidate); else the
    # dominant component among the gated candidates.
    assert len(picks) == 1338 and decided == {"gate": 972, "weakness": 366}
    # Neither the band (its gate) nor weakness decides more than 90 % of the picks; the second over 10 %.
    shares = sorted(v / len(picks) for v in decided.values())
    assert shares[-1] <= 0.90 and shares[-2] >= 0.10
    # Every skill is practised: each is in over a third of the (two-skill) picks.
    assert np.all(skills_served / len(picks) >= 0.35), skills_served / len(picks)
    assert Counter(n for _, n in picks) == {2: 1338}  # two-skill questions teach two skills at once
    assert 0.67 <= ours.success_rate <= 0.69, ours.success_rate  # inside the 0.60–0.70 band (measured 0.679)
