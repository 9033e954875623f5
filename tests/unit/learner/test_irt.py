"""IRT: pinned hand-computed values, parameter recovery at stated sizes, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.irt import (
    ItemParams,
    QuadratureGrid,
    calibrate_items,
    estimate_ability_eap,
    guessing_for_options,
    item_information,
    normal_grid,
    probability_correct,
)
from smartpractice_dev.simulation import missing_at_random, simulate_irt_responses


def _simulate(
    *, n_learners: int, a: np.ndarray, b: np.ndarray, c: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """θ ~ N(0, 1) and 0/1 responses from the shared generator in smartpractice_dev/simulation.py."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n_learners)
    responses = simulate_irt_responses(theta=theta, a=a, b=b, c=np.full(a.size, c), rng=rng)
    return theta, responses.astype(np.float64)


def _true_items(n_items: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.6, 2.2, n_items), rng.normal(0.0, 1.0, n_items)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


# ---------------------------------------------------------------- pinned values


def test_probability_pinned() -> None:
    items = ItemParams.from_values(discrimination=[1.5, 1.0], difficulty=[0.5, 0.0], guessing=[0.0, 0.25])
    p = probability_correct(items=items, theta=[1.5, 0.0])
    # item 0 at θ = 1.5: σ(1.5 · (1.5 − 0.5)) = σ(1.5) = 1 / (1 + e^−1.5) = 0.8175744762
    assert p[0, 0] == pytest.approx(0.8175744762, abs=1e-10)
    # item 1 at θ = b = 0 with c = 0.25: 0.25 + 0.75 · 0.5 = 0.625
    assert p[1, 1] == pytest.approx(0.625, abs=1e-12)


def test_item_information_pinned() -> None:
    items = ItemParams.from_values(discrimination=[2.0, 2.0], difficulty=[0.0, 0.0], guessing=[0.0, 0.25])
    info = item_information(items=items, theta=[0.0])
    # 2PL at θ = b: a² · P(1 − P) = 4 · 0.25 = 1.0
    assert info[0, 0] == pytest.approx(1.0, abs=1e-12)
    # 3PL at θ = b: P = 0.625; a² · ((P − c)/(1 − c))² · (1 − P)/P = 4 · 0.5² · 0.375/0.625 = 0.6
    assert info[0, 1] == pytest.approx(0.6, abs=1e-12)


def test_eap_two_node_grid_pinned() -> None:
    grid = QuadratureGrid(nodes=np.array([-1.0, 1.0]), weights=np.array([0.5, 0.5]))
    items = ItemParams.from_values(discrimination=[1.0], difficulty=[0.0], guessing=[0.0])
    est = estimate_ability_eap(items=items, responses=[[1.0], [0.0], [np.nan]], grid=grid)
    # Correct: posterior ∝ (σ(−1), σ(1)) → mean = σ(1) − σ(−1) = tanh(½) = 0.4621171573;
    # SD = sqrt(1 − tanh²(½)) = sech(½) = 0.8868188840.  Wrong: the mirror image.
    assert est.theta[0] == pytest.approx(math.tanh(0.5), abs=1e-12)
    assert est.standard_error[0] == pytest.approx(1.0 / math.cosh(0.5), abs=1e-12)
    assert est.theta[1] == pytest.approx(-math.tanh(0.5), abs=1e-12)
    # Unanswered: the prior itself, mean 0 and SD 1.
    assert est.theta[2] == pytest.approx(0.0, abs=1e-12)
    assert est.standard_error[2] == pytest.approx(1.0, abs=1e-12)


def test_guessing_for_options_pinned() -> None:
    assert guessing_for_options(n_options=[4, 5, 0]).tolist() == [0.25, 0.2, 0.0]
    with pytest.raises(ValueError):
        guessing_for_options(n_options=[1])


def test_normal_grid_weights_and_moments() -> None:
    grid = normal_grid()
    assert grid.nodes.size == 61
    assert grid.weights.sum() == pytest.approx(1.0, abs=1e-12)
    # A ±5 SD grid of 61 points reproduces the N(0, 1) variance to 2e-5 (truncating the tails
    # beyond ±5 SD removes E[θ²; |θ| > 5] ≈ 1.5e-5).
    assert float(grid.weights @ grid.nodes**2) == pytest.approx(1.0, abs=2e-5)


# ---------------------------------------------------------------- recovery


def test_2pl_recovery_2000_by_40() -> None:
    """2000 learners × 40 items (80k responses): a and b each correlate ≥ 0.95 with truth,
    b RMSE < 0.12 (measured 0.059), a RMSE < 0.15 (0.099), EAP θ correlates ≥ 0.93 (0.959; the
    ceiling with 40 items is ≈ 0.96)."""
    a, b = _true_items(40, seed=11)
    theta, responses = _simulate(n_learners=2000, a=a, b=b, c=0.0, seed=12)
    cal = calibrate_items(responses=responses)
    assert cal.converged
    assert _corr(cal.items.discrimination, a) >= 0.95
    assert _corr(cal.items.difficulty, b) >= 0.95
    assert float(np.sqrt(np.mean((cal.items.difficulty - b) ** 2))) < 0.12
    assert float(np.sqrt(np.mean((cal.items.discrimination - a) ** 2))) < 0.15
    # Reported SEs are honest: at least 85 % of b errors lie within 2 SE.
    assert float(np.mean(np.abs(cal.items.difficulty - b) < 2.0 * cal.difficulty_se)) >= 0.85
    est = estimate_ability_eap(items=cal.items, responses=responses)
    assert _corr(est.theta, theta) >= 0.93


def test_a_warm_start_from_last_nights_calibration_takes_fewer_rounds_to_the_same_items() -> None:
    a, b = _true_items(40, seed=11)
    _, night1 = _simulate(n_learners=2000, a=a, b=b, c=0.0, seed=12)
    _, more = _simulate(n_learners=200, a=a, b=b, c=0.0, seed=13)
    night2 = np.vstack([night1, more])
    first = calibrate_items(responses=night1)
    cold = calibrate_items(responses=night2)
    # Nightly: from last night's items, stopping once no parameter moves 0.001 logits in a round.
    warm = calibrate_items(responses=night2, warm_start=first.items, tolerance=1e-3)
    assert cold.converged and warm.converged
    assert warm.iterations <= cold.iterations / 4, (warm.iterations, cold.iterations)  # measured 4 vs 36
    # within 0.01 logits of the cold fit: under half the smallest standard error
    np.testing.assert_allclose(warm.items.difficulty, cold.items.difficulty, atol=0.01)
    np.testing.assert_allclose(warm.items.discrimination, cold.items.discrimination, atol=0.01)
    assert float(cold.difficulty_se.min()) > 0.02
    with pytest.raises(ValueError, match="of one length"):
        calibrate_items(responses=night2[:, :5], warm_start=first.items)


def test_3pl_fixed_guessing_recovery_with_missing_responses() -> None:
    """3000 learners × 60 four-option items (c fixed at 0.25), each learner answers a random half
    (90k responses): b correlates ≥ 0.95 and a ≥ 0.90 (guessing flattens the curve: a needs about
    5000 responses per item to reach 0.95, against about 1000 for the 2PL). The RMSE bounds matter:
    the start values alone (b from proportions correct) already correlate 0.97 with b, at RMSE 0.39."""
    a, b = _true_items(60, seed=21)
    theta, responses = _simulate(n_learners=3000, a=a, b=b, c=0.25, seed=22)
    observed = missing_at_random(shape=responses.shape, missing_rate=0.5, rng=np.random.default_rng(23))
    cal = calibrate_items(responses=responses, observed=observed, guessing=guessing_for_options(n_options=4))
    assert cal.converged
    assert np.all(cal.items.guessing == 0.25)
    assert _corr(cal.items.difficulty, b) >= 0.95
    assert _corr(cal.items.discrimination, a) >= 0.90
    assert float(np.sqrt(np.mean((cal.items.difficulty - b) ** 2))) < 0.18  # measured 0.125
    assert float(np.sqrt(np.mean((cal.items.discrimination - a) ** 2))) < 0.18  # measured 0.121
    est = estimate_ability_eap(items=cal.items, responses=responses, observed=observed)
    assert _corr(est.theta, theta) >= 0.85


def test_em_raises_the_marginal_likelihood() -> None:
    a, b = _true_items(20, seed=61)
    _, responses = _simulate(n_learners=500, a=a, b=b, c=0.0, seed=62)
    first = calibrate_items(responses=responses, max_iterations=1)  # the likelihood at the start values
    fitted = calibrate_items(responses=responses)
    assert first.iterations == 1 and not first.converged
    # 500 × 20 responses: EM gains well over 10 log-likelihood units on the a = 1 starting point.
    assert fitted.marginal_log_likelihood > first.marginal_log_likelihood + 10.0


def test_priors_keep_an_all_correct_item_finite() -> None:
    a, b = _true_items(10, seed=31)
    _, responses = _simulate(n_learners=300, a=a, b=b, c=0.0, seed=32)
    responses[:, 0] = 1.0  # nobody ever misses item 0: the unpenalised MLE of b is −∞
    cal = calibrate_items(responses=responses)
    assert np.isfinite(cal.items.difficulty[0])
    assert -8.0 < cal.items.difficulty[0] < -2.0


def test_learner_order_does_not_matter() -> None:
    a, b = _true_items(15, seed=41)
    _, responses = _simulate(n_learners=400, a=a, b=b, c=0.0, seed=42)
    first = calibrate_items(responses=responses)
    shuffled = calibrate_items(responses=responses[np.random.default_rng(43).permutation(400)])
    np.testing.assert_allclose(first.items.difficulty, shuffled.items.difficulty, atol=1e-9)
    np.testing.assert_allclose(first.items.discrimination, shuffled.items.discrimination, atol=1e-9)


def test_rejects_non_binary_responses_and_bad_params() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        calibrate_items(responses=[[0.0, 2.0]])
    with pytest.raises(ValueError, match="positive"):
        ItemParams.from_values(discrimination=[0.0], difficulty=[0.0], guessing=[0.0])
    items = ItemParams.from_values(discrimination=[1.0], difficulty=[0.0], guessing=[0.0])
    with pytest.raises(ValueError, match="items"):
        estimate_ability_eap(items=items, responses=[[1.0, 0.0]])


# ---------------------------------------------------------------- invariants

_finite = st.floats(min_value=-6.0, max_value=6.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(min_value=0.1, max_value=4.0), b=_finite, c=st.floats(min_value=0.0, max_value=0.5),
    theta=st.lists(_finite, min_size=1, max_size=8),
)
def test_probability_and_information_bounds(a: float, b: float, c: float, theta: list[float]) -> None:
    items = ItemParams.from_values(discrimination=[a], difficulty=[b], guessing=[c])
    p = probability_correct(items=items, theta=theta)
    assert np.all((p >= c) & (p <= 1.0))
    info = item_information(items=items, theta=theta)
    # Information is non-negative and never above the 2PL maximum a²/4.
    assert np.all((info >= 0.0) & (info <= a**2 / 4.0 + 1e-12))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_eap_inputs_not_mutated_and_se_bounded(data: st.DataObject) -> None:
    n_learners = data.draw(st.integers(min_value=1, max_value=6))
    n_items = data.draw(st.integers(min_value=1, max_value=5))
    cells = data.draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=n_learners * n_items,
                               max_size=n_learners * n_items))
    responses = np.array(cells).reshape(n_learners, n_items)
    before = responses.copy()
    items = ItemParams(discrimination=np.ones(n_items), difficulty=np.linspace(-1, 1, n_items),
                       guessing=np.zeros(n_items))
    est = estimate_ability_eap(items=items, responses=responses)
    np.testing.assert_array_equal(responses, before)
    # Posterior SD never exceeds the prior SD (1) by more than grid error; the mean stays on the grid.
    assert np.all(est.standard_error <= 1.0 + 1e-6)
    assert np.all(np.abs(est.theta) < 5.0)


def test_calibration_does_not_mutate_inputs_and_params_are_read_only() -> None:
    a, b = _true_items(5, seed=51)
    _, responses = _simulate(n_learners=100, a=a, b=b, c=0.0, seed=52)
    observed = np.ones_like(responses, dtype=bool)
    before = responses.copy()
    cal = calibrate_items(responses=responses, observed=observed, max_iterations=5)
    np.testing.assert_array_equal(responses, before)
    assert observed.all()
    with pytest.raises(ValueError):
        cal.items.difficulty[0] = 1.0
