"""The demo's offline nightly emulation (smartpractice_dev.demo.nightly_replay)."""

from __future__ import annotations

import numpy as np

from smartpractice.learner import predictor
from smartpractice.learner.irt import FloatArray
from smartpractice_dev.demo import nightly_replay as nightly
from smartpractice_dev.demo.calibration_audit import Events


def _sigmoid(x: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return result


def _answers(n: int, *, seed: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rows [1, z, 0...] answered with guess 0.15 on EVERY format (as the demo's simulator); half four-option."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    features = np.zeros((n, predictor.N_FEATURES))
    features[:, 0], features[:, 1] = 1.0, z
    y = (rng.random(n) < 0.15 + 0.85 * _sigmoid(z)).astype(np.float64)
    option_floor = np.where(np.arange(n) % 2 == 0, 0.25, 0.0)
    return features, y, option_floor


def test_the_fitted_floors_find_one_guess_rate_where_1_over_options_assumes_two() -> None:
    features, y, option_floor = _answers(8000, seed=3)
    weights, pair = nightly.fit(features, y, option_floor=option_floor, fitted_floors=True)
    assert pair is not None
    assert abs(pair[0] - 0.15) <= 0.075 and abs(pair[1] - 0.15) <= 0.075  # truth 0.15 on both formats
    fixed, none = nightly.fit(features, y, option_floor=option_floor, fitted_floors=False)
    assert none is None
    choice = option_floor > 0.0
    p_fixed = nightly.served(features, fixed, option_floor)
    p_fitted = nightly.served(features, weights, np.where(choice, *pair))
    truth = 0.15 + 0.85 * _sigmoid(features[:, 1])
    # 1/options: multiple choice over-predicted by 0.080, open under-predicted by 0.033 (seeded); the fitted
    # floors leave -0.004 / -0.016 (the sample's outcome noise against the truth)
    assert np.mean(truth[choice] - p_fixed[choice]) < -0.06
    assert np.mean(truth[~choice] - p_fixed[~choice]) > 0.02
    assert abs(np.mean(truth[choice] - p_fitted[choice])) < 0.02
    assert abs(np.mean(truth[~choice] - p_fitted[~choice])) < 0.02


def test_each_day_is_predicted_by_the_weights_of_the_days_before_and_day_0_by_none() -> None:
    features, y, option_floor = _answers(900, seed=4)
    day = np.repeat(np.arange(3), 300)
    events = Events(learner=np.arange(900) % 30, group=np.array(["adaptive"] * 900), day=day,
                    n_skills=np.ones(900, dtype=np.int64), predicted=np.full(900, 0.5),
                    true_p=0.15 + 0.85 * _sigmoid(features[:, 1]), correct=y, answer_index=np.arange(900) // 30)
    p, nights = nightly.next_day(events=events, features=features, option_floor=option_floor,
                                 fitted_floors=False)
    assert nights == []
    assert np.isnan(p[day == 0]).all() and np.isfinite(p[day >= 1]).all()
    weights, _ = nightly.fit(features[day == 0], y[day == 0], option_floor=option_floor[day == 0],
                             fitted_floors=False)
    assert np.allclose(p[day == 1], nightly.served(features[day == 1], weights, option_floor[day == 1]))
    assert not np.allclose(p[day == 2], nightly.served(features[day == 2], weights, option_floor[day == 2]))
