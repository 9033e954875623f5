"""EM fitting of BKT: exact oracles on tiny data, parameter recovery, padding, bounds, determinism."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from smartpractice.learner.bkt import BKTParamArrays, BKTParams, ParamsValidationError, update_known
from smartpractice.learner.bkt_em import (
    BKTFitResult,
    EMConfig,
    ResponseSequences,
    fit_bkt,
    knowledge_after_sequences,
    log_likelihood,
    predict_one_step,
)
from smartpractice_dev.simulation import simulate_bkt_sequences

A = BKTParams(p_init=0.3, p_learn=0.1, p_guess=0.2, p_slip=0.1, p_forget=0.05)
TINY = [[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 0], [0, 1, 0, 1], [0, 0], [1]]


def _paths(params: BKTParams, obs: list[int]) -> list[tuple[tuple[int, ...], float]]:
    """Every hidden path with its joint probability P(path, obs)."""
    out = []
    for path in itertools.product([0, 1], repeat=len(obs)):
        weight = params.p_init if path[0] else 1 - params.p_init
        for now, nxt in itertools.pairwise(path):
            if now:
                weight *= params.p_forget if not nxt else 1 - params.p_forget
            else:
                weight *= params.p_learn if nxt else 1 - params.p_learn
        for state, o in zip(path, obs, strict=True):
            p_right = 1 - params.p_slip if state else params.p_guess
            weight *= p_right if o else 1 - p_right
        out.append((path, weight))
    return out


def _brute_force_em_step(params: BKTParams, sequences: list[list[int]]) -> tuple[float, BKTParams]:
    """Log-likelihood and one maximum-likelihood M-step, by enumerating hidden paths."""
    counts = dict.fromkeys(["init", "n_init", "learn", "n_learn", "forget", "n_forget", "guess", "n_guess",
                            "slip", "n_slip"], 0.0)
    total_ll = 0.0
    for obs in sequences:
        paths = _paths(params, obs)
        evidence = sum(w for _, w in paths)
        total_ll += math.log(evidence)
        for path, w in paths:
            q = w / evidence
            counts["init"] += q * path[0]
            counts["n_init"] += q
            for now, nxt in itertools.pairwise(path):
                key = "forget" if now else "learn"
                counts["n_" + key] += q
                counts[key] += q * (nxt != now)
            for state, o in zip(path, obs, strict=True):
                key = "slip" if state else "guess"
                counts["n_" + key] += q
                counts[key] += q * (o == 0 if state else o == 1)
    new = BKTParams(
        p_init=counts["init"] / counts["n_init"],
        p_learn=counts["learn"] / counts["n_learn"],
        p_guess=counts["guess"] / counts["n_guess"],
        p_slip=counts["slip"] / counts["n_slip"],
        p_forget=counts["forget"] / counts["n_forget"],
    )
    return total_ll, new


def _one_skill(sequences: list[list[int]]) -> ResponseSequences:
    return ResponseSequences.from_lists(sequences=sequences, skill_index=[0] * len(sequences), n_skills=1)


WIDE_MLE = EMConfig(
    max_iterations=1, n_restarts=1, prior_strength=0.0, prior_mean=A, init_bounds=(0.0, 1.0),
    learn_bounds=(0.0, 1.0), guess_bounds=(0.0, 0.49), slip_bounds=(0.0, 0.49), forget_bounds=(0.0, 1.0),
)


def test_log_likelihood_pinned_by_hand() -> None:
    # P(o1=1) = 0.41 ; P(L) after = 0.6597560976 ; P(o2=0) = 1 − (0.6597560976·0.9 + 0.3402439024·0.2)
    #         = 1 − 0.6618292683 = 0.3381707317 ;  LL = ln 0.41 + ln 0.3381707317
    ll = log_likelihood(data=_one_skill([[1, 0]]), params=BKTParamArrays.stack([A]))
    assert float(ll[0]) == pytest.approx(math.log(0.41) + math.log(0.33817073170731704), abs=1e-12)


def test_log_likelihood_and_one_em_step_match_path_enumeration() -> None:
    expected_ll, expected_params = _brute_force_em_step(A, TINY)
    data = _one_skill(TINY)
    assert float(log_likelihood(data=data, params=BKTParamArrays.stack([A]))[0]) == pytest.approx(
        expected_ll, abs=1e-12
    )
    fitted = fit_bkt(data=data, rng=np.random.default_rng(0), config=WIDE_MLE)
    assert fitted.iterations.tolist() == [1]
    got = fitted.params[0]
    for name in ("p_init", "p_learn", "p_guess", "p_slip", "p_forget"):
        assert getattr(got, name) == pytest.approx(getattr(expected_params, name), abs=1e-12), name


def test_online_update_and_forward_pass_agree() -> None:
    # Mastery recomputed by the batch forward pass equals chaining the per-answer update.
    rng = np.random.default_rng(4)
    sequences = [list(rng.integers(0, 2, size=n)) for n in (1, 5, 9, 13)]
    data = _one_skill(sequences)
    params = BKTParamArrays.stack([A])
    after = knowledge_after_sequences(data=data, params=params)
    one_step = predict_one_step(data=data, params=params)
    for row, sequence in enumerate(sequences):
        p = A.p_init
        for t, answer in enumerate(sequence):
            assert one_step[row, t] == pytest.approx(p * 0.9 + (1 - p) * 0.2, abs=1e-12)
            p = update_known(p_known=p, is_correct=bool(answer), params=A)
        assert after[row] == pytest.approx(p, abs=1e-12)


def test_padding_does_not_change_the_fit() -> None:
    data = _one_skill(TINY)
    wider = ResponseSequences(
        np.pad(data.responses, ((0, 0), (0, 3))), np.pad(data.mask, ((0, 0), (0, 3))), data.skill_index, 1
    )
    a = fit_bkt(data=data, rng=np.random.default_rng(1), config=EMConfig(n_restarts=2))
    b = fit_bkt(data=wider, rng=np.random.default_rng(1), config=EMConfig(n_restarts=2))
    assert a.params == b.params
    np.testing.assert_allclose(a.log_likelihood, b.log_likelihood, rtol=0, atol=1e-12)


TRUE = (
    BKTParams(p_init=0.3, p_learn=0.15, p_guess=0.2, p_slip=0.1, p_forget=0.02),
    BKTParams(p_init=0.5, p_learn=0.08, p_guess=0.25, p_slip=0.15, p_forget=0.05),
    BKTParams(p_init=0.2, p_learn=0.25, p_guess=0.1, p_slip=0.05, p_forget=0.0),
)
RECOVERY_TOLERANCE = 0.05  # absolute, every parameter of every skill


def test_em_recovers_known_parameters_for_three_skills_in_one_call() -> None:
    # 1000 learners × 30 opportunities per skill (90 000 observations), three skills fitted together.
    simulation = simulate_bkt_sequences(params=TRUE, n_learners=1000, n_opportunities=30,
                                        rng=np.random.default_rng(2024))
    result = fit_bkt(data=simulation.data, rng=np.random.default_rng(7))
    assert result.n_obs.tolist() == [30_000, 30_000, 30_000]
    assert result.converged.all()
    assert (result.iterations < EMConfig().max_iterations).all()
    for truth, fitted in zip(TRUE, result.params, strict=True):
        for name in ("p_init", "p_learn", "p_guess", "p_slip", "p_forget"):
            error = abs(getattr(fitted, name) - getattr(truth, name))
            assert error <= RECOVERY_TOLERANCE, (name, truth, fitted)
    # The fit explains the data at least as well as the truth (it is the maximiser, up to the prior).
    true_ll = log_likelihood(data=simulation.data, params=BKTParamArrays.stack(TRUE))
    assert (result.log_likelihood >= true_ll - 1.0).all()


def test_a_warm_start_from_last_nights_fit_converges_in_fewer_rounds_to_the_same_optimum() -> None:
    # Night 1: three restarts from scratch. Night 2: 10 % more learners, one EM run from night 1's fit.
    rng = np.random.default_rng(2025)
    night1 = simulate_bkt_sequences(params=TRUE, n_learners=1000, n_opportunities=30, rng=rng).data
    more = simulate_bkt_sequences(params=TRUE, n_learners=100, n_opportunities=30, rng=rng).data
    night2 = ResponseSequences(responses=np.vstack([night1.responses, more.responses]),
                               mask=np.vstack([night1.mask, more.mask]),
                               skill_index=np.concatenate([night1.skill_index, more.skill_index]), n_skills=3)
    first = fit_bkt(data=night1, rng=np.random.default_rng(7))
    cold = fit_bkt(data=night2, rng=np.random.default_rng(7))
    warm = fit_bkt(data=night2, rng=np.random.default_rng(7), config=EMConfig(n_restarts=1),
                   warm_start=list(first.params))
    assert warm.converged.all() and cold.converged.all()
    assert (warm.iterations < cold.iterations).all(), (warm.iterations, cold.iterations)
    np.testing.assert_allclose(warm.log_likelihood, cold.log_likelihood, atol=0.5)  # nats, of ~99,000 obs
    for w, c in zip(warm.params, cold.params, strict=True):
        for name in ("p_init", "p_learn", "p_guess", "p_slip", "p_forget"):
            assert abs(getattr(w, name) - getattr(c, name)) <= 0.01, (name, w, c)
    with pytest.raises(ValueError, match="one entry"):
        fit_bkt(data=night2, rng=np.random.default_rng(7), warm_start=[None])


def test_same_seed_gives_the_same_fit() -> None:
    simulation = simulate_bkt_sequences(params=TRUE[:1], n_learners=200, n_opportunities=15,
                                        rng=np.random.default_rng(3), min_opportunities=5)
    config = EMConfig(n_restarts=3)
    first = fit_bkt(data=simulation.data, rng=np.random.default_rng(11), config=config)
    second = fit_bkt(data=simulation.data, rng=np.random.default_rng(11), config=config)
    assert first.params == second.params
    np.testing.assert_array_equal(first.log_likelihood, second.log_likelihood)


def test_bounds_hold_on_degenerate_data_and_empty_skill_gets_prior() -> None:
    # Skill 0: everyone always right (guess/slip unidentifiable); skill 1: no data at all.
    data = ResponseSequences.from_lists(sequences=[[1] * 10] * 50, skill_index=[0] * 50, n_skills=2)
    result = fit_bkt(data=data, rng=np.random.default_rng(0))
    fitted = result.params[0]
    assert 0.01 <= fitted.p_guess <= 0.3 and 0.01 <= fitted.p_slip <= 0.3
    assert result.n_obs.tolist() == [500, 0]
    assert result.params[1] == EMConfig().prior_mean
    assert result.log_likelihood[1] == 0.0 and result.iterations[1] == 0


def test_without_forgetting_the_forget_rate_stays_zero() -> None:
    simulation = simulate_bkt_sequences(params=TRUE[:1], n_learners=300, n_opportunities=10,
                                        rng=np.random.default_rng(5))
    result = fit_bkt(data=simulation.data, rng=np.random.default_rng(0), config=EMConfig(fit_forget=False))
    assert result.params[0].p_forget == 0.0


def test_config_validation_reports_all_errors() -> None:
    with pytest.raises(ParamsValidationError) as caught:
        EMConfig(max_iterations=0, tolerance=0.0, guess_bounds=(0.2, 0.6), slip_bounds=(0.5, 0.4))
    assert [e.field for e in caught.value.errors] == [
        "max_iterations", "tolerance", "slip_bounds", "guess_bounds+slip_bounds"
    ]


def test_sequences_validation() -> None:
    gap = np.array([[True, False, True]])
    with pytest.raises(ValueError, match="prefix"):
        ResponseSequences(np.zeros((1, 3), np.int8), gap, np.zeros(1, np.int64), 1)
    with pytest.raises(ValueError, match="0 or 1"):
        ResponseSequences(np.full((1, 2), 2, np.int8), np.ones((1, 2), bool), np.zeros(1, np.int64), 1)
    with pytest.raises(ValueError, match="skill_index"):
        ResponseSequences(np.zeros((1, 2), np.int8), np.ones((1, 2), bool), np.ones(1, np.int64), 1)


# --- length packing and per-skill early stop -------------------------------------------------------


def _long_tailed(seed: int) -> ResponseSequences:
    """TRUE's three skills, 400 sequences each, lengths 1 + floor(2 · Pareto(1)) capped at 120 (median 3)."""
    rng = np.random.default_rng(seed)
    full = simulate_bkt_sequences(params=TRUE, n_learners=400, n_opportunities=120, rng=rng).data
    lengths = np.minimum(1 + np.floor(2.0 * rng.pareto(1.0, size=full.skill_index.size)), 120).astype(np.int64)
    mask = np.arange(120)[np.newaxis, :] < lengths[:, np.newaxis]
    return ResponseSequences(np.where(mask, full.responses, 0).astype(np.int8), mask, full.skill_index, 3)


# fit_bkt(data=_long_tailed(99), rng=default_rng(8), config=PADDED_CONFIG) as computed by the padded
# implementation (one bucket padded to the longest sequence, every skill iterated until all converged) at
# commit 9d0aba8: p_init, p_learn, p_guess, p_slip, p_forget per skill; EM rounds per skill.
PADDED_FIT = (
    (0.2628052946, 0.1402949581, 0.1853559537, 0.1089460257, 0.0224977796),
    (0.4239746556, 0.0661564341, 0.2798475087, 0.1481667869, 0.0496585684),
    (0.2423851422, 0.2659618686, 0.1182340818, 0.0527603628, 0.0000180902),
)
PADDED_ROUNDS = [15, 28, 20]
# The EM settings of that commit (prior and forget bound before the one-default change of issue 15).
PADDED_CONFIG = EMConfig(n_restarts=3, prior_mean=BKTParams(p_init=0.3, p_learn=0.1, p_guess=0.2, p_slip=0.1,
                                                           p_forget=0.01), forget_bounds=(0.0, 0.3))
PADDED_LOG_LIKELIHOOD = [-1803.161781, -2180.702346, -1225.579472]


def _matrix(result: BKTFitResult) -> list[list[float]]:
    names = ("p_init", "p_learn", "p_guess", "p_slip", "p_forget")
    return [[getattr(p, name) for name in names] for p in result.params]


def test_packed_fit_equals_the_single_padded_bucket_fit() -> None:
    data = _long_tailed(99)
    assert data.mask.mean() < 0.1  # 10 884 answers in a 1 200 × 120 rectangle
    result = fit_bkt(data=data, rng=np.random.default_rng(8), config=PADDED_CONFIG)
    np.testing.assert_allclose(_matrix(result), PADDED_FIT, rtol=0, atol=1e-9)
    assert result.iterations.tolist() == PADDED_ROUNDS and result.converged.all()
    np.testing.assert_allclose(result.log_likelihood, PADDED_LOG_LIKELIHOOD, rtol=0, atol=1e-5)


def test_fit_does_not_depend_on_row_order_padding_width_or_input_form() -> None:
    data = _long_tailed(99)
    shuffle = np.random.default_rng(0).permutation(data.skill_index.size)
    wider = ResponseSequences(np.pad(data.responses[shuffle], ((0, 0), (0, 40))),
                              np.pad(data.mask[shuffle], ((0, 0), (0, 40))), data.skill_index[shuffle], 3)
    config = EMConfig(n_restarts=2)
    reference = fit_bkt(data=data, rng=np.random.default_rng(3), config=config)
    for other in (wider, data.packed()):
        result = fit_bkt(data=other, rng=np.random.default_rng(3), config=config)
        np.testing.assert_allclose(_matrix(result), _matrix(reference), rtol=0, atol=1e-9)
        np.testing.assert_array_equal(result.iterations, reference.iterations)


def test_a_skill_stops_at_its_own_convergence_and_leaves_later_rounds() -> None:
    data = _long_tailed(99)
    config = EMConfig(n_restarts=1)  # the prior-mean start: no random draws, so fits alone and together agree
    together = fit_bkt(data=data, rng=np.random.default_rng(0), config=config)
    alone = [
        fit_bkt(data=ResponseSequences(data.responses[rows], data.mask[rows], np.zeros(int(rows.sum()), np.int64), 1),
                rng=np.random.default_rng(0), config=config)
        for rows in (data.skill_index == k for k in range(3))
    ]
    fast, slow = int(np.argmin(together.iterations)), int(np.argmax(together.iterations))
    assert together.iterations[fast] < together.iterations[slow]
    for k, single in enumerate(alone):
        assert together.params[k] == single.params[0]  # bit for bit: other skills never touch its sums
        assert together.iterations[k] == single.iterations[0]
    # Each skill's answers are walked once per round up to its own convergence, not to the slowest skill's.
    assert together.cells_walked == sum(single.cells_walked for single in alone)
    assert together.cells_walked == int(((together.iterations + 1) * together.n_obs).sum())
    assert together.cells_walked < (together.iterations.max() + 1) * together.n_obs.sum()


def test_one_default_the_refit_prior_is_the_unfitted_skill_default() -> None:
    from smartpractice.learner.bkt import DEFAULT_BKT_PARAMS

    assert EMConfig().prior_mean == DEFAULT_BKT_PARAMS
    assert EMConfig().bounds()["p_forget"] == (0.0, 0.1)
