"""Reference weakness estimates for bench_selection_efficiency.py --experiments: what the selection could reach
with perfect knowledge (the TRUE remaining practice) and with the best possible estimate from the answers (a
Bayesian posterior under the simulator's OWN response and learning model, with the true difficulties).

Neither is a policy the product could run: both read the simulator. They bound what better estimation can buy.
In this world a skill's remaining practice is known once its starting ability θ0_k is: every practice closes
learn_rate · (1 + boost if wrong) of the gap to max_theta, so after r right and w wrong answers on the skill
    gap_now = (max_theta − θ0) · (1 − rate_right)^r · (1 − rate_wrong)^w      (the order does not matter)
and the practices still needed to reach the mastery bar are ≈ ln(gap_now / (max_theta − mastery)) / rate, so the
graded need of a skill is max(0, ln(gap_now / gap_at_mastery)) (forgetting is ignored: a bench learner's sessions
all fall within a few hours, the half-life is 30 days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from selection_world import COHORT_MEAN_THETA, N_SKILLS, Step, _per_skill  # benchmarks/, next to this script

from smartpractice.learner.weakness import question_weakness
from smartpractice.service.candidates import SkillView
from smartpractice_dev.simulation import LearnerDynamics

DYNAMICS = LearnerDynamics()
GENERAL_SD, SKILL_SD = 0.8, 0.5  # SimulatedCohort.random's defaults, which the bench uses


def _practice_counts(step: Step) -> tuple[np.ndarray, np.ndarray]:
    """(right, wrong) answers per skill so far, from the learner's per-question tallies."""
    ids = step.bank.skill_ids
    tries, successes = step.learner.tries, step.learner.successes
    right = np.array([successes[ids == k].sum() for k in range(N_SKILLS)])
    wrong = np.array([tries[ids == k].sum() for k in range(N_SKILLS)]) - right
    return right, wrong


def _remaining_factor(right: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    """The share of the starting gap to max_theta left after `right` / `wrong` practices per skill."""
    rate = DYNAMICS.learn_rate
    factor: np.ndarray = np.power(1.0 - rate, right) * np.power(
        1.0 - rate * (1.0 + DYNAMICS.error_feedback_boost), wrong)
    return factor


def graded_need(gap_now: np.ndarray) -> np.ndarray:
    """max(0, ln(gap_now / gap at the mastery bar)): proportional to the practices a skill still needs."""
    at_bar = DYNAMICS.max_theta - DYNAMICS.mastery_theta
    need: np.ndarray = np.maximum(np.log(np.maximum(gap_now, 1e-12) / at_bar), 0.0)
    return need


def _weakness_from(step: Step, pool: Any, per_skill: np.ndarray) -> np.ndarray:
    """Per-skill values, relative to the learner's largest, summed over each question's skills."""
    relative = per_skill / max(float(per_skill.max()), 1e-12)
    present, values = _per_skill(pool, relative)
    return question_weakness(per_skill=values, present=present)


def true_need(step: Step, pool: Any, views: dict[int, SkillView]) -> np.ndarray:
    """Reference: the TRUE graded need (from the simulator's current θ), relative to the learner's neediest."""
    return _weakness_from(step, pool, graded_need(DYNAMICS.max_theta - step.true_theta))


@dataclass
class _Posterior:
    learner: Any  # held so that id() is not reused while the cache lives
    theta0: np.ndarray  # (particles, skills) draws from the cohort's prior
    log_weight: np.ndarray
    right: np.ndarray = field(default_factory=lambda: np.zeros(N_SKILLS))
    wrong: np.ndarray = field(default_factory=lambda: np.zeros(N_SKILLS))
    tries: np.ndarray | None = None
    successes: np.ndarray | None = None


@dataclass
class BayesNeed:
    """Reference: E[graded need] (or P(below the bar), `binary`) under the posterior of θ0 given every answer so
    far, by importance sampling from the cohort's prior, with the simulator's own P(correct) = guess + (1 − guess
    − slip) Π σ(θ_now,k − b_k) at the TRUE b. It sees each answer as the difference of the learner's tallies
    since its previous call (the bench calls it once per pick). Deterministic: particles from `seed`."""

    particles: int = 20_000
    seed: int = 0
    binary: bool = False
    _cache: dict[int, _Posterior] = field(default_factory=dict)

    def _posterior(self, step: Step) -> _Posterior:
        found = self._cache.get(id(step.learner))
        if found is not None and found.learner is step.learner:
            return found
        rng = np.random.default_rng(self.seed + len(self._cache))
        theta0 = (rng.normal(COHORT_MEAN_THETA, GENERAL_SD, (self.particles, 1))
                  + rng.normal(0.0, SKILL_SD, (self.particles, N_SKILLS)))
        made = _Posterior(step.learner, np.minimum(theta0, DYNAMICS.max_theta - 0.1), np.zeros(self.particles),
                          tries=step.learner.tries.copy(), successes=step.learner.successes.copy())
        self._cache[id(step.learner)] = made
        return made

    def _observe(self, post: _Posterior, step: Step) -> None:
        assert post.tries is not None and post.successes is not None
        changed = np.flatnonzero((step.learner.tries - post.tries).sum(axis=1) > 0)
        for question in changed.tolist():  # at most one: the answer since the previous pick
            correct = bool((step.learner.successes - post.successes)[question].sum() > 0)
            skills = [int(s) for s in step.bank.skill_ids[question] if s >= 0]
            theta_now = DYNAMICS.max_theta - (DYNAMICS.max_theta - post.theta0) * _remaining_factor(
                post.right, post.wrong)
            p = np.ones(self.particles)
            for slot, skill in enumerate(skills):
                p = p / (1.0 + np.exp(-(theta_now[:, skill] - step.bank.true_b[question, slot])))
            p = DYNAMICS.guess + (1.0 - DYNAMICS.guess - DYNAMICS.slip) * p
            post.log_weight += np.log(p if correct else 1.0 - p)
            (post.right if correct else post.wrong)[skills] += 1
        post.tries, post.successes = step.learner.tries.copy(), step.learner.successes.copy()

    def __call__(self, step: Step, pool: Any, views: dict[int, SkillView]) -> np.ndarray:
        post = self._posterior(step)
        self._observe(post, step)
        weight = np.exp(post.log_weight - post.log_weight.max())
        weight /= weight.sum()
        need = graded_need((DYNAMICS.max_theta - post.theta0) * _remaining_factor(post.right, post.wrong))
        per_skill = weight @ ((need > 0.0).astype(np.float64) if self.binary else need)
        return _weakness_from(step, pool, per_skill)
