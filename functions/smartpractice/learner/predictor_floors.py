"""The nightly guessing floors: one c per answer format, fitted with the weights (pure numpy).

P = c + (1 − c) σ(w · x) with a FIXED c = 1/options (0 for an open answer) was the largest systematic error in
the demo: learners guess less than 1/options on multiple-choice questions and more than 0 on open ones, so the
multiple-choice answers were over-predicted by 0.055-0.080 and the open ones under-predicted by 0.045-0.070, and
a group's ECE followed its format mix (README "Predictor", the answer format). A floor per format is fitted each
night by maximum a posteriori with the weights:

    maximise  Σ_i log P(y_i | c_{g(i)}, w) − Σ_g (c_g − μ_g)² / 2σ²      (c_g in [0, MAX_FLOOR))

μ_g the format's default (the mean of 1/options over its answers; 0 for open answers), σ = FLOOR_PRIOR_SD.
Without the prior the floors are not identified on young data (the bias and z weight absorb them: 0.30 one
night, 0.00 the next); with σ = 0.05 they moved smoothly, night to night, in the offline replay. The fit
alternates `predictor_fit.fit_weights` (floors held) with each format's floor (weights held: the penalised
log-likelihood is concave in c, so its derivative is bisected) until the floors move less than `tol`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray
from smartpractice.learner.predictor import Weights
from smartpractice.learner.predictor_fit import fit_weights

FLOOR_PRIOR_SD = 0.05  # σ of the prior around the format's default floor
MAX_FLOOR = 0.5  # a floor stays in [0, MAX_FLOOR): half the answers right by chance alone is no question


@dataclass(frozen=True, slots=True)
class FloorFit:
    weights: Weights
    floors: tuple[float | None, ...]  # per format group; None: no answers of that format (the default stays)
    rounds: int


def fit_floor(*, s: FloatArray, correct: npt.ArrayLike, centre: float, sd: float = FLOOR_PRIOR_SD,
              upper: float = MAX_FLOOR, tol: float = 1e-6) -> float:
    """The MAP floor c of P = c + (1 − c) s for one format, given each answer's σ(w · x) = s.

    d/dc [Σ log P − (c − μ)² / 2σ²] = Σ (1 − s) (y / P − (1 − y) / (1 − P)) − (c − μ) / σ², decreasing in c
    (each log P and log(1 − P) is concave in c): bisected on [0, upper).
    """
    y = np.asarray(correct, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    if s.shape != y.shape:
        raise ValueError("s and correct need one entry per answer")
    if not (0.0 <= centre < upper <= 1.0 and sd > 0.0):
        raise ValueError("need 0 <= centre < upper <= 1 and sd > 0")

    def slope(c: float) -> float:
        p = np.clip(c + (1.0 - c) * s, 1e-12, 1.0 - 1e-12)
        return float(np.sum((1.0 - s) * (y / p - (1.0 - y) / (1.0 - p)))) - (c - centre) / sd**2

    lo, hi = 0.0, upper - 1e-6
    if slope(lo) <= 0.0:
        return lo
    if slope(hi) >= 0.0:
        return hi
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) > 0.0 else (lo, mid)
    return 0.5 * (lo + hi)


def fit_weights_and_floors(*, features: FloatArray, correct: npt.ArrayLike, group: npt.ArrayLike,
                           centre: Sequence[float], sd: float = FLOOR_PRIOR_SD, upper: float = MAX_FLOOR,
                           ridge: float = 1e-3, max_rounds: int = 30, tol: float = 1e-4) -> FloorFit:
    """Weights and one floor per format group, alternately, from the floors at their prior centres.

    Args:
        features: (n, N_FEATURES) replayed rows, as `fit_weights` takes them.
        correct: 0/1 per row.
        group: The row's format group, an integer in [0, len(centre)).
        centre: The prior mean μ_g of each group's floor (its default floor).
        sd, upper: The prior's standard deviation; floors stay in [0, upper).
        ridge: `fit_weights`' ridge.
        max_rounds, tol: Stop after max_rounds or when no floor moves more than tol.
    """
    y = np.asarray(correct, dtype=np.float64)
    g = np.asarray(group, dtype=np.int64)
    mu = np.asarray(centre, dtype=np.float64)
    if g.shape != y.shape:
        raise ValueError("group needs one entry per answer")
    if g.size and (g.min() < 0 or g.max() >= mu.size):
        raise ValueError("group out of range")
    present = np.bincount(g, minlength=mu.size) > 0
    floors = mu.copy()
    weights = Weights()
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007 - the count is reported
        weights = fit_weights(features=features, correct=y, floor=floors[g], ridge=ridge)
        s = 1.0 / (1.0 + np.exp(-(np.asarray(features, dtype=np.float64) @ weights.as_array())))
        moved = floors.copy()
        for k in np.flatnonzero(present).tolist():
            rows = g == k
            moved[k] = fit_floor(s=s[rows], correct=y[rows], centre=float(mu[k]), sd=sd, upper=upper)
        change = float(np.abs(moved - floors).max(initial=0.0))
        floors = moved
        if change < tol:
            break
    weights = fit_weights(features=features, correct=y, floor=floors[g], ridge=ridge)
    fitted = tuple(float(c) if p else None for c, p in zip(floors, present, strict=True))
    return FloorFit(weights=weights, floors=fitted, rounds=rounds)


MULTIPLE_CHOICE, OPEN = 0, 1  # the format groups


def format_group(n_options: int | None) -> int:
    """A question's format group: multiple choice with 2+ options (1/options default), else open (0)."""
    return MULTIPLE_CHOICE if n_options is not None and n_options >= 2 else OPEN
