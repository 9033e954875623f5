"""The production P(correct) predictor: exact online steps, bounds, and recovery of known parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from smartpractice.learner import predictor
from smartpractice.learner.predictor_fit import calibrate_rasch, cold_start_difficulties, fit_seed_map, fit_weights

LEARNER = predictor.LearnerGlobal(theta=0.5, answers=4, correct=3)
SKILLS = (predictor.SkillDeviation(deviation=0.2, answers=2, correct=1), predictor.SkillDeviation())
ITEM = predictor.ItemDifficulty(difficulty=-0.3, answers=10)


def test_guessing_floor_is_one_over_the_options() -> None:
    assert predictor.guessing_floor(4) == 0.25
    assert predictor.guessing_floor(None) == 0.0
    assert predictor.guessing_floor(1) == 0.0


def test_default_weights_predict_the_plain_logistic_of_z() -> None:
    prediction = predictor.predict(learner=LEARNER, skills=SKILLS, item=ITEM, weights=predictor.Weights())
    z = 0.5 + (0.2 + 0.0) / 2 + 0.3
    assert prediction.z == pytest.approx(z, abs=1e-12)
    assert prediction.p_correct == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-12)
    assert prediction.features[2:] == pytest.approx(
        (math.log(2) / 2, math.log(2) / 2, math.log(4), math.log(2), math.log(2), 1.0), abs=1e-12)


def test_the_floor_lifts_every_prediction() -> None:
    weights = predictor.Weights((-20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
    p = predictor.predict(learner=LEARNER, skills=SKILLS, item=ITEM, weights=weights, floor=0.25).p_correct
    assert p == pytest.approx(0.25, abs=1e-8)


def test_one_answer_moves_ability_deviations_and_difficulty_by_their_k() -> None:
    config = predictor.PredictorConfig()
    step = predictor.update(learner=LEARNER, skills=SKILLS, item=ITEM, is_correct=False, weights=predictor.Weights())
    residual = 0.0 - 1 / (1 + math.exp(-step.prediction.z))
    assert step.learner.theta == pytest.approx(0.5 + config.ability.k(4) * residual, abs=1e-12)
    assert (step.learner.answers, step.learner.correct) == (5, 3)
    assert step.skills[0].deviation == pytest.approx(0.2 + config.deviation.k(2) * residual, abs=1e-12)
    assert step.skills[1].deviation == pytest.approx(config.deviation.k(0) * residual, abs=1e-12)
    # The question's difficulty rises after a miss, by at most max_item_step (one learner's bounded influence).
    assert step.item_delta == pytest.approx(min(config.max_item_step, -config.item.k(10) * residual), abs=1e-12)


def test_a_new_question_moves_at_most_the_bounded_step() -> None:
    fresh = predictor.ItemDifficulty(difficulty=0.0, answers=0)
    step = predictor.update(learner=LEARNER, skills=SKILLS, item=fresh, is_correct=False, weights=predictor.Weights())
    assert step.item_delta == pytest.approx(predictor.PredictorConfig().max_item_step)


def test_grid_prediction_equals_the_scalar_one() -> None:
    weights = predictor.Weights((0.3, 0.9, 0.1, -0.2, 0.05, -0.05, -0.4, -0.45))
    third = predictor.SkillDeviation(deviation=-0.5, answers=3, correct=0)
    scalar = [predictor.predict(learner=LEARNER, skills=k, item=ITEM, weights=weights, floor=0.2).p_correct
              for k in (SKILLS[:1], SKILLS, (*SKILLS, third), (SKILLS[0], third))]
    # the last row's padding (present False) carries 0 answers: it is no skill, so not a new one
    grid = predictor.predict_grid(
        theta=0.5, learner_answers=4, learner_correct=3, deviations=np.array([[0.2, 9.0, 9.0], [0.2, 0.0, 9.0],
                                                                             [0.2, 0.0, -0.5], [0.2, -0.5, 0.0]]),
        skill_answers=np.array([[2.0, 9.0, 9.0], [2.0, 0.0, 9.0], [2.0, 0.0, 3.0], [2.0, 3.0, 0.0]]),
        skill_correct=np.array([[1.0, 9.0, 9.0], [1.0, 0.0, 9.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        present=np.array([[True, False, False], [True, True, False], [True, True, True], [True, True, False]]),
        difficulties=np.full(4, -0.3), floors=np.full(4, 0.2), weights=weights)
    assert grid.tolist() == pytest.approx(scalar, abs=1e-12)


def test_the_skill_count_feature_is_log_m_and_nothing_for_one_skill() -> None:
    # the 7th feature, log m over the question's m skills: 0 for one skill (a one-skill question's P is what it was
    # with 6 weights), log 2 and log 3 else; with only its weight (−0.5) and the bias, P = σ(−0.5 log m)
    only = predictor.Weights((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, 0.0))
    third = predictor.SkillDeviation()
    p = [predictor.predict(learner=LEARNER, skills=k, item=ITEM, weights=only).p_correct
         for k in (SKILLS[:1], SKILLS, (*SKILLS, third))]
    assert p == pytest.approx([0.5, 1 / (1 + 2 ** 0.5), 1 / (1 + 3 ** 0.5)], abs=1e-12)
    assert predictor.features(learner=LEARNER, skills=SKILLS[:1], item=ITEM)[6] == 0.0
    # the per-skill logits selection reads (a question of one skill) ignore it
    logits = predictor.skill_logits(learner=LEARNER, skills=SKILLS, difficulties=np.zeros(2), weights=only)
    assert logits.tolist() == [0.0, 0.0]



def test_the_new_skill_feature_is_one_if_a_skill_has_no_answers_in_the_state() -> None:
    # the 8th feature: 1 if at least one of the question's skills has 0 answers in the learner's state (SKILLS[1]
    # is the prior), else 0, whatever the other skills' counts; the learner's global counts do not enter it
    practised = predictor.SkillDeviation(deviation=-0.5, answers=3, correct=0)
    new = [predictor.features(learner=LEARNER, skills=k, item=ITEM)[7]
           for k in (SKILLS[:1], SKILLS[1:], SKILLS, (SKILLS[0], practised))]
    assert new == [0.0, 1.0, 1.0, 0.0]
    # a pinned prediction: w · x with the 8 weights on SKILLS (one skill new), x by hand
    weights = predictor.Weights((0.3, 0.9, 0.1, -0.2, 0.05, -0.05, -0.4, -0.45))
    x = (1.0, 0.5 + 0.1 + 0.3, math.log(2) / 2, math.log(2) / 2, math.log(4), math.log(2), math.log(2), 1.0)
    logit = sum(w * v for w, v in zip(weights.values, x, strict=True))
    assert logit == pytest.approx(0.382741, abs=1e-6)
    p = predictor.predict(learner=LEARNER, skills=SKILLS, item=ITEM, weights=weights, floor=0.25).p_correct
    assert p == pytest.approx(0.25 + 0.75 / (1.0 + math.exp(-logit)), abs=1e-12)
    assert p == pytest.approx(0.695901, abs=1e-6)
    # its weight alone: P = σ(−0.45) with a new skill, 0.5 without
    only = predictor.Weights((0.0,) * 7 + (-0.45,))
    assert predictor.predict(learner=LEARNER, skills=SKILLS, item=ITEM, weights=only).p_correct == pytest.approx(
        1.0 / (1.0 + math.exp(0.45)), abs=1e-12)
    assert predictor.predict(learner=LEARNER, skills=SKILLS[:1], item=ITEM, weights=only).p_correct == 0.5
    # the per-skill logits selection reads (a question of that skill alone): the weight on a skill without answers
    logits = predictor.skill_logits(learner=LEARNER, skills=SKILLS, difficulties=np.zeros(2), weights=only)
    assert logits.tolist() == [0.0, -0.45]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one skill"):
        predictor.predict(learner=LEARNER, skills=(), item=ITEM, weights=predictor.Weights())
    with pytest.raises(ValueError, match="floor"):
        predictor.predict(learner=LEARNER, skills=SKILLS, item=ITEM, weights=predictor.Weights(), floor=1.0)
    with pytest.raises(ValueError, match="8 finite"):
        predictor.Weights((1.0, 2.0))
    with pytest.raises(ValueError, match="k_min"):
        predictor.StepSchedule(k_max=0.1, k_min=0.2, decay=0.0)


def test_rasch_calibration_recovers_known_difficulties() -> None:
    rng = np.random.default_rng(7)
    n_learners, n_items = 1500, 30
    theta = rng.normal(0.0, 1.0, n_learners)
    b = rng.normal(0.0, 1.0, n_items)
    learner = np.repeat(np.arange(n_learners), 20)
    item = rng.integers(0, n_items, learner.size)
    y = (rng.random(learner.size) < 1 / (1 + np.exp(-(theta[learner] - b[item])))).astype(np.int8)
    fit = calibrate_rasch(learner=learner, item=item, correct=y, n_learners=n_learners, n_items=n_items)
    # JML with 20 answers per learner stretches the scale slightly: RMS error under 0.12 logits after centring.
    error = (fit.difficulty - fit.difficulty.mean()) - (b - b.mean())
    assert float(np.abs(error).max()) < 0.25
    assert float(np.sqrt(np.mean(error**2))) < 0.12


def test_weight_fit_recovers_known_weights_with_a_floor() -> None:
    rng = np.random.default_rng(11)
    n = 40_000
    x = np.column_stack([np.ones(n), rng.normal(0, 1.2, n), rng.exponential(1.0, n), rng.exponential(1.0, n),
                         rng.exponential(2.0, n), rng.exponential(1.5, n), np.log(rng.integers(1, 4, n)),
                         (rng.random(n) < 0.2).astype(np.float64)])
    true = np.array([0.4, 1.3, 0.3, -0.4, 0.1, -0.15, -0.35, -0.5])
    p = 0.25 + 0.75 / (1 + np.exp(-(x @ true)))
    y = (rng.random(n) < p).astype(np.int8)
    fitted = fit_weights(features=x, correct=y, floor=0.25, ridge=1e-6).as_array()
    assert np.abs(fitted - true).max() < 0.12


def test_fits_refuse_misaligned_input() -> None:
    with pytest.raises(ValueError, match="aligned"):
        fit_weights(features=np.zeros((3, 2)), correct=[0, 1, 1])
    with pytest.raises(ValueError, match="out of range"):
        calibrate_rasch(learner=np.array([0, 5]), item=np.array([0, 0]), correct=[0, 1], n_learners=2, n_items=1)


def test_the_cold_start_maps_seeds_through_the_calibrated_line_and_shrunk_skill_shifts() -> None:
    # Calibrated q0..q3: b = −0.3 + 0.5 · seed + skill effect (+0.4 on skill 0, −0.4 on skill 1) ± 0.4 noise,
    # balanced so that least squares gives exactly offset −0.3, scale 0.5. Residuals per skill: 0.8, 0 | −0.8, 0;
    # skill means ±0.4; pooled within variance 4 · 0.16 / (4 − 2) = 0.32; τ² = var(±0.4, ddof 1) − 0.32 / 2
    # = 0.16; each shift is shrunk by 2 · 0.16 / (2 · 0.16 + 0.32) = 0.5 → ±0.2.
    skills = [(0,), (0,), (1,), (1,), (0,), (2,), (0, 1)]
    seed = np.array([-1.0, 1.0, -1.0, 1.0, 2.0, 0.0, 1.0])
    b = np.array([0.0, 0.2, -1.6, 0.2, 9.0, 9.0, 9.0])
    calibrated = np.array([True, True, True, True, False, False, False])
    mapping = fit_seed_map(skills=skills, difficulty=b, calibrated=calibrated, seed=seed)
    assert (mapping.offset, mapping.scale) == pytest.approx((-0.3, 0.5), abs=1e-12)
    assert mapping.skill_shift == pytest.approx({0: 0.2, 1: -0.2}, abs=1e-12)
    cold = cold_start_difficulties(skills=skills, difficulty=b, calibrated=calibrated, seed=seed)
    # q4 (skill 0, seed 2): −0.3 + 1 + 0.2; q5 (skill 2, nothing calibrated on it): the line alone; q6 (both
    # skills, seed 1): 0.2 + the mean of +0.2 and −0.2. The old rule (seed + raw skill shift) gave q4 2.1.
    assert cold.tolist() == pytest.approx([0.0, 0.2, -1.6, 0.2, 0.9, -0.3, 0.2], abs=1e-12)


def test_the_cold_start_without_calibrated_questions_or_seed_spread() -> None:
    skills = [(0,), (0,), (1,)]
    nothing = np.zeros(3, dtype=bool)
    seed = np.array([0.4, -0.2, 1.0])
    assert cold_start_difficulties(skills=skills, difficulty=np.zeros(3), calibrated=nothing,
                                   seed=seed).tolist() == pytest.approx(seed.tolist(), abs=1e-12)
    # every calibrated seed equal: scale 1, offset the mean b − seed (0.3); one skill calibrated: no τ², no shift
    flat = fit_seed_map(skills=skills, difficulty=np.array([0.5, 0.1, 0.0]), calibrated=np.array([True, True, False]),
                        seed=np.array([0.0, 0.0, 1.0]))
    assert (flat.offset, flat.scale) == pytest.approx((0.3, 1.0), abs=1e-12) and flat.skill_shift == {0: 0.0}
    # seeds that run against the calibration: scale 0 (the mean b), never negative
    against = fit_seed_map(skills=[(0,)] * 3, difficulty=np.array([1.0, 0.0, -1.0]),
                           calibrated=np.ones(3, dtype=bool), seed=np.array([-1.0, 0.0, 1.0]))
    assert (against.offset, against.scale) == pytest.approx((0.0, 0.0), abs=1e-12)
