"""Vectorised EM (Baum–Welch) fitting of BKT-with-forgetting, many skills in one call.

Data: every learner × skill sequence is one row of a padded (n_sequences, T) 0/1 array with a prefix
mask (True for the first `length` steps) and a skill index per row.  The forward–backward pass loops
over time steps only; all sequences (of all skills) move together as numpy vectors.  Skills are fitted
independently: sufficient statistics are summed per skill with `np.bincount`.

Forward (scaled):  π_t = P(L_t | o_<t),  c_t = P(o_t | o_<t),  a_t = P(L_t | o_≤t);  LL = Σ log c_t.
Backward (2-state smoother):  ξ_t(i, j) = a_t(i) A_ij γ_{t+1}(j) / π_{t+1}(j),  γ_t(i) = Σ_j ξ_t(i, j).
M-step: each parameter is a ratio of expected counts, n_event / n_trials.  Beta priors add pseudo-counts
(θ = (n_event + s·μ) / (n_trials + s)) and the result is clipped to its bounds; each per-parameter
objective n1 log θ + n0 log(1 - θ) is concave, so clipping gives the exact constrained maximiser.
Default bounds keep guess ≤ 0.3 and slip ≤ 0.3 to avoid the degenerate "knowing means failing" fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from smartpractice.learner.bkt import (
    DEFAULT_BKT_PARAMS,
    PROBABILITY_FIELDS,
    BKTParamArrays,
    BKTParams,
    FieldError,
    FloatArray,
    ParamsValidationError,
)

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ResponseSequences:
    """Padded response sequences: responses/mask (n_sequences, T), skill_index (n_sequences,)."""

    responses: NDArray[np.int8]
    mask: BoolArray
    skill_index: IntArray
    n_skills: int

    def __post_init__(self) -> None:
        if self.responses.ndim != 2 or self.mask.shape != self.responses.shape or self.responses.shape[1] < 1:
            raise ValueError("responses and mask must be 2-D arrays of the same shape with >= 1 column")
        if self.skill_index.shape != (self.responses.shape[0],):
            raise ValueError("skill_index needs one entry per sequence")
        if self.skill_index.size and (self.skill_index.min() < 0 or self.skill_index.max() >= self.n_skills):
            raise ValueError("skill_index out of range [0, n_skills)")
        if np.any(self.mask[:, 1:] & ~self.mask[:, :-1]):
            raise ValueError("mask must be a prefix mask (observations first, padding after)")
        if np.any(self.mask & (self.responses != 0) & (self.responses != 1)):
            raise ValueError("observed responses must be 0 or 1")

    @classmethod
    def from_lists(
        cls, *, sequences: Sequence[Sequence[int]], skill_index: Sequence[int], n_skills: int
    ) -> ResponseSequences:
        """Pad ragged 0/1 sequences into the array form."""
        width = max(1, max((len(s) for s in sequences), default=0))
        responses = np.zeros((len(sequences), width), dtype=np.int8)
        mask = np.zeros((len(sequences), width), dtype=np.bool_)
        for row, sequence in enumerate(sequences):
            responses[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = True
        return cls(responses, mask, np.asarray(skill_index, dtype=np.int64), n_skills)

    def n_obs_per_skill(self) -> IntArray:
        counts = np.bincount(self.skill_index, weights=self.mask.sum(axis=1), minlength=self.n_skills)
        return counts.astype(np.int64)


@dataclass(frozen=True, slots=True)
class EMConfig:
    """EM settings. tolerance: stop a skill when |ΔLL| per observation ≤ tolerance."""

    max_iterations: int = 200
    tolerance: float = 1e-6
    n_restarts: int = 3
    fit_forget: bool = True
    prior_strength: float = 2.0  # Beta pseudo-observations per parameter, centred on prior_mean
    prior_mean: BKTParams = DEFAULT_BKT_PARAMS
    init_bounds: tuple[float, float] = (0.01, 0.99)
    learn_bounds: tuple[float, float] = (0.001, 0.6)
    guess_bounds: tuple[float, float] = (0.01, 0.3)
    slip_bounds: tuple[float, float] = (0.01, 0.3)
    forget_bounds: tuple[float, float] = (0.0, 0.3)

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if self.max_iterations < 1:
            errors.append(FieldError("max_iterations", "must be >= 1"))
        if not self.tolerance > 0.0:
            errors.append(FieldError("tolerance", "must be > 0"))
        if self.n_restarts < 1:
            errors.append(FieldError("n_restarts", "must be >= 1"))
        if not self.prior_strength >= 0.0:
            errors.append(FieldError("prior_strength", "must be >= 0"))
        for name in ("init_bounds", "learn_bounds", "guess_bounds", "slip_bounds", "forget_bounds"):
            low, high = getattr(self, name)
            if not 0.0 <= low <= high <= 1.0:
                errors.append(FieldError(name, f"must satisfy 0 <= low <= high <= 1, got {(low, high)!r}"))
        if self.guess_bounds[1] + self.slip_bounds[1] >= 1.0:
            errors.append(FieldError("guess_bounds+slip_bounds", "upper bounds must sum to < 1"))
        if errors:
            raise ParamsValidationError(errors)

    def bounds(self) -> dict[str, tuple[float, float]]:
        forget = self.forget_bounds if self.fit_forget else (0.0, 0.0)
        return {
            "p_init": self.init_bounds,
            "p_learn": self.learn_bounds,
            "p_guess": self.guess_bounds,
            "p_slip": self.slip_bounds,
            "p_forget": forget,
        }


@dataclass(frozen=True, slots=True)
class BKTFitResult:
    """Per-skill fit: params, log-likelihood at those params, observations, EM iterations (best restart)."""

    params: tuple[BKTParams, ...]
    log_likelihood: FloatArray
    n_obs: IntArray
    iterations: IntArray
    converged: BoolArray
    param_arrays: BKTParamArrays = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_arrays", BKTParamArrays.stack(self.params))


# --- forward–backward -------------------------------------------------------------------------------


def _per_sequence(params: BKTParamArrays, data: ResponseSequences) -> dict[str, FloatArray]:
    return {name: getattr(params, name)[data.skill_index] for name in PROBABILITY_FIELDS}


@dataclass(frozen=True, slots=True)
class _Forward:
    predicted: FloatArray  # π_t = P(L_t | o_<t)
    filtered: FloatArray  # a_t = P(L_t | o_≤t)
    log_scale: FloatArray  # log c_t (0 on padding)
    next_known: FloatArray  # P(L) at the opportunity after each sequence's last observation


def _forward(data: ResponseSequences, params: BKTParamArrays) -> _Forward:
    p = _per_sequence(params, data)
    n, width = data.responses.shape
    predicted, filtered, log_scale = np.empty((n, width)), np.empty((n, width)), np.zeros((n, width))
    prior = p["p_init"].copy()
    for t in range(width):
        correct = data.responses[:, t] == 1
        observed = data.mask[:, t]
        like_known = np.where(observed, np.where(correct, 1.0 - p["p_slip"], p["p_slip"]), 1.0)
        like_unknown = np.where(observed, np.where(correct, p["p_guess"], 1.0 - p["p_guess"]), 1.0)
        scale = np.maximum(prior * like_known + (1.0 - prior) * like_unknown, 1e-300)
        predicted[:, t] = prior
        filtered[:, t] = prior * like_known / scale
        log_scale[:, t] = np.log(scale)
        # Padding carries the state unchanged so `prior` ends as P(L) after the last real opportunity.
        moved = filtered[:, t] * (1.0 - p["p_forget"]) + (1.0 - filtered[:, t]) * p["p_learn"]
        prior = np.where(observed, moved, prior)
    return _Forward(predicted, filtered, log_scale, prior)


def _expected_counts(data: ResponseSequences, params: BKTParamArrays, fwd: _Forward) -> dict[str, FloatArray]:
    """Backward pass; returns per-skill (events, trials) expected counts for every parameter."""
    p = _per_sequence(params, data)
    n, width = data.responses.shape
    known = np.empty((n, width))  # γ_t(known)
    known[:, -1] = fwd.filtered[:, -1]
    learned, stayed_unknown, forgot, stayed_known = (np.zeros(n) for _ in range(4))
    for t in range(width - 2, -1, -1):
        a, prior_next, known_next = fwd.filtered[:, t], fwd.predicted[:, t + 1], known[:, t + 1]
        to_known = np.divide(known_next, prior_next, out=np.zeros(n), where=prior_next > 0.0)
        to_unknown = np.divide(1.0 - known_next, 1.0 - prior_next, out=np.zeros(n), where=prior_next < 1.0)
        xi_11 = a * (1.0 - p["p_forget"]) * to_known
        xi_10 = a * p["p_forget"] * to_unknown
        xi_01 = (1.0 - a) * p["p_learn"] * to_known
        xi_00 = (1.0 - a) * (1.0 - p["p_learn"]) * to_unknown
        transition = data.mask[:, t + 1]
        known[:, t] = np.where(transition, xi_11 + xi_10, a)
        learned += np.where(transition, xi_01, 0.0)
        stayed_unknown += np.where(transition, xi_00, 0.0)
        forgot += np.where(transition, xi_10, 0.0)
        stayed_known += np.where(transition, xi_11, 0.0)
    observed = data.mask.astype(np.float64)
    correct = (data.responses == 1) & data.mask
    unknown = (1.0 - known) * observed
    known_obs = known * observed
    per_sequence = {
        "p_init": (known[:, 0] * observed[:, 0], observed[:, 0]),
        "p_learn": (learned, learned + stayed_unknown),
        "p_forget": (forgot, forgot + stayed_known),
        "p_guess": ((unknown * correct).sum(axis=1), unknown.sum(axis=1)),
        "p_slip": ((known_obs * ~correct).sum(axis=1), known_obs.sum(axis=1)),
    }
    return {
        name: np.stack([_by_skill(data, events), _by_skill(data, trials)])
        for name, (events, trials) in per_sequence.items()
    }


def _by_skill(data: ResponseSequences, values: FloatArray) -> FloatArray:
    totals = np.bincount(data.skill_index, weights=values, minlength=data.n_skills)
    return np.asarray(totals, dtype=np.float64)


def _m_step(counts: dict[str, FloatArray], config: EMConfig) -> dict[str, FloatArray]:
    updated = {}
    for name, (low, high) in config.bounds().items():
        events, trials = counts[name]
        mean = getattr(config.prior_mean, name)
        strength = config.prior_strength
        # With no trials and no prior the ratio is undefined: fall back to the prior mean.
        total = trials + strength
        estimate = np.divide(events + strength * mean, total, out=np.full_like(events, mean), where=total > 0)
        updated[name] = np.clip(estimate, low, high)
    return updated


# --- public API -------------------------------------------------------------------------------------


def log_likelihood(*, data: ResponseSequences, params: BKTParamArrays) -> FloatArray:
    """Total log-likelihood per skill, shape (n_skills,)."""
    return _by_skill(data, _forward(data, params).log_scale.sum(axis=1))


def predict_one_step(*, data: ResponseSequences, params: BKTParamArrays) -> FloatArray:
    """P(correct at t | answers before t), shape (n_sequences, T); meaningful where mask is True."""
    fwd = _forward(data, params)
    p = _per_sequence(params, data)
    guess, slip = p["p_guess"][:, np.newaxis], p["p_slip"][:, np.newaxis]
    return fwd.predicted * (1.0 - slip) + (1.0 - fwd.predicted) * guess


def knowledge_after_sequences(*, data: ResponseSequences, params: BKTParamArrays) -> FloatArray:
    """P(known) at each sequence's next opportunity (mastery after a refit), shape (n_sequences,)."""
    return _forward(data, params).next_known


def _initial_params(
    config: EMConfig, n_skills: int, restart: int, rng: np.random.Generator
) -> BKTParamArrays:
    values = {}
    for name, (low, high) in config.bounds().items():
        if restart == 0:  # the first start is the prior mean: deterministic and usually good
            values[name] = np.full(n_skills, np.clip(getattr(config.prior_mean, name), low, high))
        else:
            values[name] = rng.uniform(low, high, size=n_skills)
    return BKTParamArrays(**values)


def _choose(where: BoolArray, chosen: BKTParamArrays, other: BKTParamArrays) -> BKTParamArrays:
    """Per skill: `chosen`'s parameters where `where` is True, else `other`'s."""
    return BKTParamArrays(
        **{name: np.where(where, getattr(chosen, name), getattr(other, name)) for name in PROBABILITY_FIELDS}
    )


def _run_em(
    data: ResponseSequences, start: BKTParamArrays, config: EMConfig, n_obs: IntArray
) -> tuple[BKTParamArrays, FloatArray, IntArray, BoolArray]:
    params = start
    converged = n_obs == 0
    iterations = np.zeros(data.n_skills, dtype=np.int64)
    previous = np.full(data.n_skills, -np.inf)
    threshold = config.tolerance * np.maximum(n_obs, 1)
    for iteration in range(config.max_iterations + 1):
        fwd = _forward(data, params)
        current = _by_skill(data, fwd.log_scale.sum(axis=1))
        converged = converged | (np.abs(current - previous) <= threshold)
        if converged.all() or iteration == config.max_iterations:
            return params, current, iterations, converged
        updated = _m_step(_expected_counts(data, params, fwd), config)
        # Converged skills keep their parameters (and so their log-likelihood) from now on.
        params = _choose(converged, params, BKTParamArrays(**updated))
        iterations += ~converged
        previous = current
    raise AssertionError("unreachable")  # pragma: no cover


def fit_bkt(
    *, data: ResponseSequences, rng: np.random.Generator, config: EMConfig | None = None
) -> BKTFitResult:
    """Fit every skill's BKT parameters by EM with restarts; each skill keeps its best-likelihood restart."""
    config = config or EMConfig()
    n_obs = data.n_obs_per_skill()
    best: BKTParamArrays | None = None
    best_ll = np.full(data.n_skills, -np.inf)
    best_iterations = np.zeros(data.n_skills, dtype=np.int64)
    best_converged = np.zeros(data.n_skills, dtype=np.bool_)
    for restart in range(config.n_restarts):
        start = _initial_params(config, data.n_skills, restart, rng)
        params, ll, iterations, converged = _run_em(data, start, config, n_obs)
        better = ll > best_ll
        best = params if best is None else _choose(better, params, best)
        best_ll = np.where(better, ll, best_ll)
        best_iterations = np.where(better, iterations, best_iterations)
        best_converged = np.where(better, converged, best_converged)
    assert best is not None
    return BKTFitResult(
        params=tuple(best.at(k) for k in range(data.n_skills)),
        log_likelihood=best_ll,
        n_obs=n_obs,
        iterations=best_iterations,
        converged=best_converged,
    )


__all__ = [
    "BKTFitResult",
    "EMConfig",
    "ResponseSequences",
    "fit_bkt",
    "knowledge_after_sequences",
    "log_likelihood",
    "predict_one_step",
]
