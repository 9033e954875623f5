"""The selection bench's information-limit reference (benchmarks/selection_bayes.py): its learning arithmetic
matches the simulator, and its importance-sampled posterior equals the exact one (brute force on a grid), so the
0.735-0.740x it reaches (README "The information limit") is the best estimate's, not a broken one's."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

from selection_bayes import DYNAMICS, BayesNeed, _remaining_factor, graded_need

from smartpractice_dev.simulation import SimulatedLearner, SimulatedQuestion


def test_the_remaining_gap_and_need_follow_the_simulators_learning() -> None:
    factor = _remaining_factor(np.array([1.0, 0.0, 10.0]), np.array([0.0, 1.0, 10.0]))
    np.testing.assert_allclose(factor, [0.98, 0.97, 0.98**10 * 0.97**10])
    at_bar = DYNAMICS.max_theta - DYNAMICS.mastery_theta
    np.testing.assert_allclose(graded_need(np.array([at_bar, at_bar * np.e, 0.5 * at_bar])), [0.0, 1.0, 0.0])


def test_one_answer_of_the_simulator_closes_the_gap_the_reference_assumes() -> None:
    learner = SimulatedLearner(np.array([-0.5]), np.array([-0.5]), np.array([np.nan]))
    question = SimulatedQuestion(question_id=0, skills=(0,), difficulties=(0.0,))
    now = datetime(2026, 1, 5, tzinfo=UTC)
    answer, after = learner.respond(question=question, now=now, rng=np.random.default_rng(3))
    right, wrong = (1.0, 0.0) if answer.is_correct else (0.0, 1.0)
    expected = DYNAMICS.max_theta - 3.5 * _remaining_factor(np.array([right]), np.array([wrong]))
    assert after.ability(now=now)[0] == pytest.approx(float(expected[0]), abs=1e-12)


def _grid_posterior_mean(*, skills: np.ndarray, difficulty: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """The exact posterior mean of θ0 on a 4-D grid, under the same joint prior (general + specific) and model."""
    axis = np.linspace(-3.5, 2.5, 19)
    grid = np.stack(np.meshgrid(axis, axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 4)
    covariance = 0.8**2 * np.ones((4, 4)) + 0.5**2 * np.eye(4)
    centred = grid + 0.5
    log_post = -0.5 * np.einsum("ij,jk,ik->i", centred, np.linalg.inv(covariance), centred)
    right, wrong = np.zeros(4), np.zeros(4)
    for k, b, y in zip(skills.tolist(), difficulty.tolist(), correct.tolist(), strict=True):
        now = 3.0 - (3.0 - grid[:, k]) * 0.98 ** right[k] * 0.97 ** wrong[k]
        p = 0.15 + 0.80 / (1.0 + np.exp(-(now - b)))
        log_post += np.log(p if y else 1.0 - p)
        (right if y else wrong)[k] += 1
    weight = np.exp(log_post - log_post.max())
    mean: np.ndarray = weight @ grid / weight.sum()
    return mean


def test_the_posterior_equals_the_exact_one_on_a_grid() -> None:
    """The importance sampler against brute force: 60 one-skill answers of a simulated learner (15 a skill; the
    data say little about θ0 beyond the prior, ~0.6 logit sd a skill, because learning moves θ and guessing and
    slips blur the answers), the same posterior mean within Monte Carlo and grid error."""
    truth = np.array([-1.2, 0.6, -0.4, 0.1])
    learner = SimulatedLearner(truth.copy(), truth.copy(), np.full(4, np.nan))
    rng = np.random.default_rng(11)
    n_questions = 60
    skills = np.tile(np.arange(4), n_questions // 4)
    difficulty = rng.normal(0.0, 1.5, n_questions)
    bank = SimpleNamespace(skill_ids=np.c_[skills, np.full(n_questions, -1)],
                           true_b=np.c_[difficulty, np.full(n_questions, np.nan)])
    tallies = SimpleNamespace(tries=np.zeros((n_questions, 2)), successes=np.zeros((n_questions, 2)))
    reference = BayesNeed(particles=200_000, seed=5)
    step = SimpleNamespace(learner=tallies, bank=bank)
    posterior = reference._posterior(step)  # type: ignore[arg-type]
    now = datetime(2026, 1, 5, tzinfo=UTC)
    for q in range(n_questions):  # one minute apart: forgetting (half-life 30 days) is negligible
        question = SimulatedQuestion(question_id=q, skills=(int(skills[q]),), difficulties=(float(difficulty[q]),))
        answer, learner = learner.respond(question=question, now=now, rng=rng)
        tallies.tries[q, 0] += 1
        tallies.successes[q, 0] += int(answer.is_correct)
        reference._observe(posterior, step)  # type: ignore[arg-type]
        now += timedelta(minutes=1)
    weight = np.exp(posterior.log_weight - posterior.log_weight.max())
    estimate = weight @ posterior.theta0 / weight.sum()
    exact = _grid_posterior_mean(skills=skills, difficulty=difficulty, correct=tallies.successes[:, 0])
    assert posterior.right.sum() + posterior.wrong.sum() == n_questions
    np.testing.assert_allclose(estimate, exact, atol=0.03)  # seeded: measured 0.005 apart
    assert float(np.abs(exact - (-0.5)).max()) > 0.2  # the answers moved it: the comparison is not prior vs prior
