"""Item exposure control for next-question selection, as computerized adaptive testing does it (pure numpy).

An item's exposure rate r_i is the share of eligible sessions (sessions whose filters admit it) that served it,
observed over a recent window. Without control, every learner in the same state is served the same few
"best" items, which both over-exposes them (their stems and keys travel) and lets them drift. Two classic
controls, combined after the candidates are ranked:

1. Sympson–Hetter admission (Sympson & Hetter 1985), with exposure parameters taken from the observed rates
   instead of a pre-calibration simulation: candidate i is admitted with probability

       K_i = clip((r_max − r_i) / (margin · r_max), 0, 1)

   i.e. always below (1 − margin)·r_max, never at or above r_max. With selection rate s_i the observed rate
   settles where r_i = s_i · K(r_i) < r_max, so no item's rate passes the bound (a proportional K = r_max / r_i
   would settle at sqrt(s_i · r_max), above it). Rates over fewer than `min_sessions` eligible sessions are
   not trusted: those items are admitted.
2. Randomesque (Kingsbury & Zara 1989): the served item is drawn uniformly among the `top_k` best admitted
   candidates, which spreads exposure among near-equivalent items even before any rate is observed.

When nothing eligible is admitted (a narrow topic whose every item is over-exposed), the ranking falls back to
every eligible candidate: a session is never refused a question by exposure control; `fallback` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ExposureConfig:
    r_max: float = 0.25  # no item served in more than a quarter of its eligible sessions
    margin: float = 0.2  # admission falls from 1 at 0.8·r_max to 0 at r_max
    top_k: int = 3  # randomesque: uniform among the 3 best admitted candidates
    min_sessions: float = 20.0  # fewer eligible sessions than this: the rate is noise, the item is admitted

    def __post_init__(self) -> None:
        if not 0.0 < self.r_max <= 1.0 or not 0.0 < self.margin <= 1.0:
            raise ValueError("need 0 < r_max <= 1 and 0 < margin <= 1")
        if self.top_k < 1 or self.min_sessions < 0.0:
            raise ValueError("need top_k >= 1 and min_sessions >= 0")


@dataclass(frozen=True, slots=True)
class ExposurePick:
    index: int
    admitted: int  # eligible candidates admitted by Sympson–Hetter this time
    fallback: bool  # nothing was admitted: chosen among every eligible candidate


def exposure_rates(*, served_sessions: npt.ArrayLike, eligible_sessions: npt.ArrayLike,
                   config: ExposureConfig) -> FloatArray:
    """r_i = served_i / eligible_i in [0, 1]; 0 where eligible_i < min_sessions (not enough to judge)."""
    served = np.asarray(served_sessions, dtype=np.float64)
    eligible = np.asarray(eligible_sessions, dtype=np.float64)
    if served.shape != eligible.shape or np.any(served < 0.0) or np.any(eligible < 0.0):
        raise ValueError("served and eligible session counts must be non-negative and aligned")
    trusted = eligible >= max(config.min_sessions, 1.0)
    rates: FloatArray = np.where(trusted, served / np.where(trusted, eligible, 1.0), 0.0)
    return np.clip(rates, 0.0, 1.0)


def admission_probability(rates: npt.ArrayLike, config: ExposureConfig) -> FloatArray:
    """Sympson–Hetter K_i from the observed rates (1 = always admitted, 0 = never)."""
    r = np.asarray(rates, dtype=np.float64)
    k: FloatArray = np.clip((config.r_max - r) / (config.margin * config.r_max), 0.0, 1.0)
    return k


def pick(*, totals: FloatArray, eligible: BoolArray, rates: FloatArray, config: ExposureConfig,
         rng: np.random.Generator) -> ExposurePick:
    """The served candidate: Sympson–Hetter admission, then uniform among the top_k admitted by total.

    Args:
        totals: The ranking score per candidate (higher = better), as selection computed it.
        eligible: Candidates selection allows (e.g. prerequisites met); at least one must be True.
        rates: Observed exposure rate per candidate, in [0, 1] (see `exposure_rates`).
        config: The bound r_max, admission margin, top_k and trust threshold.
        rng: Two uniform draws per candidate (admission, tie order) and one integer (the randomesque draw).
    """
    if not (totals.shape == eligible.shape == rates.shape) or totals.ndim != 1 or not eligible.any():
        raise ValueError("totals, eligible and rates must be aligned 1-D arrays with an eligible candidate")
    admitted = eligible & (rng.random(totals.shape[0]) < admission_probability(rates, config))
    fallback = not bool(admitted.any())
    pool = eligible if fallback else admitted
    # Exact ties are ordered by a random key, never by position (as select_next_question breaks them).
    ranked: FloatArray = np.where(pool, totals, -np.inf)
    order = np.lexsort(np.stack([rng.random(totals.shape[0]), -ranked]))
    best = order[:min(config.top_k, int(pool.sum()))]
    return ExposurePick(index=int(best[rng.integers(best.size)]), admitted=int(admitted.sum()), fallback=fallback)
