"""The nightly weight fit's replay starts each answer from its item's b without its own outcome."""

from __future__ import annotations

import numpy as np
import pytest

from smartpractice.learner import predictor
from smartpractice.learner.predictor_fit import calibrate_rasch, leave_one_out_shift, replay


def _rasch_problem() -> tuple[np.typing.NDArray[np.int64], np.typing.NDArray[np.int64], np.typing.NDArray[np.int64]]:
    rng = np.random.default_rng(5)
    n_learners, n_items = 40, 6
    learner = np.repeat(np.arange(n_learners), n_items)
    item = np.tile(np.arange(n_items), n_learners)
    theta, b = rng.normal(0.0, 1.0, n_learners), rng.normal(0.0, 1.0, n_items)
    y = (rng.random(learner.size) < 1.0 / (1.0 + np.exp(-(theta[learner] - b[item])))).astype(np.int64)
    return learner, item, y


def test_the_shift_is_close_to_refitting_without_the_answer() -> None:
    learner, item, y = _rasch_problem()
    fit = calibrate_rasch(learner=learner, item=item, correct=y, n_learners=40, n_items=6, max_iter=200, tol=1e-10)
    shift = leave_one_out_shift(fit=fit, learner=learner, item=item, correct=y)
    # a right answer made its item look easier: without it b is higher (and lower without a wrong one)
    assert np.all(np.sign(shift) == np.where(y == 1, 1.0, -1.0))
    for i, pinned in ((0, -0.029655177317196756), (100, 0.05192814799301172)):
        keep = np.arange(learner.size) != i
        refit = calibrate_rasch(learner=learner[keep], item=item[keep], correct=y[keep], n_learners=40, n_items=6,
                                max_iter=200, tol=1e-10)
        exact = refit.difficulty[item[i]] - fit.difficulty[item[i]]
        assert shift[i] == pytest.approx(pinned, abs=1e-12)
        # one Newton step with θ held: within 15 % of the refit (answer 0: −0.0297 vs −0.0324; 100: 0.0519 vs 0.0573)
        assert shift[i] == pytest.approx(exact, rel=0.15)


def test_a_start_shift_moves_only_its_answer_s_item_difficulty() -> None:
    learner = np.array([0, 1, 0], dtype=np.int64)
    item = np.array([0, 0, 1], dtype=np.int64)
    y = np.array([1, 0, 1], dtype=np.int64)
    common = {"learner": learner, "item": item, "skills": [(1,), (1,), (2,)], "correct": y, "floor": 0.0,
              "difficulty": np.array([0.2, -0.4]), "weights": predictor.Weights()}
    plain = replay(**common)  # type: ignore[arg-type]
    shifted = replay(**common, start_shift=np.array([0.5, 0.0, 0.0]))  # type: ignore[arg-type]
    # answer 0 is predicted at b = 0.2 + 0.5 (z lower by 0.5) and steps from there; answer 1 sees b = 0.2 plus
    # that step, not plus the shift
    assert shifted.features[0][1] == pytest.approx(plain.features[0][1] - 0.5, abs=1e-12)
    step = predictor.update(learner=predictor.LearnerGlobal(), skills=[predictor.SkillDeviation()],
                            item=predictor.ItemDifficulty(0.7), is_correct=True, weights=predictor.Weights()).item_delta
    assert shifted.features[1][1] == pytest.approx(-(0.2 + step), abs=1e-12)
    with pytest.raises(ValueError, match="start_shift"):
        replay(**common, start_shift=np.zeros(2))  # type: ignore[arg-type]
