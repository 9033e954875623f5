"""calibrate_rasch's hierarchical prior: each item's prior mean is its seed + the mean of its skills' shifts γ_k."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from smartpractice.learner.predictor_fit import calibrate_rasch

SKILL_LEVEL = np.array([-1.5, 0.0, 1.0, 2.0])  # the true mean difficulty of each skill's items


Ints = npt.NDArray[np.int64]


def _bank(seed: int) -> tuple[Ints, Ints, npt.NDArray[np.int8], list[tuple[int, ...]], npt.NDArray[np.float64]]:
    """40 items per skill with 4 answers each (few, as most of a real bank's), then 4 unanswered items, one a skill."""
    rng = np.random.default_rng(seed)
    skills: list[tuple[int, ...]] = [(s,) for s in [*[k for k in range(4) for _ in range(40)], *range(4)]]
    b = np.array([SKILL_LEVEL[k[0]] for k in skills]) + rng.normal(0.0, 0.5, len(skills))
    n_learners = 400
    theta = rng.normal(0.0, 1.0, n_learners)
    item = np.repeat(np.arange(160), 4).astype(np.int64)
    learner = rng.integers(0, n_learners, item.size).astype(np.int64)
    y = (rng.random(item.size) < 1 / (1 + np.exp(-(theta[learner] - b[item])))).astype(np.int8)
    return learner, item, y, skills, b


def _fit(learner: Ints, item: Ints, y: npt.ArrayLike, n_items: int, *, skills: Sequence[Sequence[int]] | None = None,
         sd_skill: float | None = None, prior: npt.NDArray[np.float64] | None = None, tol: float = 1e-4,
         max_iter: int = 50) -> npt.NDArray[np.float64]:
    return calibrate_rasch(learner=learner, item=item, correct=y, n_learners=400, n_items=n_items, skills=skills,
                           sd_skill=sd_skill, prior_difficulty=prior, tol=tol, max_iter=max_iter).difficulty


def test_few_answer_items_shrink_toward_their_skills_level_and_unanswered_ones_sit_at_it() -> None:
    learner, item, y, skills, b = _bank(3)
    flat = _fit(learner, item, y, len(skills))
    fit = _fit(learner, item, y, len(skills), skills=skills)
    answered = np.arange(160)

    def rmse(est: npt.NDArray[np.float64]) -> float:  # after removing the origin, which the data do not fix
        error = (est[answered] - est[answered].mean()) - (b[answered] - b[answered].mean())
        return float(np.sqrt(np.mean(error**2)))

    assert rmse(fit) < 0.85 * rmse(flat)
    assert (round(rmse(flat), 2), round(rmse(fit), 2)) == (0.98, 0.79)  # τ by empirical Bayes
    fixed = _fit(learner, item, y, len(skills), skills=skills, sd_skill=1.0)
    assert np.round(fixed[160:], 2).tolist() == [-1.30, 0.12, 1.05, 1.46]
    # An unanswered item gets its skill's level (origin of the fit: the answered items' mean), not the prior 0.
    assert np.all(flat[160:] == 0.0)
    level = np.array([fit[40 * s:40 * s + 40].mean() for s in range(4)])
    assert np.all(np.diff(fit[160:]) > 0)
    assert np.abs(fit[160:] - level).max() < 0.15  # a little toward the origin: τ² from the flat fit's shrunk b
    assert np.round(fit[160:], 2).tolist() == [-1.21, 0.11, 0.98, 1.35]


def test_a_multi_skill_item_without_answers_gets_the_mean_of_its_skills_shifts_on_top_of_its_seed() -> None:
    learner, item, y, skills, _ = _bank(5)
    skills = [*skills, (0, 3)]
    seed = np.zeros(len(skills))
    seed[-1] = 0.5
    fit = _fit(learner, item, y, len(skills), prior=seed, skills=skills, max_iter=200, tol=1e-9)
    one_skill = fit[160:164]  # unanswered, seed 0: exactly their skill's shift
    assert fit[-1] == pytest.approx(0.5 + (one_skill[0] + one_skill[3]) / 2, abs=1e-6)


def test_no_skills_is_the_flat_prior_and_misaligned_skills_are_refused() -> None:
    learner, item, y, skills, _ = _bank(3)
    assert np.array_equal(_fit(learner, item, y, len(skills)), _fit(learner, item, y, len(skills), skills=None))
    # skills that do not differ beyond noise: τ² = 0 by empirical Bayes, the flat fit unchanged
    same = [(q % 4,) for q in range(len(skills))]
    rng = np.random.default_rng(4)
    noise = (rng.random(item.size) < 0.6).astype(np.int8)
    assert np.array_equal(_fit(learner, item, noise, len(skills), skills=same), _fit(learner, item, noise, len(skills)))
    with pytest.raises(ValueError, match="one entry per item"):
        _fit(learner, item, y, len(skills), skills=skills[:-1])
