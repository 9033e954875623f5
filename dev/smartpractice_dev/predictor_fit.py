"""Nightly fits for `predictor`: item difficulties (sparse Rasch/IRT) and the calibration weights (pure).

- `calibrate_rasch`: joint maximum a posteriori Rasch fit, P = σ(θ_u − b_q), on long-format answers with
  Gaussian priors (θ ~ N(0, σ_θ²), b ~ N(0, σ_b²)), by alternating Newton steps (sparse: one pass over
  the answers per step via bincount). Its b is the starting point of the online difficulties; per-skill means
  of b seed questions never answered yet (a new bank starts from its skills, not from 0).
- `fit_weights`: logistic regression with a fixed guessing floor, P = c + (1 − c) σ(w · x), by Fisher
  scoring with a small ridge, on features replayed from training answers (predicted before each answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray
from smartpractice_dev.predictor import N_FEATURES, Weights

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RaschFit:
    theta: FloatArray  # (n_learners,) logits
    difficulty: FloatArray  # (n_items,) logits; items without answers stay at the prior mean 0
    iterations: int


def _sigmoid(x: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return result


def calibrate_rasch(*, learner: IntArray, item: IntArray, correct: npt.ArrayLike, n_learners: int, n_items: int,
                    sd_theta: float = 1.0, sd_difficulty: float = 1.5, max_iter: int = 50,
                    tol: float = 1e-4) -> RaschFit:
    """Joint MAP Rasch fit; indices are 0-based, one entry per answer.

    Args:
        learner, item: Answer → learner index in [0, n_learners), item index in [0, n_items).
        correct: 0/1 per answer.
        sd_theta, sd_difficulty: Prior standard deviations (logits); they keep rare learners and items near 0.
        max_iter, tol: Stop after max_iter rounds or when no parameter moves more than tol.

    Returns:
        RaschFit with θ per learner and b per item, in logits.
    """
    y = np.asarray(correct, dtype=np.float64)
    if not (learner.shape == item.shape == y.shape) or learner.ndim != 1:
        raise ValueError("learner, item and correct need one entry per answer")
    if learner.size and (learner.min() < 0 or learner.max() >= n_learners or item.min() < 0
                         or item.max() >= n_items):
        raise ValueError("indices out of range")
    if not (np.all((y == 0.0) | (y == 1.0))):
        raise ValueError("correct must be 0 or 1")
    theta = np.zeros(n_learners)
    b = np.zeros(n_items)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        p = _sigmoid(theta[learner] - b[item])
        w = p * (1.0 - p)
        step_t = (np.bincount(learner, y - p, n_learners) - theta / sd_theta**2) / (
            np.bincount(learner, w, n_learners) + 1.0 / sd_theta**2)
        theta = theta + np.clip(step_t, -1.0, 1.0)
        p = _sigmoid(theta[learner] - b[item])
        w = p * (1.0 - p)
        step_b = (np.bincount(item, p - y, n_items) - b / sd_difficulty**2) / (
            np.bincount(item, w, n_items) + 1.0 / sd_difficulty**2)
        b = b + np.clip(step_b, -1.0, 1.0)
        if max(float(np.abs(step_t).max(initial=0.0)), float(np.abs(step_b).max(initial=0.0))) < tol:
            break
    return RaschFit(theta=theta, difficulty=b, iterations=iterations)


def fit_weights(*, features: FloatArray, correct: npt.ArrayLike, floor: npt.ArrayLike | float = 0.0,
                ridge: float = 1e-3, max_iter: int = 30, tol: float = 1e-7) -> Weights:
    """Weights of P = c + (1 − c) σ(w · x) maximising the likelihood (Fisher scoring, ridge on w except bias).

    Args:
        features: (n, N_FEATURES) rows from `predictor.features`, each computed before its answer.
        correct: 0/1 per row.
        floor: The guessing floor c per row (or one value), in [0, 1).
        ridge: L2 penalty per answer on the non-bias weights (keeps collinear counts finite).

    Returns:
        Weights; starts from the plain model (bias 0, z weight 1).
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    c = np.broadcast_to(np.asarray(floor, dtype=np.float64), y.shape)
    if x.ndim != 2 or x.shape != (y.size, N_FEATURES):
        raise ValueError(f"features must be (n, {N_FEATURES}) aligned with correct")
    if y.size == 0:
        raise ValueError("no answers to fit on")
    w = Weights().as_array()
    penalty = np.full(N_FEATURES, ridge * y.size)
    penalty[0] = 0.0
    for _ in range(max_iter):
        s = _sigmoid(x @ w)
        p = np.clip(c + (1.0 - c) * s, 1e-9, 1.0 - 1e-9)
        ds = (1.0 - c) * s * (1.0 - s)  # dP/d(w·x)
        gradient = x.T @ ((y - p) / (p * (1.0 - p)) * ds) - penalty * w
        fisher = (x * (ds**2 / (p * (1.0 - p)))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(N_FEATURES)
        step = np.linalg.solve(fisher, gradient)
        w = w + step
        if float(np.abs(step).max()) < tol:
            break
    return Weights(values=tuple(float(v) for v in w))
