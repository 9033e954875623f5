"""The target success band in selection: its score, the session's correction and the gate (pure numpy).

The band is about the served success RATE, a mean over the session. Two rules hold it there
(learner/selection.py applies them before scoring):

* the session controller: the pick's band is the learner's band shifted by
  ``gain · (band mid − session success so far)``, the session's rate shrunk toward the mid by
  ``prior`` answers. After misses the next pick aims easier, after a run of successes harder;
  an easy question after a hard one is legitimate, since the band bounds the session's rate,
  not each question (each pick still weighs weakness, so the easy one is on a weak skill where
  one exists). The shift is clipped so the pick's band stays inside [0, 1].
* the gate: only the ``max(gate_min, ⌈gate_share · n⌉)`` eligible candidates whose posterior
  MEAN P(correct) is nearest the pick's band stay eligible (those tied with the last one too).
  Scoring the band on a Thompson draw alone cannot hold it: of ~300 independent draws, some
  hard two-skill candidates' draws land in the band whatever the weights, and weakness then
  picks them (served success 0.43 in benchmarks/bench_selection_efficiency.py).

Measured there (3 seeds × 60 learners, README "Selection"): without either rule 0.693× random's
questions to true mastery at served success 0.43; with the gate at a quarter of the pool and
gain 2 (SelectionPolicy's defaults), 0.803× at 0.61 (0.61 on each seed); with the predictor's skill-count
weight (2026-12-07 17:50) 0.815× at 0.63; with the weakness bar at 0.75 logit (candidates.PREDICTOR_MASTERY_LOGIT,
19:50) 0.762× at 0.64; with the weakness weight 0.8 (20:05) 0.738× at 0.63. In that simulator learning
ignores difficulty and errors teach more, so the band costs speed: the README gives the frontier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray

_TIE_TOLERANCE = 1e-12


@dataclass(frozen=True, slots=True)
class SessionSuccess:
    """The session so far: questions answered and how many of them correctly."""

    answered: int
    correct: int

    def __post_init__(self) -> None:
        if not 0 <= self.correct <= self.answered:
            raise ValueError("need 0 <= correct <= answered")


def band_distance(*, p: FloatArray, low: float, high: float) -> FloatArray:
    """How far each p lies outside [low, high] (0 inside)."""
    result: FloatArray = np.maximum(low - p, 0.0) + np.maximum(p - high, 0.0)
    return result


def band_score(*, p: FloatArray, low: float, high: float, falloff: float) -> FloatArray:
    """1 inside [low, high], then linearly down to 0 at ``falloff`` outside the band."""
    result: FloatArray = np.clip(1.0 - band_distance(p=p, low=low, high=high) / falloff, 0.0, 1.0)
    return result


def session_band(*, low: float, high: float, session: SessionSuccess | None, gain: float,
                 prior: float) -> tuple[float, float]:
    """The pick's band: (low, high) + gain · (mid − (correct + prior · mid) / (answered + prior)), kept in [0, 1].

    Args:
        low: The learner's band, lower edge (probability).
        high: Its upper edge (>= low).
        session: The session so far; None (or gain 0) leaves the band as it is.
        gain: Band shift per unit of shortfall (>= 0).
        prior: Pseudo-answers at the mid that the session's rate is shrunk toward (> 0).

    Returns:
        (low, high) of the pick, both in [0, 1], high − low unchanged.
    """
    if gain < 0.0 or prior <= 0.0:
        raise ValueError("gain must be non-negative and prior positive")
    if session is None or gain == 0.0:
        return low, high
    mid = 0.5 * (low + high)
    rate = (session.correct + prior * mid) / (session.answered + prior)
    shift = min(max(gain * (mid - rate), -low), 1.0 - high)
    return low + shift, high + shift


def band_gate(*, predicted_p: FloatArray, eligible: npt.NDArray[np.bool_], low: float, high: float,
              share: float, minimum: int) -> npt.NDArray[np.bool_]:
    """The eligible candidates whose mean P is among the ``max(minimum, ⌈share · n_eligible⌉)`` nearest [low, high].

    Candidates at the same distance as the last one kept are kept too (no order dependence); share 1 keeps all.

    Args:
        predicted_p: Posterior mean P(correct) per candidate.
        eligible: Which candidates may be served (at least one True).
        low: The pick's band, lower edge.
        high: Its upper edge.
        share: Share of the eligible candidates kept, in (0, 1].
        minimum: Fewest kept (>= 1; all when fewer are eligible).

    Returns:
        Boolean mask, a subset of `eligible` with at least one True.
    """
    if not 0.0 < share <= 1.0 or minimum < 1:
        raise ValueError("share must lie in (0, 1] and minimum be >= 1")
    n_eligible = int(eligible.sum())
    keep = min(n_eligible, max(minimum, math.ceil(share * n_eligible)))
    if keep >= n_eligible:
        return eligible.copy()
    distance = np.where(eligible, band_distance(p=predicted_p, low=low, high=high), np.inf)
    threshold = np.partition(distance, keep - 1)[keep - 1]
    result: npt.NDArray[np.bool_] = eligible & (distance <= threshold + _TIE_TOLERANCE)
    return result
