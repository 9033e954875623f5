"""Observed exposure rates per question, for selection's exposure control (learner/exposure.py).

item_exposure (SQL) counts, over the sessions of the last 24 hours that served anything, the sessions that
served each question and the sessions per distinct filter set. A question's eligible sessions are those whose
filters admit it, judged by the same PoolFilter next_question draws its pool with. Each function instance keeps
the figures for `ttl_seconds` (60 by default, like the question bank): rates move by a session at a time, so a
minute-old rate is close enough, and the read costs one RPC per instance per minute.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from smartpractice.learner import exposure
from smartpractice.learner.exposure import ExposureConfig, exposure_rates
from smartpractice.learner.irt import FloatArray
from smartpractice.learner.selection import Picker
from smartpractice.service.candidates import CandidatePool
from smartpractice.service.question_bank import PoolFilter, QuestionBank, TtlCache

if TYPE_CHECKING:  # deps imports this module for ExposureCache
    from smartpractice.service.deps import LearnerDeps

EXPOSURE_CONFIG = ExposureConfig()


def bank_rates(bank: QuestionBank, exposure: Mapping[str, Any], config: ExposureConfig) -> FloatArray:
    """The exposure rate of every bank question (aligned with bank.question_ids)."""
    eligible = np.zeros(bank.question_ids.shape, dtype=np.float64)
    for filter_set in exposure.get("filter_sets") or []:
        where = PoolFilter.merged(session_filters=filter_set.get("filters") or {}, topic_ids=None, skill_ids=None,
                                  exam_section=None)
        eligible += float(filter_set["sessions"]) * bank.matches(where)
    served = np.zeros(bank.question_ids.shape, dtype=np.float64)
    ids = np.asarray(exposure.get("question_id") or [], dtype=np.int64)
    if ids.size and bank.question_ids.size:
        at = np.clip(np.searchsorted(bank.question_ids, ids), 0, bank.question_ids.size - 1)
        hit = bank.question_ids[at] == ids
        np.add.at(served, at[hit], np.asarray(exposure["served_sessions"], dtype=np.float64)[hit])
    return exposure_rates(served_sessions=np.minimum(served, eligible), eligible_sessions=eligible, config=config)


def pool_rates(bank: QuestionBank, rates: FloatArray, pool: CandidatePool) -> FloatArray:
    """The rates of the pool's questions (a subset of the bank's, both ascending)."""
    rates_of_pool: FloatArray = rates[np.searchsorted(bank.question_ids, pool.question_ids)]
    return rates_of_pool


ExposureCache = TtlCache[Mapping[str, Any]]
_caches: dict[tuple[str, float], ExposureCache] = {}
_caches_lock = threading.Lock()


def shared_exposure_cache(*, project_url: str, ttl_seconds: float) -> ExposureCache:
    """The process-wide figures of a project (warm function instances reuse them across requests)."""
    with _caches_lock:
        return _caches.setdefault((project_url, ttl_seconds), TtlCache(ttl_seconds=ttl_seconds))


class _LastRates:
    """The bank's rates for the last (bank, figures, config) they were computed for. The bank and the figures
    come from this instance's TTL caches, so the same two objects serve every request until one of them reloads:
    the rates are computed once per reload instead of once per request (held read-only, shared by requests)."""

    def __init__(self) -> None:
        self._last: tuple[QuestionBank, Mapping[str, Any], ExposureConfig, FloatArray] | None = None

    def rates(self, bank: QuestionBank, figures: Mapping[str, Any], config: ExposureConfig) -> FloatArray:
        last = self._last  # one read: a concurrent request may replace it, never half of it
        if last is not None and last[0] is bank and last[1] is figures and last[2] == config:
            return last[3]
        rates = bank_rates(bank, figures, config)
        rates.setflags(write=False)
        self._last = (bank, figures, config, rates)
        return rates


_LAST_RATES = _LastRates()


def exposure_picker(*, deps: LearnerDeps, bank: QuestionBank, pool: CandidatePool,
                    config: ExposureConfig = EXPOSURE_CONFIG) -> Picker | None:
    """Selection's pick with exposure control over this pool (None when the deps carry no exposure figures)."""
    if deps.exposure is None:
        return None
    figures = deps.exposure.get(deps.service.item_exposure)
    rates = pool_rates(bank, _LAST_RATES.rates(bank, figures, config), pool)

    def choose(totals: FloatArray, eligible: npt.NDArray[np.bool_]) -> int:
        return exposure.pick(totals=totals, eligible=eligible, rates=rates, config=config, rng=deps.rng).index

    return choose
