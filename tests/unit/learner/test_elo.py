"""Multi-skill Elo: seed formulas pinned, conjunctive credit assignment, K schedule, simulation recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.bkt import ParamsValidationError
from smartpractice.learner.elo import (
    EloConfig,
    KSchedule,
    expected_correct,
    expected_scores,
    performance_score,
    probability_not_mastered,
    rating_from_logit,
    update_ratings,
)
from smartpractice_dev.simulation import (
    LearnerDynamics,
    SimulatedCohort,
    make_question_bank,
    spearman_correlation,
)


def test_expected_score_seed_formula_pinned() -> None:
    # E = 1 / (1 + 10^((1400 − 1200)/400)) = 1 / (1 + 10^0.5) = 1 / 4.16227766 = 0.2402530733520421
    assert float(expected_scores(learner_ratings=1200.0, difficulties=1400.0)) == pytest.approx(
        0.2402530733520421, abs=1e-15
    )
    assert float(expected_scores(learner_ratings=1300.0, difficulties=1300.0)) == 0.5


def test_k_schedule_shrinks_with_attempts_and_is_floored() -> None:
    # 64/(1+0) = 64 ; 64/(1+1) = 32 ; 64/(1+3) = 16 ; 64/(1+10) = 5.8 → floor 16
    schedule = KSchedule(k_max=64.0, k_min=16.0, decay=0.1)
    np.testing.assert_allclose(schedule.k([0, 10, 30, 100]), [64.0, 32.0, 16.0, 16.0])


def test_k_schedule_validation_reports_all_errors() -> None:
    with pytest.raises(ParamsValidationError) as caught:
        KSchedule(k_max=10.0, k_min=20.0, decay=-1.0)
    assert [e.field for e in caught.value.errors] == ["k_min", "decay"]


def test_single_skill_update_is_classic_elo() -> None:
    # E = 0.2402530733520421 ; ΔR = 64·(1 − E) = 48.62380330546931 ; ΔD = −48·(1 − E) = −36.46785247910198
    update = update_ratings(learner_ratings=[1200.0], learner_attempts=[0], difficulties=[1400.0],
                            question_attempts=[0], score=1.0)
    assert update.expected_correct == pytest.approx(0.2402530733520421, abs=1e-15)
    assert update.learner_ratings.tolist() == pytest.approx([1248.62380330546931], abs=1e-9)
    assert update.difficulty_deltas.tolist() == pytest.approx([-36.46785247910198], abs=1e-9)
    assert update.learner_attempts.tolist() == [1]
    assert update.next_learner_k.tolist() == pytest.approx([64.0 / 1.1])


def test_two_skill_credit_assignment_pinned() -> None:
    # Seed 003 example: power rule R=1250 vs D=800, product rule R=1100 vs D=1200, 70 % score.
    # E1 = 1/(1+10^(−450/400)) = 0.9302417126 ; E2 = 1/(1+10^(100/400)) = 0.3599350002 ; P = 0.3348265510
    # g1 = (1−E1)(0.7−P)/(1−P) = 0.0382965893 ; g2 = (1−E2)(0.7−P)/(1−P) = 0.3513891661
    # K_learner: 64/(1+0.1·10) = 32 and 64/(1+3) = 16 ; K_question: 48/(1+0) = 48 and 48/(1+0.05·20) = 24
    update = update_ratings(learner_ratings=[1250.0, 1100.0], learner_attempts=[10, 30],
                            difficulties=[800.0, 1200.0], question_attempts=[0, 20], score=0.7)
    assert update.expected_per_skill.tolist() == pytest.approx([0.9302417126410938, 0.35993500019711494])
    assert update.expected_correct == pytest.approx(0.33482655102283665, abs=1e-14)
    np.testing.assert_allclose(update.learner_ratings, [1250 + 32 * 0.03829658930127622,
                                                        1100 + 16 * 0.3513891660994597], rtol=1e-13)
    np.testing.assert_allclose(update.difficulty_deltas, [-48 * 0.03829658930127622,
                                                          -24 * 0.3513891660994597], rtol=1e-12)
    # The weak skill takes the larger share of the (partial) success.
    assert update.learner_ratings[1] - 1100 > update.learner_ratings[0] - 1250 > 0


def test_wrong_answer_is_blamed_on_the_weaker_skill() -> None:
    update = update_ratings(learner_ratings=[1500.0, 1100.0], learner_attempts=[5, 5],
                            difficulties=[1200.0, 1200.0], question_attempts=[5, 5], score=0.0)
    drops = 1500.0 - update.learner_ratings[0], 1100.0 - update.learner_ratings[1]
    assert 0 < drops[0] < drops[1]


def test_extreme_ratings_stay_finite_and_bounded_by_k() -> None:
    update = update_ratings(learner_ratings=[9000.0, 9000.0], learner_attempts=[0, 0],
                            difficulties=[0.0, 0.0], question_attempts=[0, 0], score=0.0)
    assert np.isfinite(update.learner_ratings).all()
    assert np.all(np.abs(update.learner_ratings - 9000.0) <= 64.0 + 1e-9)


@pytest.mark.parametrize(
    ("raw", "seconds", "confidence", "expected"),
    [
        (1.0, 30.0, 5, 1.0),  # time 300/max(30,60) = 5 → 1.2 ; ×1.1 → 1.32 → clamp 1
        (1.0, 600.0, 3, 0.8),  # 300/600 = 0.5 → 0.8
        (1.0, 600.0, 4, 0.88),  # 0.8 · 1.1
        (0.0, 30.0, 5, 0.0),  # wrong stays 0
        (0.5, 300.0, 5, 0.45),  # time 1.0 ; confident but ≤ 0.7 → 0.9
        (0.6, None, None, 0.6),  # no time, no confidence → raw
    ],
)
def test_performance_score_seed_formula(raw: float, seconds: float | None, confidence: int | None,
                                        expected: float) -> None:
    score = performance_score(raw_score=raw, time_spent_seconds=seconds, confidence=confidence)
    assert score == pytest.approx(expected, abs=1e-12)


def test_performance_score_uses_question_expected_time() -> None:
    # 60 s expected, 120 s spent: 60 / max(120, 60) = 0.5 → clamp 0.8
    assert performance_score(raw_score=1.0, time_spent_seconds=120.0, confidence=None,
                             expected_time_seconds=60.0) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        performance_score(raw_score=1.0, time_spent_seconds=None, confidence=6)


def test_logit_scale_matches_elo_scale() -> None:
    # 1200 + 400/ln 10 = 1373.7177927613006 ; E(θ, b) on the Elo scale = σ(θ − b)
    assert float(rating_from_logit(theta=1.0)) == pytest.approx(1373.7177927613006, abs=1e-9)
    e = expected_correct(learner_ratings=rating_from_logit(theta=[0.7]),
                         difficulties=rating_from_logit(theta=[-0.3]))
    assert e == pytest.approx(1.0 / (1.0 + np.exp(-1.0)), abs=1e-12)


rating = st.floats(min_value=0.0, max_value=3000.0)


@settings(max_examples=200, deadline=None)
@given(k=st.integers(1, 4), data=st.data(), score=st.floats(0.0, 1.0))
def test_update_invariants(k: int, data: st.DataObject, score: float) -> None:
    ratings = np.array(data.draw(st.lists(rating, min_size=k, max_size=k)))
    difficulties = np.array(data.draw(st.lists(rating, min_size=k, max_size=k)))
    attempts = np.array(data.draw(st.lists(st.integers(0, 500), min_size=k, max_size=k)))
    before = (ratings.copy(), difficulties.copy(), attempts.copy())
    update = update_ratings(learner_ratings=ratings, learner_attempts=attempts, difficulties=difficulties,
                            question_attempts=attempts, score=score)
    np.testing.assert_array_equal(ratings, before[0])
    np.testing.assert_array_equal(difficulties, before[1])
    np.testing.assert_array_equal(attempts, before[2])
    assert 0.0 <= update.expected_correct <= 1.0
    delta = update.learner_ratings - ratings
    # Every skill moves in the direction of (score − P), by at most its K; difficulties move opposite.
    direction = np.sign(score - update.expected_correct)
    assert np.all(np.sign(delta) * direction >= 0)
    assert np.all(np.abs(delta) <= update.learner_k + 1e-9)
    assert np.all(np.sign(update.difficulty_deltas) * direction <= 0)
    assert np.all(update.next_learner_k <= update.learner_k)


def test_elo_recovers_ability_ranks_in_simulation() -> None:
    # 150 learners with fixed abilities over 2 skills answer 80 questions each from a bank of 150 one- and
    # two-skill questions whose difficulties Elo must learn too (all start at 1200).
    # Claim: Spearman(rating, true θ) ≥ 0.80 for each skill.
    rng = np.random.default_rng(3)
    n_learners, n_skills, per_learner = 150, 2, 80
    cohort = SimulatedCohort.random(n_learners=n_learners, n_skills=n_skills, rng=rng,
                                    dynamics=LearnerDynamics(learn_rate=0.0))
    bank = make_question_bank(n_questions=150, n_skills=n_skills, rng=rng)
    config = EloConfig()
    ratings = np.full((n_learners, n_skills), config.initial_rating)
    attempts = np.zeros((n_learners, n_skills), dtype=np.int64)
    difficulty = {q.question_id: np.full(len(q.skills), config.initial_rating) for q in bank}
    seen = {q.question_id: np.zeros(len(q.skills), dtype=np.int64) for q in bank}
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    for step in range(per_learner):
        now = start + timedelta(minutes=step)
        for learner in rng.permutation(n_learners):
            question = bank[int(rng.integers(len(bank)))]
            answer = cohort.answer(learner=int(learner), question=question, now=now, rng=rng)
            skills = list(question.skills)
            score = performance_score(
                raw_score=float(answer.is_correct), time_spent_seconds=answer.time_spent_seconds,
                confidence=answer.confidence, expected_time_seconds=question.expected_time_seconds,
            )
            update = update_ratings(
                learner_ratings=ratings[learner, skills], learner_attempts=attempts[learner, skills],
                difficulties=difficulty[question.question_id], question_attempts=seen[question.question_id],
                score=score, config=config,
            )
            ratings[learner, skills] = update.learner_ratings
            attempts[learner, skills] = update.learner_attempts
            difficulty[question.question_id] = difficulty[question.question_id] + update.difficulty_deltas
            seen[question.question_id] = seen[question.question_id] + 1
    truth = cohort.abilities(now=start)
    for skill in range(n_skills):
        assert spearman_correlation(x=ratings[:, skill], y=truth[:, skill]) >= 0.80


def test_probability_not_mastered_pinned_and_sharpening_with_evidence() -> None:
    bar = 1200.0 + 400.0 / np.log(10.0)  # the rating of ability 1 logit over an average question
    at_bar, below, above = probability_not_mastered(ratings=[bar, 1200.0, bar + 200.0], answers=[0, 0, 0])
    assert at_bar == pytest.approx(0.5, abs=1e-12)
    assert below == pytest.approx(1.0 / (1.0 + np.exp(-1.702)), abs=1e-12)  # one prior sd below: Φ(1) ≈ σ(1.702)
    assert above < 0.5 < below
    # The same rating above the bar is surer with more answers behind it
    few, many = probability_not_mastered(ratings=[bar + 100.0] * 2, answers=[0, 50])
    assert many < few < 0.5
