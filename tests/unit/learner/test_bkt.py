"""BKT per skill: pinned hand computations, validation, the conjunctive multi-skill update, invariants."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.errors import FieldError
from smartpractice.learner.bkt import (
    BKTParamArrays,
    BKTParams,
    ParamsValidationError,
    apply_transition,
    forget_over_time,
    posterior_known,
    posterior_known_conjunctive,
    predict_correct,
    predict_correct_array,
    predict_correct_conjunctive,
    update_known,
    update_known_array,
    update_known_conjunctive,
    update_known_conjunctive_floats,
)

A = BKTParams(p_init=0.3, p_learn=0.1, p_guess=0.2, p_slip=0.1, p_forget=0.05)


def test_predict_correct_pinned() -> None:
    # 0.3·(1 − 0.1) + 0.7·0.2 = 0.27 + 0.14 = 0.41
    assert predict_correct(p_known=0.3, params=A) == pytest.approx(0.41, abs=1e-15)


def test_update_after_correct_pinned() -> None:
    # posterior = 0.27 / 0.41 = 0.6585365853658537
    # transition = 0.6585365853658537·0.95 + 0.3414634146341463·0.1 = 0.625609756097561 + 0.034146341463415
    #            = 0.6597560975609756
    posterior = posterior_known(p_known=0.3, is_correct=True, params=A)
    assert posterior == pytest.approx(0.6585365853658537, abs=1e-15)
    updated = update_known(p_known=0.3, is_correct=True, params=A)
    assert updated == pytest.approx(0.6597560975609756, abs=1e-15)


def test_update_after_incorrect_pinned() -> None:
    # posterior = 0.3·0.1 / (0.03 + 0.7·0.8) = 0.03 / 0.59 = 0.05084745762711865
    # transition = 0.05084745762711865·0.95 + 0.9491525423728814·0.1 = 0.0483050847 + 0.0949152542
    #            = 0.1432203390
    posterior = posterior_known(p_known=0.3, is_correct=False, params=A)
    assert posterior == pytest.approx(0.05084745762711865, abs=1e-15)
    updated = update_known(p_known=0.3, is_correct=False, params=A)
    assert updated == pytest.approx(0.14322033898305084, abs=1e-15)


def test_transition_pinned() -> None:
    # 0.8·(1 − 0.05) + 0.2·0.1 = 0.76 + 0.02 = 0.78
    assert apply_transition(p_known=0.8, params=A) == pytest.approx(0.78, abs=1e-15)


def test_validation_reports_every_error_at_once() -> None:
    with pytest.raises(ParamsValidationError) as caught:
        BKTParams(p_init=1.5, p_learn=-0.1, p_guess=0.6, p_slip=0.5, p_forget=math.nan)
    fields = [e.field for e in caught.value.errors]
    assert fields == ["p_init", "p_learn", "p_forget", "p_guess+p_slip"]
    assert isinstance(caught.value, ValueError)


def test_from_mapping_reports_missing_unknown_and_invalid_together() -> None:
    with pytest.raises(ParamsValidationError) as caught:
        BKTParams.from_mapping({"p_init": 0.3, "p_learn": "fast", "bogus": 1.0})
    assert caught.value.errors == [
        FieldError("p_guess", "is required"),
        FieldError("p_slip", "is required"),
        FieldError("bogus", "is not a BKT parameter"),
        FieldError("p_learn", "must be a number, got str"),
    ]


def test_from_mapping_builds_params_and_defaults_forget() -> None:
    params = BKTParams.from_mapping({"p_init": 0.3, "p_learn": 0.1, "p_guess": 0.2, "p_slip": 0.1})
    assert params == BKTParams(p_init=0.3, p_learn=0.1, p_guess=0.2, p_slip=0.1, p_forget=0.0)


def test_out_of_range_p_known_rejected() -> None:
    with pytest.raises(ValueError):
        update_known(p_known=1.2, is_correct=True, params=A)


def test_conjunctive_two_skills_pinned() -> None:
    # skill 1 p=0.8, skill 2 p=0.3; guess 0.2, slip 0.1, no learning/forgetting (posterior only).
    # c1 = 0.8·0.9 + 0.2·0.2 = 0.76 ; c2 = 0.3·0.9 + 0.7·0.2 = 0.41 ; C = 0.3116
    # correct:  p1' = 0.72/0.76 = 0.9473684211 ; p2' = 0.27/0.41 = 0.6585365854
    # wrong:    p1' = 0.8·(1 − 0.9·0.41)/0.6884 = 0.5048/0.6884 = 0.7332946...
    #           p2' = 0.3·(1 − 0.9·0.76)/0.6884 = 0.0948/0.6884 = 0.1377106...
    still = BKTParams(p_init=0.5, p_learn=0.0, p_guess=0.2, p_slip=0.1, p_forget=0.0)
    params = BKTParamArrays.stack([still, still])
    p = np.array([0.8, 0.3])
    assert float(predict_correct_conjunctive(p_known=p, params=params)) == pytest.approx(0.3116, abs=1e-15)
    right = posterior_known_conjunctive(p_known=p, is_correct=True, params=params)
    wrong = posterior_known_conjunctive(p_known=p, is_correct=False, params=params)
    np.testing.assert_allclose(right, [0.72 / 0.76, 0.27 / 0.41], rtol=1e-14)
    np.testing.assert_allclose(wrong, [0.5048 / 0.6884, 0.0948 / 0.6884], rtol=1e-14)
    # Credit assignment: the wrong answer is blamed mostly on the weak skill; updating each skill "as if
    # alone" would have dropped skill 1 to 0.08/0.24 = 0.333.
    assert wrong[0] > 0.73 and wrong[1] < 0.14


def test_conjunctive_with_one_skill_is_standard_bkt() -> None:
    params = BKTParamArrays.stack([A])
    for correct in (True, False):
        expected = update_known(p_known=0.3, is_correct=correct, params=A)
        got = update_known_conjunctive(p_known=np.array([0.3]), is_correct=correct, params=params)
        assert float(got[0]) == pytest.approx(expected, abs=1e-15)


def test_conjunctive_vectorised_over_learners() -> None:
    params = BKTParamArrays.stack([A, A])
    p = np.array([[0.8, 0.3], [0.3, 0.8]])
    out = posterior_known_conjunctive(p_known=p, is_correct=np.array([False, False]), params=params)
    np.testing.assert_allclose(out[0], out[1][::-1], rtol=1e-14)  # same learner, skills swapped


def _brute_force_marginals(p: list[float], g: list[float], s: list[float], correct: bool) -> list[float]:
    """Enumerate all joint knowledge states of the noisy-AND model."""
    joint_obs = 0.0
    known_and_obs = [0.0] * len(p)
    for states in itertools.product([False, True], repeat=len(p)):
        prior = math.prod(pk if known else 1 - pk for pk, known in zip(p, states, strict=True))
        p_right = math.prod(1 - sk if known else gk for gk, sk, known in zip(g, s, states, strict=True))
        weight = prior * (p_right if correct else 1 - p_right)
        joint_obs += weight
        for k, known in enumerate(states):
            known_and_obs[k] += weight if known else 0.0
    return [value / joint_obs for value in known_and_obs]


probability = st.floats(min_value=0.0, max_value=1.0)
guess_or_slip = st.floats(min_value=0.01, max_value=0.45)


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(min_value=1, max_value=3),
    data=st.data(),
    correct=st.booleans(),
)
def test_conjunctive_equals_brute_force_enumeration(k: int, data: st.DataObject, correct: bool) -> None:
    p = data.draw(st.lists(st.floats(min_value=0.01, max_value=0.99), min_size=k, max_size=k))
    g = data.draw(st.lists(guess_or_slip, min_size=k, max_size=k))
    s = data.draw(st.lists(guess_or_slip, min_size=k, max_size=k))
    params = BKTParamArrays.stack(
        [BKTParams(p_init=0.5, p_learn=0.0, p_guess=gk, p_slip=sk) for gk, sk in zip(g, s, strict=True)]
    )
    got = posterior_known_conjunctive(p_known=np.array(p), is_correct=correct, params=params)
    np.testing.assert_allclose(got, _brute_force_marginals(p, g, s, correct), rtol=1e-9, atol=1e-12)


params_strategy = st.builds(
    BKTParams,
    p_init=probability,
    p_learn=probability,
    p_guess=st.floats(min_value=0.0, max_value=0.49),
    p_slip=st.floats(min_value=0.0, max_value=0.49),
    p_forget=probability,
)


@settings(max_examples=200, deadline=None)
@given(params=params_strategy, p=st.lists(probability, min_size=1, max_size=6), data=st.data())
def test_array_updates_stay_probabilities_and_do_not_mutate(
    params: BKTParams, p: list[float], data: st.DataObject
) -> None:
    correct = np.array(data.draw(st.lists(st.booleans(), min_size=len(p), max_size=len(p))))
    p_known = np.array(p)
    before = p_known.copy()
    arrays = BKTParamArrays.stack([params] * len(p))
    for out in (
        update_known_array(p_known=p_known, is_correct=correct, params=arrays),
        predict_correct_array(p_known=p_known, params=arrays),
        update_known_conjunctive(p_known=p_known, is_correct=bool(correct[0]), params=arrays),
        predict_correct_conjunctive(p_known=p_known, params=arrays),
    ):
        assert np.all((out >= 0.0) & (out <= 1.0))
    np.testing.assert_array_equal(p_known, before)
    # The vectorised path is the scalar path, element by element.
    scalar = [update_known(p_known=pk, is_correct=bool(c), params=params)
              for pk, c in zip(p, correct, strict=True)]
    np.testing.assert_allclose(update_known_array(p_known=p_known, is_correct=correct, params=arrays), scalar)


def test_param_arrays_are_read_only_copies() -> None:
    source = np.array([0.3, 0.4])
    arrays = BKTParamArrays(p_init=source, p_learn=source, p_guess=source * 0.5, p_slip=source * 0.5,
                            p_forget=source * 0)
    source[0] = 0.9
    assert arrays.p_init[0] == 0.3
    with pytest.raises(ValueError):
        arrays.p_init[0] = 0.5
    assert arrays.at(1) == BKTParams(p_init=0.4, p_learn=0.4, p_guess=0.2, p_slip=0.2, p_forget=0.0)


def test_forget_over_time_pinned_and_composes() -> None:
    # 0.8 · 0.98^10 = 0.8 · 0.8170728068875467 = 0.6536582455100374
    assert float(forget_over_time(p_known=0.8, elapsed_days=10, daily_forget=0.02)) == pytest.approx(
        0.6536582455100374, abs=1e-15
    )
    once = forget_over_time(p_known=0.8, elapsed_days=7.5, daily_forget=0.02)
    twice = forget_over_time(p_known=forget_over_time(p_known=0.8, elapsed_days=3.0, daily_forget=0.02),
                             elapsed_days=4.5, daily_forget=0.02)
    assert float(once) == pytest.approx(float(twice), abs=1e-15)
    assert float(forget_over_time(p_known=0.8, elapsed_days=-2.0, daily_forget=0.02)) == 0.8
    with pytest.raises(ValueError):
        forget_over_time(p_known=0.8, elapsed_days=1.0, daily_forget=1.0)


@pytest.mark.parametrize("seed", range(60))
def test_the_float_form_of_the_conjunctive_update_equals_the_array_form_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    edges = [0.0, 1.0, 1e-12, 1.0 - 1e-12]

    def probability() -> float:
        return float(rng.choice(edges)) if rng.random() < 0.15 else float(rng.random())

    params = []
    for _ in range(k):
        guess, slip = probability() * 0.5, probability() * 0.5
        params.append(BKTParams(p_init=probability(), p_learn=probability(), p_guess=min(guess, 0.49),
                                p_slip=min(slip, 0.49), p_forget=probability()))
    if seed % 10 == 0:  # every skill certain and never slipped: a wrong answer is impossible (zero denominator)
        params = [BKTParams(p_init=0.5, p_learn=0.1, p_guess=0.2, p_slip=0.0) for _ in range(k)]
        p_known = [1.0] * k
    else:
        p_known = [probability() for _ in range(k)]
    for is_correct in (True, False):
        expected = update_known_conjunctive(p_known=np.array(p_known), is_correct=is_correct,
                                            params=BKTParamArrays.stack(params))
        got = update_known_conjunctive_floats(p_known=p_known, is_correct=is_correct, params=params)
        assert got == expected.tolist()


def test_the_float_form_refuses_what_the_array_form_refuses() -> None:
    with pytest.raises(ValueError, match="probabilities"):
        update_known_conjunctive_floats(p_known=[1.5], is_correct=True, params=[A])
    with pytest.raises(ValueError, match="probabilities"):
        update_known_conjunctive_floats(p_known=[float("nan")], is_correct=True, params=[A])
    with pytest.raises(ValueError, match="one entry per skill"):
        update_known_conjunctive_floats(p_known=[], is_correct=True, params=[])
