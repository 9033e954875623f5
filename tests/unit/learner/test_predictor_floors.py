"""The nightly guessing floors per format (learner/predictor_floors.py): a seeded log with known floors."""

from __future__ import annotations

import numpy as np
import pytest

from smartpractice.learner.predictor_floors import (
    MULTIPLE_CHOICE,
    OPEN,
    fit_floor,
    fit_weights_and_floors,
    format_group,
)

TRUE_WEIGHTS = np.array([0.4, 1.3, 0.3, -0.4, 0.1, -0.15, -0.35, -0.5])


def _log(n: int, *, floors: tuple[float, float], seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n answers, 35 % open, P = c_g + (1 − c_g) σ(w · x) with the true weights and the format's floor c_g."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(0, 1.2, n), rng.exponential(1.0, n), rng.exponential(1.0, n),
                         rng.exponential(2.0, n), rng.exponential(1.5, n), np.log(rng.integers(1, 4, n)),
                         (rng.random(n) < 0.2).astype(np.float64)])
    group = np.where(rng.random(n) < 0.35, OPEN, MULTIPLE_CHOICE)
    c = np.asarray(floors)[group]
    y = (rng.random(n) < c + (1 - c) / (1 + np.exp(-(x @ TRUE_WEIGHTS)))).astype(np.int8)
    return x, y, group


def test_a_large_log_recovers_the_floors_and_the_weights() -> None:
    # learners guess 0.15 on multiple choice (default 0.25) and 0.10 on open answers (default 0)
    x, y, group = _log(40_000, floors=(0.15, 0.10))
    fit = fit_weights_and_floors(features=x, correct=y, group=group, centre=[0.25, 0.0])
    mc, open_ = fit.floors
    assert mc == pytest.approx(0.1448, abs=0.002)
    assert open_ == pytest.approx(0.0941, abs=0.002)
    assert np.abs(fit.weights.as_array() - TRUE_WEIGHTS).max() < 0.06
    assert fit.rounds < 30


def test_the_prior_holds_a_young_log_near_the_defaults() -> None:
    # 300 answers: the floors move toward the truth but stay nearer their defaults than on 40 000
    x, y, group = _log(300, floors=(0.15, 0.10))
    mc, open_ = fit_weights_and_floors(features=x, correct=y, group=group, centre=[0.25, 0.0]).floors
    assert mc == pytest.approx(0.1666, abs=0.002)
    assert open_ == pytest.approx(0.0636, abs=0.002)


def test_default_floors_are_kept_when_the_answers_agree_with_them() -> None:
    x, y, group = _log(40_000, floors=(0.25, 0.0))
    mc, open_ = fit_weights_and_floors(features=x, correct=y, group=group, centre=[0.25, 0.0]).floors
    assert mc is not None and open_ is not None
    assert abs(mc - 0.25) < 0.02 and open_ < 0.02


def test_a_format_without_answers_has_no_floor() -> None:
    x, y, _ = _log(2_000, floors=(0.2, 0.0))
    fit = fit_weights_and_floors(features=x, correct=y, group=np.zeros(y.size, dtype=np.int64), centre=[0.25, 0.0])
    assert fit.floors[OPEN] is None and fit.floors[MULTIPLE_CHOICE] is not None


def test_the_floor_stays_in_its_range_and_the_prior_alone_gives_its_centre() -> None:
    s = np.full(1_000, 0.2)
    assert fit_floor(s=s, correct=np.ones(1_000), centre=0.25) == pytest.approx(0.5, abs=1e-5)  # capped below 0.5
    assert fit_floor(s=s, correct=np.zeros(1_000), centre=0.25) == 0.0
    assert fit_floor(s=np.empty(0), correct=np.empty(0), centre=0.25) == pytest.approx(0.25, abs=1e-5)
    with pytest.raises(ValueError):
        fit_floor(s=s, correct=np.ones(1_000), centre=0.6)


def test_formats() -> None:
    assert [format_group(n) for n in (4, 5, 2, 1, 0, None)] == [MULTIPLE_CHOICE] * 3 + [OPEN] * 3
