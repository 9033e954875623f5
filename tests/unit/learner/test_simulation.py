"""Simulation toolkit: pinned response model, learning/forgetting, generators' rates, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from smartpractice.learner.bkt import BKTParams
from smartpractice_dev.simulation import (
    LearnerDynamics,
    SimulatedCohort,
    SimulatedLearner,
    SimulatedQuestion,
    average_ranks,
    irt_probability,
    make_question_bank,
    missing_at_random,
    roc_auc,
    simulate_bkt_sequences,
    simulate_irt_responses,
    spearman_correlation,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
Q = SimulatedQuestion(question_id=1, skills=(0, 1), difficulties=(0.0, 0.3))


def _learner(theta: list[float]) -> SimulatedLearner:
    values = np.array(theta)
    return SimulatedLearner(values, values, np.full(len(theta), np.nan), LearnerDynamics())


def test_p_correct_pinned() -> None:
    # guess 0.15, slip 0.05: 0.15 + 0.8 · σ(0.5 − 0) · σ(−0.2 − 0.3) = 0.15 + 0.8 · 0.6224593 · 0.3775407
    #                      = 0.15 + 0.8 · 0.2350037 = 0.3380030
    p = _learner([0.5, -0.2, 2.0]).p_correct(question=Q, now=T0)
    assert p == pytest.approx(0.3380029697612756, abs=1e-12)


def test_practice_learns_more_after_errors_and_only_on_practised_skills() -> None:
    learner = _learner([0.5, -0.2, 2.0])
    results: dict[bool, SimulatedLearner] = {}
    for seed in range(40):  # find one right and one wrong answer
        answer, after = learner.respond(question=Q, now=T0, rng=np.random.default_rng(seed))
        results.setdefault(answer.is_correct, after)
    # right: θ + 0.02·(3 − θ): 0.5 + 0.02·2.5 = 0.55, −0.2 + 0.02·3.2 = −0.136
    # wrong: θ + 0.03·(3 − θ): 0.5 + 0.03·2.5 = 0.575, −0.2 + 0.03·3.2 = −0.104.  Skill 2 untouched.
    np.testing.assert_allclose(results[True].ability(now=T0), np.array([0.55, -0.136, 2.0]), rtol=1e-12)
    np.testing.assert_allclose(results[False].ability(now=T0), np.array([0.575, -0.104, 2.0]), rtol=1e-12)


def test_gains_are_forgotten_with_the_half_life() -> None:
    _, after = _learner([0.5, -0.2, 2.0]).respond(question=Q, now=T0, rng=np.random.default_rng(0))
    gain = after.ability(now=T0)[0] - 0.5
    # after 30 days (the half-life) half of the gain remains; the base ability never decays
    assert after.ability(now=T0 + timedelta(days=30))[0] == pytest.approx(0.5 + gain / 2, abs=1e-12)
    assert after.ability(now=T0 + timedelta(days=3000))[0] == pytest.approx(0.5, abs=1e-12)


def test_true_mastery_threshold() -> None:
    learner = _learner([1.0, 0.999, 2.0])
    assert learner.true_mastery(skill=0, now=T0) and not learner.true_mastery(skill=1, now=T0)


def test_cohort_answers_are_reproducible_and_shaped() -> None:
    def run(seed: int) -> list[tuple[bool, int, float]]:
        rng = np.random.default_rng(seed)
        cohort = SimulatedCohort.random(n_learners=30, n_skills=3, rng=rng)
        bank = make_question_bank(n_questions=20, n_skills=3, rng=rng)
        out = []
        for step in range(10):
            for learner in range(len(cohort)):
                a = cohort.answer(learner=learner, question=bank[(step + learner) % 20], now=T0, rng=rng)
                out.append((a.is_correct, a.confidence, a.time_spent_seconds))
        return out

    first = run(5)
    assert first == run(5)
    assert first != run(6)
    assert {c for _, c, _ in first} <= {1, 2, 3, 4, 5}
    assert all(3.0 <= t <= 600.0 for _, _, t in first)


def test_confidence_and_time_follow_the_generative_story() -> None:
    rng = np.random.default_rng(1)
    static = LearnerDynamics(learn_rate=0.0)
    cohort = SimulatedCohort.random(n_learners=400, n_skills=1, rng=rng, dynamics=static)
    easy = SimulatedQuestion(question_id=0, skills=(0,), difficulties=(-1.5,))
    hard = SimulatedQuestion(question_id=1, skills=(0,), difficulties=(1.5,))
    answers = {q.question_id: [cohort.answer(learner=i, question=q, now=T0, rng=rng) for i in range(400)]
               for q in (easy, hard)}
    pooled = answers[0] + answers[1]
    right = np.mean([a.confidence for a in pooled if a.is_correct])
    wrong = np.mean([a.confidence for a in pooled if not a.is_correct])
    assert right - wrong >= 1.0  # confidence tracks correctness
    median_easy = np.median([a.time_spent_seconds for a in answers[0]])
    median_hard = np.median([a.time_spent_seconds for a in answers[1]])
    assert median_hard / median_easy == pytest.approx(np.exp(0.3 * 3.0), rel=0.15)  # e^(slope · Δb)
    assert np.mean([a.is_correct for a in answers[0]]) > np.mean([a.is_correct for a in answers[1]]) + 0.3


def test_irt_probability_pinned() -> None:
    # θ=0, a=1, b=0, c=0.2 → 0.2 + 0.8·0.5 = 0.6 ; θ=1, a=2, b=0.5, no c → σ(1) = 0.7310585786
    p = irt_probability(theta=[0.0, 1.0], a=[1.0, 2.0], b=[0.0, 0.5], c=[0.2, 0.0])
    assert p[0, 0] == pytest.approx(0.6, abs=1e-15)
    assert p[1, 1] == pytest.approx(0.7310585786300049, abs=1e-15)
    assert irt_probability(theta=[1.0], a=[2.0], b=[0.5])[0, 0] == pytest.approx(0.7310585786300049)


def test_irt_responses_match_probabilities() -> None:
    rng = np.random.default_rng(8)
    theta = rng.normal(size=4000)
    a, b, c = np.array([0.8, 1.5, 2.0]), np.array([-1.0, 0.0, 1.0]), np.array([0.0, 0.2, 0.25])
    responses = simulate_irt_responses(theta=theta, a=a, b=b, c=c, rng=rng)
    assert responses.shape == (4000, 3) and responses.dtype == np.int8
    assert set(np.unique(responses)) <= {0, 1}
    expected = irt_probability(theta=theta, a=a, b=b, c=c).mean(axis=0)
    standard_error = np.sqrt(expected * (1 - expected) / 4000)
    assert np.all(np.abs(responses.mean(axis=0) - expected) <= 4 * standard_error)
    again = simulate_irt_responses(theta=theta, a=a, b=b, c=c, rng=np.random.default_rng(8))
    assert not np.array_equal(again, responses)  # the rng above had already advanced
    assert np.array_equal(simulate_irt_responses(theta=theta, a=a, b=b, c=None, rng=np.random.default_rng(2)),
                          simulate_irt_responses(theta=theta, a=a, b=b, c=None, rng=np.random.default_rng(2)))


def test_missing_at_random_rate() -> None:
    mask = missing_at_random(shape=(200, 100), missing_rate=0.3, rng=np.random.default_rng(0))
    assert mask.dtype == np.bool_ and abs(1 - mask.mean() - 0.3) < 0.01
    with pytest.raises(ValueError):
        missing_at_random(shape=(2, 2), missing_rate=1.0, rng=np.random.default_rng(0))


def test_bkt_sequences_follow_their_parameters() -> None:
    params = BKTParams(p_init=0.4, p_learn=0.2, p_guess=0.2, p_slip=0.1, p_forget=0.05)
    n = 20_000
    sim = simulate_bkt_sequences(params=[params], n_learners=n, n_opportunities=12,
                                 rng=np.random.default_rng(9), min_opportunities=4)
    data = sim.data
    first_right = 0.4 * 0.9 + 0.6 * 0.2  # = 0.48
    assert abs(data.responses[:, 0].mean() - first_right) <= 4 * np.sqrt(0.48 * 0.52 / n)
    assert abs(sim.known[:, 0].mean() - 0.4) <= 4 * np.sqrt(0.24 / n)
    # P(known) one step later: 0.4·0.95 + 0.6·0.2 = 0.5
    assert abs(sim.known[:, 1].mean() - 0.5) <= 4 * np.sqrt(0.25 / n)
    lengths = data.mask.sum(axis=1)
    assert lengths.min() == 4 and lengths.max() == 12
    assert not data.responses[~data.mask].any()


def test_auc_and_spearman_pinned() -> None:
    # positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ordered → 0.75
    assert roc_auc(labels=[0, 0, 1, 1], scores=[0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc(labels=[0, 1, 0, 1], scores=[0.5, 0.5, 0.5, 0.5]) == 0.5  # ties count half
    # 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60 = 0.8
    assert spearman_correlation(x=[1, 2, 3, 4], y=[1, 3, 2, 4]) == pytest.approx(0.8, abs=1e-12)
    np.testing.assert_array_equal(average_ranks([10, 20, 20, 30]), [1.0, 2.5, 2.5, 4.0])
    with pytest.raises(ValueError):
        roc_auc(labels=[1, 1], scores=[0.2, 0.3])
