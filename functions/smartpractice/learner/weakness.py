"""Per-skill and per-question weakness for selection: P(a skill is below the mastery bar), the learning-curve
shift by relative practice, and the question's sum over its skills (pure numpy)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartpractice.learner.arrays import row_sums
from smartpractice.learner.irt import FloatArray


def probability_below(*, estimates: npt.ArrayLike, answers: npt.ArrayLike, target: float,
                      precision_per_answer: float = 0.2) -> FloatArray:
    """P(the true value is below `target`), element-wise, for per-skill estimates in logits.

    Each estimate is read as a normal posterior with a prior sd of one logit whose precision grows by
    `precision_per_answer` per answer on the skill; Φ(x) ≈ σ(1.702 x) keeps it numpy-only.

    Args:
        estimates: Per-skill estimates in logits (e.g. the predictor's calibrated logit of success on a typical
            question of the skill alone); broadcast with `answers`.
        answers: Answers behind each estimate (counts >= 0).
        target: The mastery bar, in the estimates' logits.
        precision_per_answer: Posterior precision gained per answer, in units of the prior precision.

    Returns:
        Float array of probabilities in (0, 1): 0.5 at the bar, → 1 below it, sharper with more answers.
    """
    counts = np.asarray(answers, dtype=np.float64)
    if np.any(counts < 0.0) or precision_per_answer < 0.0:
        raise ValueError("answers and precision_per_answer must be non-negative")
    z = (target - np.asarray(estimates, dtype=np.float64)) * np.sqrt(1.0 + precision_per_answer * counts)
    result: FloatArray = 1.0 / (1.0 + np.exp(-1.702 * z))
    return result


def practice_adjusted(*, estimates: npt.ArrayLike, answers: npt.ArrayLike, gain_per_answer: float,
                      cap: float) -> FloatArray:
    """Per-skill estimates shifted by the learner's relative practice: + gain · (n_k − mean n), within ±cap.

    Practice raises a skill (the learning curve), and where the answers cannot tell a learner's skills apart
    (a two-skill answer moves both skills' deviations alike), the skill practised less is the likelier to be
    still below the bar. The mean is over the skills with at least one answer, so a never-practised skill sits
    below a practised one and practised skills are compared among themselves, whatever the pool's size; the
    cap keeps the shift below what a skill's own answers can show.

    Args:
        estimates: Per-skill estimates in logits.
        answers: Answers behind each estimate (counts >= 0), aligned with `estimates`.
        gain_per_answer: Logits per answer above or below the mean (>= 0).
        cap: Largest shift either way, in logits (>= 0).

    Returns:
        Float array of shifted estimates (the input when no skill has an answer).
    """
    values = np.asarray(estimates, dtype=np.float64)
    counts = np.asarray(answers, dtype=np.float64)
    if values.shape != counts.shape or np.any(counts < 0.0) or gain_per_answer < 0.0 or cap < 0.0:
        raise ValueError("aligned estimates and answers, with answers, gain and cap non-negative")
    practised = counts > 0.0
    if not practised.any():
        return values.copy()
    shift = np.clip(gain_per_answer * (counts - counts[practised].mean()), -cap, cap)
    result: FloatArray = values + shift
    return result


def question_weakness(*, per_skill: npt.ArrayLike, present: npt.ArrayLike) -> FloatArray:
    """Σ_k P(skill k not mastered) over a question's skills / the widest question's skill count, in [0, 1].

    `per_skill` and `present` are (questions, widest) grids, padding marked False in `present`. The sum (not
    the mean): a question practising two unmastered skills teaches both, so it delivers twice the practice.
    """
    grid = np.asarray(per_skill, dtype=np.float64)
    mask = np.asarray(present, dtype=bool)
    if grid.ndim != 2 or grid.shape != mask.shape:
        raise ValueError("per_skill and present must be aligned (questions, skills) grids")
    result: FloatArray = np.clip(row_sums(np.where(mask, grid, 0.0)) / max(grid.shape[1], 1), 0.0, 1.0)
    return result
