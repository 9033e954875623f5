"""Exposure control (learner/exposure.py): the admission rule, the randomesque draw, and the bound it keeps."""

from __future__ import annotations

import numpy as np
import pytest

from smartpractice.learner.exposure import ExposureConfig, admission_probability, exposure_rates, pick


def test_admission_is_one_below_the_margin_and_zero_at_the_bound() -> None:
    config = ExposureConfig(r_max=0.25, margin=0.2)
    k = admission_probability([0.0, 0.2, 0.225, 0.25, 0.9], config)
    assert k.tolist() == pytest.approx([1.0, 1.0, 0.5, 0.0, 0.0])


def test_rates_over_too_few_eligible_sessions_are_not_trusted() -> None:
    config = ExposureConfig(min_sessions=20)
    rates = exposure_rates(served_sessions=[5, 5, 0, 19], eligible_sessions=[10, 20, 0, 19], config=config)
    assert rates.tolist() == [0.0, 0.25, 0.0, 0.0]
    with pytest.raises(ValueError, match="aligned"):
        exposure_rates(served_sessions=[1, 2], eligible_sessions=[3], config=config)


def test_randomesque_draws_uniformly_among_the_top_k_admitted() -> None:
    config = ExposureConfig(top_k=3)
    totals = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.95])
    eligible = np.array([True, True, True, True, True, False])
    rates = np.zeros(6)
    rng = np.random.default_rng(7)
    counts = np.bincount([pick(totals=totals, eligible=eligible, rates=rates, config=config, rng=rng).index
                          for _ in range(3000)], minlength=6)
    assert counts[3:].tolist() == [0, 0, 0]  # never below the top 3, never an ineligible one
    assert counts[:3].min() > 900  # ~1000 each


def test_an_over_exposed_item_is_never_admitted_unless_nothing_else_is() -> None:
    config = ExposureConfig(r_max=0.25, top_k=1)
    totals = np.array([1.0, 0.5])
    eligible = np.ones(2, dtype=bool)
    rng = np.random.default_rng(1)
    chosen = {pick(totals=totals, eligible=eligible, rates=np.array([0.25, 0.0]), config=config, rng=rng).index
              for _ in range(200)}
    assert chosen == {1}
    both_over = pick(totals=totals, eligible=eligible, rates=np.array([0.3, 0.3]), config=config, rng=rng)
    assert (both_over.index, both_over.admitted, both_over.fallback) == (0, 0, True)


def test_closed_loop_the_rates_stay_under_the_bound() -> None:
    """1,000 sessions of 5 from 40 items whose ranking always prefers the same 5: without control those 5 are
    served in every session (rate 1.0); with it no item's rate passes r_max + one refresh's worth."""
    config = ExposureConfig(r_max=0.25, min_sessions=20)
    rng = np.random.default_rng(3)
    totals = np.linspace(1.0, 0.0, 40)
    served, sessions, rates = np.zeros(40), 0, np.zeros(40)
    for _ in range(1000):
        sessions += 1
        eligible = np.ones(40, dtype=bool)
        for _ in range(5):
            index = pick(totals=totals, eligible=eligible, rates=rates, config=config, rng=rng).index
            eligible[index] = False
            served[index] += 1
        if sessions % 10 == 0:  # a refreshed cache
            rates = exposure_rates(served_sessions=served, eligible_sessions=np.full(40, sessions), config=config)
    final = served / sessions
    assert final.max() <= config.r_max + 0.01
    assert final.sum() == pytest.approx(5.0)


def test_bad_configuration_and_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        ExposureConfig(r_max=0.0)
    with pytest.raises(ValueError):
        ExposureConfig(top_k=0)
    with pytest.raises(ValueError, match="eligible"):
        pick(totals=np.ones(2), eligible=np.zeros(2, dtype=bool), rates=np.zeros(2), config=ExposureConfig(),
             rng=np.random.default_rng(0))
