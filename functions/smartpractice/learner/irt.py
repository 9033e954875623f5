"""Item response theory: 2PL/3PL calibration and EAP ability estimates.

Model (3PL with a fixed lower asymptote; 2PL is the case c = 0):

    P_j(θ) = c_j + (1 − c_j) · σ(a_j · (θ − b_j))

Calibration is regularised marginal maximum likelihood (Bock & Aitkin 1981): the
learner ability θ ~ N(0, 1) is integrated out over a fixed quadrature grid, EM
alternates the posterior over grid nodes (E) with one vectorised Fisher-scoring
update per item (M), and priors keep sparse items finite:

    log a ~ Normal(μ_a, σ_a²)   (a lognormal prior on the discrimination a)
    b     ~ Normal(μ_b, σ_b²)

The guessing c is not estimated: for multiple-choice items it is fixed (e.g. at
1 / number_of_options, see ``guessing_for_options``) because freely estimated c is
weakly identified and destabilises a and b at the sample sizes we will have.

Responses are a dense learners × items matrix with a boolean ``observed`` mask, so
memory is O(learners × items); the posterior is O(learners × grid points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpractice.learner.arrays import read_only

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_PROB_FLOOR = 1e-9  # keeps logs finite when a grid node sits far in a tail
_MAX_STEP = 1.0  # Fisher-scoring step cap (in log a and in b) for the first noisy iterations
_LOG_A_BOUNDS = (np.log(0.05), np.log(8.0))
_B_BOUNDS = (-8.0, 8.0)



@dataclass(frozen=True, slots=True)
class ItemParams:
    """Per-item parameters: discrimination a, difficulty b, fixed guessing c (all shape (items,))."""

    discrimination: FloatArray
    difficulty: FloatArray
    guessing: FloatArray

    def __post_init__(self) -> None:
        a = read_only(self.discrimination)
        b = read_only(self.difficulty)
        c = read_only(self.guessing)
        if a.ndim != 1 or a.shape != b.shape or a.shape != c.shape:
            raise ValueError("discrimination, difficulty and guessing must be 1-D arrays of one length")
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ValueError("item parameters must be finite")
        if np.any(a <= 0.0):
            raise ValueError("discrimination must be positive")
        if np.any((c < 0.0) | (c >= 1.0)):
            raise ValueError("guessing must lie in [0, 1)")
        object.__setattr__(self, "discrimination", a)
        object.__setattr__(self, "difficulty", b)
        object.__setattr__(self, "guessing", c)

    @classmethod
    def from_values(
        cls, *, discrimination: npt.ArrayLike, difficulty: npt.ArrayLike, guessing: npt.ArrayLike = 0.0
    ) -> ItemParams:
        """Build from any array-likes (e.g. database rows); a scalar guessing applies to every item."""
        b = np.asarray(difficulty, dtype=np.float64)
        return cls(
            discrimination=np.asarray(discrimination, dtype=np.float64),
            difficulty=b,
            guessing=np.broadcast_to(np.asarray(guessing, dtype=np.float64), b.shape),
        )

    @property
    def n_items(self) -> int:
        return int(self.discrimination.shape[0])


@dataclass(frozen=True, slots=True)
class IrtPriors:
    """Regularising priors: a normal on log a (lognormal on a) and a normal on b."""

    log_discrimination_mean: float = 0.0
    log_discrimination_sd: float = 0.5
    difficulty_mean: float = 0.0
    difficulty_sd: float = 2.0


@dataclass(frozen=True, slots=True)
class QuadratureGrid:
    """Ability grid and prior weights (summing to 1) used to integrate θ out."""

    nodes: FloatArray
    weights: FloatArray

    def __post_init__(self) -> None:
        nodes = read_only(self.nodes)
        weights = read_only(self.weights)
        if nodes.ndim != 1 or nodes.shape != weights.shape or nodes.size < 2:
            raise ValueError("nodes and weights must be 1-D arrays of one length >= 2")
        if np.any(weights < 0.0) or not np.isclose(weights.sum(), 1.0):
            raise ValueError("weights must be non-negative and sum to 1")
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "weights", weights)


def normal_grid(
    *, mean: float = 0.0, sd: float = 1.0, n_points: int = 61, bound: float = 5.0
) -> QuadratureGrid:
    """Equally spaced nodes over mean ± bound·sd with normal-density weights.

    A dense rectangular grid (rather than Gauss–Hermite) keeps EAP accurate for the
    sharply peaked posteriors of learners who answered many items.
    """
    if n_points < 2 or sd <= 0.0 or bound <= 0.0:
        raise ValueError("need n_points >= 2, sd > 0 and bound > 0")
    standard = np.linspace(-bound, bound, n_points)
    density = np.exp(-0.5 * standard**2)
    return QuadratureGrid(nodes=mean + sd * standard, weights=density / density.sum())


@dataclass(frozen=True, slots=True)
class IrtCalibration:
    """Calibrated items with approximate standard errors and fit diagnostics.

    ``marginal_log_likelihood`` is log P(responses | items) with θ integrated out (priors on the
    items excluded), evaluated at the last E-step.
    """

    items: ItemParams
    discrimination_se: FloatArray
    difficulty_se: FloatArray
    marginal_log_likelihood: float
    iterations: int
    converged: bool


@dataclass(frozen=True, slots=True)
class AbilityEstimates:
    """EAP ability (posterior mean) and its posterior standard deviation per learner."""

    theta: FloatArray
    standard_error: FloatArray


def guessing_for_options(*, n_options: npt.ArrayLike) -> FloatArray:
    """Blind-guess probability 1/k for k-option items, the fixed 3PL lower asymptote c; 0 for free response.

    Args:
        n_options: Number of options per item (scalar or array): 0 for free response or an integer >= 2;
            1 or a negative count raises ValueError.

    Returns:
        Float array (0-d for a scalar) of probabilities in [0, 0.5]: 1/k, or 0.0 where k = 0.
    """
    options = np.asarray(n_options, dtype=np.float64)
    if np.any((options < 0.0) | (options == 1.0)):
        raise ValueError("n_options must be 0 (free response) or >= 2")
    return np.where(options > 0.0, 1.0 / np.maximum(options, 1.0), 0.0)


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))  # tanh form never overflows
    return result


def probability_correct(*, items: ItemParams, theta: npt.ArrayLike) -> FloatArray:
    """P(correct) for every ability × item pair, shape (len(theta), n_items)."""
    abilities = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    z = items.discrimination[None, :] * (abilities[:, None] - items.difficulty[None, :])
    c = items.guessing[None, :]
    result: FloatArray = c + (1.0 - c) * _sigmoid(z)
    return result


def item_information(*, items: ItemParams, theta: npt.ArrayLike) -> FloatArray:
    """Fisher information of each item at each ability, shape (len(theta), n_items).

    I(θ) = a² · ((P − c) / (1 − c))² · (1 − P) / P, which is a² P (1 − P) for c = 0.
    Summing over items gives the test information; 1/sqrt(test information) is the
    asymptotic standard error of an ability estimate.
    """
    p = probability_correct(items=items, theta=theta)
    a = items.discrimination[None, :]
    c = items.guessing[None, :]
    result: FloatArray = a**2 * ((p - c) / (1.0 - c)) ** 2 * (1.0 - p) / p
    return result


def _response_arrays(
    responses: npt.ArrayLike, observed: npt.ArrayLike | None, n_items: int | None
) -> tuple[FloatArray, FloatArray]:
    """(correct indicator, observed indicator) as float matrices; unobserved cells are ignored."""
    values = np.asarray(responses, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError("responses must be a learners × items matrix")
    mask = ~np.isnan(values) if observed is None else np.asarray(observed, dtype=np.bool_)
    if mask.shape != values.shape:
        raise ValueError("observed must have the shape of responses")
    if n_items is not None and values.shape[1] != n_items:
        raise ValueError(f"responses have {values.shape[1]} items, parameters have {n_items}")
    seen = values[mask]
    if np.any((seen != 0.0) & (seen != 1.0)):
        raise ValueError("observed responses must be 0 or 1")
    observed_float = mask.astype(np.float64)
    correct = np.where(mask, values, 0.0)
    return correct, observed_float


def _grid_posterior(
    *, correct: FloatArray, observed: FloatArray, items: ItemParams, grid: QuadratureGrid
) -> tuple[FloatArray, FloatArray]:
    """Posterior over grid nodes per learner (learners × nodes) and each learner's log marginal likelihood."""
    p = np.clip(probability_correct(items=items, theta=grid.nodes).T, _PROB_FLOOR, 1.0 - _PROB_FLOOR)
    incorrect = observed - correct
    log_joint = correct @ np.log(p) + incorrect @ np.log1p(-p) + np.log(np.maximum(grid.weights, 1e-300))
    peak = log_joint.max(axis=1, keepdims=True)
    unnormalised = np.exp(log_joint - peak)
    total = unnormalised.sum(axis=1, keepdims=True)
    log_marginal: FloatArray = (peak + np.log(total))[:, 0]
    posterior: FloatArray = unnormalised / total
    return posterior, log_marginal


def estimate_ability_eap(
    *,
    items: ItemParams,
    responses: npt.ArrayLike,
    observed: npt.ArrayLike | None = None,
    grid: QuadratureGrid | None = None,
) -> AbilityEstimates:
    """EAP abilities for many learners at once.

    ``responses`` is learners × items (0/1; NaN or ``observed == False`` marks unanswered).
    The grid weights are the ability prior, N(0, 1) by default; a learner with no
    answers gets the prior mean and prior standard deviation.
    """
    correct, observed_float = _response_arrays(responses, observed, items.n_items)
    quadrature = grid if grid is not None else normal_grid()
    posterior, _ = _grid_posterior(correct=correct, observed=observed_float, items=items, grid=quadrature)
    mean = posterior @ quadrature.nodes
    variance = posterior @ quadrature.nodes**2 - mean**2
    return AbilityEstimates(theta=mean, standard_error=np.sqrt(np.maximum(variance, 0.0)))


def _initial_items(correct: FloatArray, observed: FloatArray, guessing: FloatArray) -> ItemParams:
    """Start at a = 1 and b from each item's proportion correct above chance."""
    answered = np.maximum(observed.sum(axis=0), 1.0)
    proportion = (correct.sum(axis=0) + 0.5) / (answered + 1.0)
    above_chance = np.clip((proportion - guessing) / (1.0 - guessing), 0.02, 0.98)
    logit = np.log(above_chance / (1.0 - above_chance))
    # σ(θ − b) averaged over θ ~ N(0, 1) ≈ σ(−b / 1.3), hence the 1.3.
    difficulty = np.clip(-1.3 * logit, -4.0, 4.0)
    return ItemParams(discrimination=np.ones_like(difficulty), difficulty=difficulty, guessing=guessing)


@dataclass(frozen=True, slots=True)
class _ScoringStep:
    items: ItemParams
    discrimination_se: FloatArray
    difficulty_se: FloatArray
    largest_change: float


def _fisher_scoring_step(
    *, expected_correct: FloatArray, expected_answered: FloatArray, items: ItemParams,
    grid: QuadratureGrid, priors: IrtPriors,
) -> _ScoringStep:
    """One penalised Fisher-scoring step on every item's (log a, b).

    ``expected_correct`` / ``expected_answered`` are the E-step counts, items × grid nodes.
    """
    a = items.discrimination
    log_a = np.log(a)
    b = items.difficulty
    c = items.guessing[:, None]
    z = a[:, None] * (grid.nodes[None, :] - b[:, None])
    s = _sigmoid(z)
    p = np.clip(c + (1.0 - c) * s, _PROB_FLOOR, 1.0 - _PROB_FLOOR)
    dp_dz = (1.0 - c) * s * (1.0 - s)
    bernoulli_var = p * (1.0 - p)
    score_z = (expected_correct - expected_answered * p) * dp_dz / bernoulli_var
    info_z = expected_answered * dp_dz**2 / bernoulli_var
    # Chain rule: ∂z/∂log a = a(θ − b) = z and ∂z/∂b = −a.
    prior_prec_a = 1.0 / priors.log_discrimination_sd**2
    prior_prec_b = 1.0 / priors.difficulty_sd**2
    grad_log_a = (score_z * z).sum(axis=1) - (log_a - priors.log_discrimination_mean) * prior_prec_a
    grad_b = -a * score_z.sum(axis=1) - (b - priors.difficulty_mean) * prior_prec_b
    info_aa = (info_z * z**2).sum(axis=1) + prior_prec_a
    info_ab = -a * (info_z * z).sum(axis=1)
    info_bb = a**2 * info_z.sum(axis=1) + prior_prec_b
    det = info_aa * info_bb - info_ab**2
    step_log_a = np.clip((info_bb * grad_log_a - info_ab * grad_b) / det, -_MAX_STEP, _MAX_STEP)
    step_b = np.clip((info_aa * grad_b - info_ab * grad_log_a) / det, -_MAX_STEP, _MAX_STEP)
    new_log_a = np.clip(log_a + step_log_a, *_LOG_A_BOUNDS)
    new_b = np.clip(b + step_b, *_B_BOUNDS)
    # Inverse complete-data information: a slight under-statement of the SE (ignores the missing θ).
    var_log_a = info_bb / det
    var_b = info_aa / det
    new_a = np.exp(new_log_a)
    change = float(max(np.max(np.abs(new_log_a - log_a)), np.max(np.abs(new_b - b))))
    return _ScoringStep(
        items=ItemParams(discrimination=new_a, difficulty=new_b, guessing=items.guessing),
        discrimination_se=new_a * np.sqrt(var_log_a),  # delta method from log a to a
        difficulty_se=np.sqrt(var_b),
        largest_change=change,
    )


def calibrate_items(
    *,
    responses: npt.ArrayLike,
    observed: npt.ArrayLike | None = None,
    guessing: npt.ArrayLike | float = 0.0,
    priors: IrtPriors | None = None,
    grid: QuadratureGrid | None = None,
    max_iterations: int = 500,
    tolerance: float = 1e-4,
    warm_start: ItemParams | None = None,
) -> IrtCalibration:
    """Fit 2PL (guessing 0) or 3PL with fixed guessing by regularised MML-EM.

    Stops when no log a or b moves by more than ``tolerance`` in an iteration. The ability scale is fixed
    by the N(0, 1) grid prior, so b is in logits of that scale (θ − b = 0 gives P = c + (1 − c) / 2).

    Args:
        responses: Learners × items matrix, 0/1 where answered; missing cells NaN or ``observed == False``.
        observed: Boolean mask of the same shape; default: the non-NaN cells of ``responses``.
        guessing: Fixed lower asymptote c in [0, 1), a scalar or one per item (see ``guessing_for_options``).
        priors: Normal priors on log a and b; default IrtPriors() (log a ~ N(0, 0.5²), b ~ N(0, 2²)).
        grid: Ability quadrature grid; default ``normal_grid()`` (61 nodes over ±5 sd of N(0, 1)).
        max_iterations: EM iteration cap (>= 1).
        tolerance: Convergence threshold on log a and b (logits).
        warm_start: Items to start from (e.g. last night's calibration; its guessing is replaced by
            ``guessing``); default a = 1 and b from each item's proportion correct.

    Returns:
        IrtCalibration: discrimination a in [0.05, 8] (per logit), difficulty b in [−8, 8] logits, the
        guessing passed in; approximate standard errors of a and b (slightly understated); the marginal
        log-likelihood in nats (<= 0); iterations run; ``converged`` False when the cap was reached.
    """
    correct, observed_float = _response_arrays(responses, observed, None)
    n_items = correct.shape[1]
    fixed_guessing = np.broadcast_to(np.asarray(guessing, dtype=np.float64), (n_items,))
    chosen_priors = priors if priors is not None else IrtPriors()
    quadrature = grid if grid is not None else normal_grid()
    items = _initial_items(correct, observed_float, fixed_guessing) if warm_start is None else ItemParams(
        discrimination=np.asarray(warm_start.discrimination, dtype=np.float64),
        difficulty=np.asarray(warm_start.difficulty, dtype=np.float64), guessing=fixed_guessing)
    if items.difficulty.shape != (n_items,):
        raise ValueError("warm_start needs one discrimination and difficulty per item")
    step = _ScoringStep(items, np.full(n_items, np.nan), np.full(n_items, np.nan), np.inf)
    log_likelihood = -np.inf
    for iteration in range(1, max_iterations + 1):
        posterior, log_marginal = _grid_posterior(
            correct=correct, observed=observed_float, items=items, grid=quadrature
        )
        log_likelihood = float(log_marginal.sum())
        # (posteriorᵀ · responses)ᵀ, not responsesᵀ · posterior: OpenBLAS takes a far slower path
        # (10× here) for a transposed left operand with a long inner dimension.
        step = _fisher_scoring_step(
            expected_correct=(posterior.T @ correct).T,
            expected_answered=(posterior.T @ observed_float).T,
            items=items,
            grid=quadrature,
            priors=chosen_priors,
        )
        items = step.items
        if step.largest_change < tolerance:
            return IrtCalibration(
                items, step.discrimination_se, step.difficulty_se, log_likelihood, iteration, True
            )
    return IrtCalibration(
        items, step.discrimination_se, step.difficulty_se, log_likelihood, max_iterations, False
    )
