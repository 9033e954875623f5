"""Readiness: pinned score predictions, pass probabilities and projections."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.irt import ItemParams
from smartpractice.learner.readiness import (
    BlueprintLink,
    LinearLink,
    ScoreScale,
    days_to_target,
    pass_probability,
    predict_exam_score,
    predict_score_from_mastery,
    readiness_percent,
    theta_for_score,
)

SAT = ScoreScale(minimum=200.0, maximum=800.0, step=10.0)
Z90 = 1.6448536269514722  # two-sided 90 % normal quantile


def test_linear_link_prediction_pinned() -> None:
    prediction = predict_exam_score(theta=1.0, theta_se=0.3, link=LinearLink(), interval_level=0.90)
    # 500 + 100·1.0 = 600.  Interval θ ± 1.6449·0.3 = [0.50654, 1.49346] → [550.65, 649.35],
    # rounded outward to the 10-point grid → [550, 650].
    assert (prediction.score, prediction.lower, prediction.upper) == (600.0, 550.0, 650.0)
    assert prediction.interval_level == 0.90


def test_blueprint_link_prediction_pinned() -> None:
    blueprint = ItemParams.from_values(discrimination=[1.0, 2.0], difficulty=[0.0, 0.0], guessing=[0.0, 0.0])
    link = BlueprintLink(blueprint=blueprint, scale=SAT)
    # At θ = b = 0 every item is 50 % → proportion 0.5 → 200 + 600·0.5 = 500; SE 0 → no width.
    prediction = predict_exam_score(theta=0.0, theta_se=0.0, link=link)
    assert (prediction.score, prediction.lower, prediction.upper) == (500.0, 500.0, 500.0)
    # θ = 1: (σ(1) + σ(2)) / 2 = (0.7310586 + 0.8807971) / 2 = 0.8059278 → 683.56 → 680.
    assert predict_exam_score(theta=1.0, theta_se=0.0, link=link).score == 680.0


def test_theta_for_score_inverts_the_characteristic_curve() -> None:
    blueprint = ItemParams.from_values(discrimination=[1.0], difficulty=[0.0], guessing=[0.0])
    link = BlueprintLink(blueprint=blueprint, scale=SAT)
    # 650 = 200 + 600·σ(θ) → σ(θ) = 0.75 → θ = ln 3 = 1.0986123
    assert theta_for_score(score=650.0, link=link) == pytest.approx(math.log(3.0), abs=1e-9)
    assert theta_for_score(score=900.0, link=link) is None


def test_pass_probability_pinned() -> None:
    # Cut 550 on 500 + 100θ is θ_cut = 0.5; Φ((1.0 − 0.5) / 0.5) = Φ(1) = 0.8413447461.
    assert pass_probability(theta=1.0, theta_se=0.5, cut_score=550.0, link=LinearLink()) == pytest.approx(
        0.8413447461, abs=1e-9
    )
    # Unreachable cuts and a zero SE are certain either way.
    assert pass_probability(theta=0.0, theta_se=0.5, cut_score=900.0, link=LinearLink()) == 0.0
    assert pass_probability(theta=0.0, theta_se=0.5, cut_score=100.0, link=LinearLink()) == 1.0
    assert pass_probability(theta=0.6, theta_se=0.0, cut_score=550.0, link=LinearLink()) == 1.0


def test_readiness_percent_and_days_to_target_pinned() -> None:
    # (560 − 200) / (650 − 200) = 360 / 450 = 80 %
    assert readiness_percent(predicted_score=560.0, target_score=650.0, scale=SAT) == pytest.approx(80.0)
    assert readiness_percent(predicted_score=700.0, target_score=650.0, scale=SAT) == 100.0
    # (0.8 − 0.5) / 0.02 = 15 days (15.000000000000002 in floats must not become 16)
    assert days_to_target(current=0.5, target=0.8, velocity_per_day=0.02) == 15
    assert days_to_target(current=0.5, target=0.8, velocity_per_day=0.07) == 5  # 4.29 → 5
    assert days_to_target(current=0.9, target=0.8, velocity_per_day=-1.0) == 0
    assert days_to_target(current=0.5, target=0.8, velocity_per_day=0.0) is None


def test_mastery_weighted_prediction_pinned() -> None:
    prediction = predict_score_from_mastery(
        mastery=[0.8, 0.4], exam_weight=[3.0, 1.0], scale=SAT, exam_items=50
    )
    # p = (3·0.8 + 1·0.4) / 4 = 0.7 → 200 + 600·0.7 = 620.
    # half-width 1.6449·sqrt(0.7·0.3/50) = 0.106599 → [0.593401, 0.806599] → [556.04, 683.96] → [550, 690].
    assert (prediction.score, prediction.lower, prediction.upper) == (620.0, 550.0, 690.0)
    with_guessing = predict_score_from_mastery(
        mastery=[0.8, 0.4], exam_weight=[3.0, 1.0], scale=SAT, guess=0.25, slip=0.1
    )
    # skill 1: 0.8·0.9 + 0.2·0.25 = 0.77; skill 2: 0.4·0.9 + 0.6·0.25 = 0.51;
    # p = (3·0.77 + 0.51) / 4 = 0.705 → 623 → 620.
    assert with_guessing.score == 620.0


def test_rejects_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        predict_score_from_mastery(mastery=[1.2], exam_weight=[1.0], scale=SAT)
    with pytest.raises(ValueError):
        predict_exam_score(theta=0.0, theta_se=-1.0, link=LinearLink())
    with pytest.raises(ValueError):
        LinearLink(slope=0.0)


@settings(max_examples=60, deadline=None)
@given(
    theta=st.floats(min_value=-4.0, max_value=4.0),
    se=st.floats(min_value=0.0, max_value=2.0),
    cut=st.floats(min_value=200.0, max_value=800.0),
)
def test_prediction_interval_and_probability_invariants(theta: float, se: float, cut: float) -> None:
    blueprint = ItemParams.from_values(
        discrimination=[0.8, 1.2, 1.6], difficulty=[-1.0, 0.0, 1.0], guessing=[0.0, 0.2, 0.25]
    )
    for link in (LinearLink(), BlueprintLink(blueprint=blueprint)):
        prediction = predict_exam_score(theta=theta, theta_se=se, link=link)
        assert 200.0 <= prediction.lower <= prediction.score <= prediction.upper <= 800.0
        probability = pass_probability(theta=theta, theta_se=se, cut_score=cut, link=link)
        assert 0.0 <= probability <= 1.0


def test_mastery_prediction_does_not_mutate_inputs() -> None:
    mastery = np.array([0.2, 0.9])
    weights = np.array([1.0, 2.0])
    predict_score_from_mastery(mastery=mastery, exam_weight=weights, scale=SAT)
    assert mastery.tolist() == [0.2, 0.9] and weights.tolist() == [1.0, 2.0]
