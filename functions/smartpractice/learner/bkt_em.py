"""Vectorised EM (Baum–Welch) fitting of BKT-with-forgetting, many skills in one call.

Data: every learner × skill sequence is one row of a padded (n_sequences, T) 0/1 array with a prefix
mask (True for the first `length` steps) and a skill index per row (`ResponseSequences`), or the same
answers already length-packed (`bkt_packed.PackedSequences`, what the nightly refit builds).  Either way the
passes run on the packed form: no padding is walked, and the forward–backward pass (`bkt_packed`) loops over
time steps only, all running sequences (of all skills) together as numpy vectors.  Skills are fitted
independently: sufficient statistics are summed per skill with `np.bincount`, and a skill that has
converged drops out: its sequences leave the packed data, so later rounds walk only the skills still moving.
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

from smartpractice.errors import FieldError
from smartpractice.learner.bkt import (
    DEFAULT_BKT_PARAMS,
    PROBABILITY_FIELDS,
    BKTParamArrays,
    BKTParams,
    FloatArray,
    ParamsValidationError,
)
from smartpractice.learner.bkt_packed import PackedSequences, expected_counts, forward, per_sequence

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

    def packed(self) -> PackedSequences:
        """The same answers length-packed (no padding); `source` is the row here."""
        row, position = np.nonzero(self.mask)
        return PackedSequences.from_cells(sequence=row.astype(np.int64), position=position.astype(np.int64),
                                          correct=self.responses[row, position], skill_index=self.skill_index,
                                          n_skills=self.n_skills)


def _packed(data: ResponseSequences | PackedSequences) -> PackedSequences:
    return data.packed() if isinstance(data, ResponseSequences) else data


# One default (issue 15): the refit's MAP prior is centred on the parameters a skill without a fit uses.
# The prior is pseudo-counts (mean · strength events in strength trials), so a mean on a bound (p_forget 0)
# is fine: with prior_strength 2 it is a light smoothing toward "no forgetting between answers".
EM_PRIOR_MEAN = DEFAULT_BKT_PARAMS


@dataclass(frozen=True, slots=True)
class EMConfig:
    """EM settings. tolerance: stop a skill when |ΔLL| per observation ≤ tolerance.

    Parameter bounds, and why:
    - p_init [0.01, 0.99]: both states stay possible at the start, so no answer sequence has zero likelihood.
    - p_learn [0.001, 0.6]: some learning must stay possible (else mastery can never rise), and a skill learnt
      in one or two answers with certainty is indistinguishable from "already known" (p_init takes it).
    - p_guess [0.01, 0.3] and p_slip [0.01, 0.3]: with guess + slip near 1 a correct answer stops being
      evidence of knowledge (model degeneracy, Baker, Corbett & Aleven 2008, "More accurate student modeling
      through contextual estimation of slip and guess probabilities"); 0.3 stays above a 4-option chance
      (0.25), and the 0.01 floors keep one lucky or careless answer from being impossible.
    - p_forget [0, 0.1]: forgetting *between two answers* of a practice run; more than 10 % per answer
      fits noise (the issue saw fits above 0.1), and forgetting over days is the decay step's
      (bkt.forget_over_time on the memory model's clock), not this transition's.
    """

    max_iterations: int = 200
    tolerance: float = 1e-6
    n_restarts: int = 3
    fit_forget: bool = True
    prior_strength: float = 2.0  # Beta pseudo-observations per parameter, centred on prior_mean
    prior_mean: BKTParams = EM_PRIOR_MEAN
    init_bounds: tuple[float, float] = (0.01, 0.99)
    learn_bounds: tuple[float, float] = (0.001, 0.6)
    guess_bounds: tuple[float, float] = (0.01, 0.3)
    slip_bounds: tuple[float, float] = (0.01, 0.3)
    forget_bounds: tuple[float, float] = (0.0, 0.1)

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
    """Per-skill fit: params, log-likelihood at those params, observations, EM iterations (best restart).

    cells_walked: answer cells the forward passes visited, summed over rounds and restarts (the work done:
    a skill's answers are walked once per round until it converges).
    """

    params: tuple[BKTParams, ...]
    log_likelihood: FloatArray
    n_obs: IntArray
    iterations: IntArray
    converged: BoolArray
    cells_walked: int
    param_arrays: BKTParamArrays = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_arrays", BKTParamArrays.stack(self.params))


# --- EM ---------------------------------------------------------------------------------------------


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


def log_likelihood(*, data: ResponseSequences | PackedSequences, params: BKTParamArrays) -> FloatArray:
    """Total log-likelihood per skill, shape (n_skills,)."""
    packed = _packed(data)
    return packed.by_skill(forward(packed, params).log_scale)


def predict_one_step(*, data: ResponseSequences, params: BKTParamArrays) -> FloatArray:
    """P(correct at t | answers before t), shape (n_sequences, T); meaningful where mask is True (0 elsewhere)."""
    packed = data.packed()
    fwd = forward(packed, params)
    p = per_sequence(params, packed)
    guess, slip = p["p_guess"][packed.cell_sequence], p["p_slip"][packed.cell_sequence]
    out = np.zeros(data.responses.shape)
    out[packed.source[packed.cell_sequence], packed.cell_step()] = fwd.predicted * (1.0 - slip) + (
        1.0 - fwd.predicted) * guess
    return out


def knowledge_after_sequences(*, data: ResponseSequences | PackedSequences, params: BKTParamArrays) -> FloatArray:
    """P(known) at each sequence's next opportunity (mastery after a refit), shape (n_sequences,), caller's order."""
    packed = _packed(data)
    out = np.empty(packed.n_sequences)
    out[packed.source] = forward(packed, params).next_known
    return out


def _initial_params(
    config: EMConfig, n_skills: int, restart: int, rng: np.random.Generator,
    warm: Sequence[BKTParams | None] | None = None,
) -> BKTParamArrays:
    values = {}
    for name, (low, high) in config.bounds().items():
        if restart == 0:  # the first start: the warm start where given, else the prior mean (deterministic)
            start = [getattr(config.prior_mean if w is None else w, name) for w in (warm or [None] * n_skills)]
            values[name] = np.clip(np.asarray(start, dtype=np.float64), low, high)
        else:
            values[name] = rng.uniform(low, high, size=n_skills)
    return BKTParamArrays(**values)


def _choose(where: BoolArray, chosen: BKTParamArrays, other: BKTParamArrays) -> BKTParamArrays:
    """Per skill: `chosen`'s parameters where `where` is True, else `other`'s."""
    return BKTParamArrays(
        **{name: np.where(where, getattr(chosen, name), getattr(other, name)) for name in PROBABILITY_FIELDS}
    )


@dataclass(frozen=True, slots=True)
class _Run:
    params: BKTParamArrays
    log_likelihood: FloatArray
    iterations: IntArray
    converged: BoolArray
    cells_walked: int


def _run_em(data: PackedSequences, start: BKTParamArrays, config: EMConfig, n_obs: IntArray) -> _Run:
    """EM from `start`; each skill stops at its own convergence, and its sequences leave the rounds after."""
    params = start
    converged = n_obs == 0
    iterations = np.zeros(data.n_skills, dtype=np.int64)
    current = np.zeros(data.n_skills)  # a skill without answers has log-likelihood 0
    previous = np.full(data.n_skills, -np.inf)
    threshold = config.tolerance * np.maximum(n_obs, 1)
    running = data.select(~converged[data.skill_index])
    walked = 0
    for iteration in range(config.max_iterations + 1):
        fwd = forward(running, params)
        walked += running.n_cells
        current = np.where(converged, current, running.by_skill(fwd.log_scale))
        newly = ~converged & (np.abs(current - previous) <= threshold)
        converged = converged | newly
        if converged.all() or iteration == config.max_iterations:
            return _Run(params, current, iterations, converged, walked)
        updated = _m_step(expected_counts(running, params, fwd), config)
        # Converged skills keep their parameters (and so their log-likelihood) from now on.
        params = _choose(converged, params, BKTParamArrays(**updated))
        iterations += ~converged
        previous = current
        if newly.any():
            running = running.select(~converged[running.skill_index])
    raise AssertionError("unreachable")  # pragma: no cover


def fit_bkt(
    *, data: ResponseSequences | PackedSequences, rng: np.random.Generator, config: EMConfig | None = None,
    warm_start: Sequence[BKTParams | None] | None = None,
) -> BKTFitResult:
    """Fit every skill's BKT parameters by EM with restarts; each skill keeps its best-likelihood restart.

    Args:
        data: answer sequences per (learner, skill), 0/1 correctness in time order.
        rng: draws the starts of restarts 2..n (restart 1 is deterministic).
        config: EM settings (restarts, tolerance, Beta priors, bounds); EMConfig() by default.
        warm_start: per skill, parameters to start restart 1 from (e.g. last night's fit), or None for the
            prior mean. A refit of slightly changed data from its previous optimum converges in a few rounds,
            so a nightly refit can run with n_restarts=1.

    Returns:
        BKTFitResult: per skill the parameters (probabilities in [0, 1], inside config's bounds), the
        log-likelihood (nats, <= 0), observations, EM rounds and whether it converged.
    """
    config = config or EMConfig()
    packed = _packed(data)
    if warm_start is not None and len(warm_start) != packed.n_skills:
        raise ValueError("warm_start needs one entry (or None) per skill")
    n_obs = packed.n_obs_per_skill()
    best: BKTParamArrays | None = None
    best_ll = np.full(packed.n_skills, -np.inf)
    best_iterations = np.zeros(packed.n_skills, dtype=np.int64)
    best_converged = np.zeros(packed.n_skills, dtype=np.bool_)
    walked = 0
    for restart in range(config.n_restarts):
        start = _initial_params(config, packed.n_skills, restart, rng, warm_start)
        run = _run_em(packed, start, config, n_obs)
        better = run.log_likelihood > best_ll
        best = run.params if best is None else _choose(better, run.params, best)
        best_ll = np.where(better, run.log_likelihood, best_ll)
        best_iterations = np.where(better, run.iterations, best_iterations)
        best_converged = np.where(better, run.converged, best_converged)
        walked += run.cells_walked
    assert best is not None
    return BKTFitResult(
        params=tuple(best.at(k) for k in range(packed.n_skills)),
        log_likelihood=best_ll,
        n_obs=n_obs,
        iterations=best_iterations,
        converged=best_converged,
        cells_walked=walked,
    )


__all__ = [
    "BKTFitResult",
    "EMConfig",
    "PackedSequences",
    "ResponseSequences",
    "fit_bkt",
    "knowledge_after_sequences",
    "log_likelihood",
    "predict_one_step",
]
