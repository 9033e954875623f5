"""Bayesian Knowledge Tracing (BKT) with forgetting, one hidden state per learner × skill (seed 000).

Model, per learner and skill, with hidden state L_t ∈ {unknown, known} at opportunity t:

    P(L_0 = known)                 = p_init
    P(correct | known)             = 1 - p_slip
    P(correct | unknown)           = p_guess
    after each opportunity:  unknown -> known with p_learn,  known -> unknown with p_forget

One answer is processed as  posterior (Bayes on the observation)  ->  transition (learn / forget).
`update_known` returns P(known) at the NEXT opportunity, which is what `mastery_probability` stores.

Multi-skill questions (decided): a *conjunctive* ("noisy-AND") model.  A question tagged with skills
k = 1..K is answered correctly only if every skill is applied correctly; skill k is applied correctly
with c_k = p_k (1 - s_k) + (1 - p_k) g_k, independently given the per-skill states, so

    P(correct) = C = Π_k c_k .

Exact marginal posteriors under this model (C_{-k} = Π_{j≠k} c_j, the other skills' current estimates):

    correct:    P(L_k | correct) = p_k (1 - s_k) C_{-k} / C              = p_k (1 - s_k) / c_k
    incorrect:  P(L_k | wrong)   = p_k (1 - (1 - s_k) C_{-k}) / (1 - C)

so a wrong answer is blamed mostly on the skill least likely to be known (credit assignment), and with
K = 1 both formulas reduce to standard BKT.  The joint posterior after a wrong answer is no longer a
product; we keep its exact marginals (assumed-density filtering), which is what per-skill rows can store.
Updating each skill "as if alone" would instead double-count one wrong answer against every skill.

Time-based forgetting between sessions (`forget_over_time`) is the same two-state chain run with no
learning for `elapsed_days` steps of a daily forget rate: p · (1 - daily_forget) ** elapsed_days, which
composes exactly (Δ1 then Δ2 equals Δ1 + Δ2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartpractice.errors import FieldError
from smartpractice.learner.arrays import read_only

FloatArray = NDArray[np.float64]

PROBABILITY_FIELDS: tuple[str, ...] = ("p_init", "p_learn", "p_guess", "p_slip", "p_forget")


class ParamsValidationError(ValueError):
    """Raised with every field error found at once (never just the first)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


def probability_errors(values: Mapping[str, object]) -> list[FieldError]:
    """Errors for every entry that is not a finite real number in [0, 1]."""
    errors: list[FieldError] = []
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(FieldError(name, f"must be a number, got {type(value).__name__}"))
        elif not math.isfinite(value) or not 0.0 <= value <= 1.0:
            errors.append(FieldError(name, f"must be a probability in [0, 1], got {value!r}"))
    return errors


@dataclass(frozen=True, slots=True)
class BKTParams:
    """Per-skill BKT parameters; construction validates and reports all errors together."""

    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    p_forget: float = 0.0

    def __post_init__(self) -> None:
        values = {name: getattr(self, name) for name in PROBABILITY_FIELDS}
        errors = probability_errors(values)
        bad = {e.field for e in errors}
        # guess + slip >= 1 would make a correct answer evidence AGAINST knowing the skill.
        if not bad & {"p_guess", "p_slip"} and self.p_guess + self.p_slip >= 1.0:
            errors.append(FieldError("p_guess+p_slip", f"must be < 1, got {self.p_guess + self.p_slip!r}"))
        if errors:
            raise ParamsValidationError(errors)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> BKTParams:
        """Build from a DB row / JSON object; missing, unknown and invalid fields are reported together."""
        errors = [FieldError(name, "is required") for name in PROBABILITY_FIELDS[:4] if name not in values]
        errors += [FieldError(str(name), "is not a BKT parameter") for name in values
                   if name not in PROBABILITY_FIELDS]
        present = {name: values[name] for name in PROBABILITY_FIELDS if name in values}
        errors += probability_errors(present)
        if errors:
            raise ParamsValidationError(errors)
        return cls(**{name: float(value) for name, value in present.items()})  # type: ignore[arg-type]


# The one default, for a skill without a bkt_params row: equal to that table's column defaults
# (supabase/migrations/*_knowledge_state.sql), which a new row gets.
DEFAULT_BKT_PARAMS = BKTParams(p_init=0.2, p_learn=0.15, p_guess=0.2, p_slip=0.1, p_forget=0.0)


@dataclass(frozen=True, slots=True)
class BKTParamArrays:
    """Parameters of several skills as read-only arrays of shape (n_skills,), for vectorised math."""

    p_init: FloatArray
    p_learn: FloatArray
    p_guess: FloatArray
    p_slip: FloatArray
    p_forget: FloatArray

    def __post_init__(self) -> None:
        arrays = {name: read_only(getattr(self, name)) for name in PROBABILITY_FIELDS}
        if len({a.shape for a in arrays.values()}) != 1 or arrays["p_init"].ndim != 1:
            raise ValueError("all BKT parameter arrays must be 1-D with the same length")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    @classmethod
    def stack(cls, params: Sequence[BKTParams]) -> BKTParamArrays:
        return cls(**{name: np.array([getattr(p, name) for p in params]) for name in PROBABILITY_FIELDS})

    def at(self, index: int) -> BKTParams:
        return BKTParams(**{name: float(getattr(self, name)[index]) for name in PROBABILITY_FIELDS})

    def __len__(self) -> int:
        return int(self.p_init.shape[0])


# --- core formulas on arrays (scalars go through the same code) -----------------------------------


def _p_correct(p_known: FloatArray, guess: FloatArray, slip: FloatArray) -> FloatArray:
    return p_known * (1.0 - slip) + (1.0 - p_known) * guess


def _safe_ratio(numerator: FloatArray, denominator: FloatArray, fallback: FloatArray) -> FloatArray:
    # A zero denominator means the observation is impossible under the parameters: keep the prior.
    positive = denominator > 0.0
    ratio = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=positive)
    return np.clip(np.where(positive, ratio, fallback), 0.0, 1.0)


def _posterior(
    p_known: FloatArray, is_correct: NDArray[np.bool_], guess: FloatArray, slip: FloatArray
) -> FloatArray:
    like_known = np.where(is_correct, 1.0 - slip, slip)
    like_unknown = np.where(is_correct, guess, 1.0 - guess)
    numerator = p_known * like_known
    return _safe_ratio(numerator, numerator + (1.0 - p_known) * like_unknown, p_known)


def _transition(p_known: FloatArray, learn: FloatArray, forget: FloatArray) -> FloatArray:
    return p_known * (1.0 - forget) + (1.0 - p_known) * learn


def _scalar(value: float) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def _as_probabilities(p_known: ArrayLike) -> FloatArray:
    array = np.asarray(p_known, dtype=np.float64)
    if np.any(~np.isfinite(array)) or np.any((array < 0.0) | (array > 1.0)):
        raise ValueError("p_known must hold probabilities in [0, 1]")
    return array


# --- single skill, scalar --------------------------------------------------------------------------


def predict_correct(*, p_known: float, params: BKTParams) -> float:
    """P(correct) at this opportunity: p (1 - slip) + (1 - p) guess."""
    p = _as_probabilities(p_known)
    return float(_p_correct(p, _scalar(params.p_guess), _scalar(params.p_slip)))


def posterior_known(*, p_known: float, is_correct: bool, params: BKTParams) -> float:
    """P(known | this answer), before the learn/forget transition."""
    p = _as_probabilities(p_known)
    correct = np.asarray(is_correct, dtype=np.bool_)
    return float(_posterior(p, correct, _scalar(params.p_guess), _scalar(params.p_slip)))


def apply_transition(*, p_known: float, params: BKTParams) -> float:
    """One opportunity's learn/forget step: p (1 - forget) + (1 - p) learn."""
    p = _as_probabilities(p_known)
    return float(_transition(p, _scalar(params.p_learn), _scalar(params.p_forget)))


def update_known(*, p_known: float, is_correct: bool, params: BKTParams) -> float:
    """P(known) at the next opportunity after observing this answer (posterior, then transition)."""
    posterior = posterior_known(p_known=p_known, is_correct=is_correct, params=params)
    return apply_transition(p_known=posterior, params=params)


# --- independent skills, vectorised ----------------------------------------------------------------


def predict_correct_array(*, p_known: ArrayLike, params: BKTParamArrays) -> FloatArray:
    """Element-wise P(correct); p_known has shape (..., n_skills) matching params."""
    return _p_correct(_as_probabilities(p_known), params.p_guess, params.p_slip)


def update_known_array(*, p_known: ArrayLike, is_correct: ArrayLike, params: BKTParamArrays) -> FloatArray:
    """Element-wise `update_known`: one separate observation per (..., skill) entry."""
    posterior = _posterior(
        _as_probabilities(p_known), np.asarray(is_correct, dtype=np.bool_), params.p_guess, params.p_slip
    )
    return _transition(posterior, params.p_learn, params.p_forget)


# --- one question over several skills (conjunctive) -------------------------------------------------


def _leave_one_out_product(values: FloatArray) -> FloatArray:
    """Π_{j≠k} values_j along the last axis, without dividing (values may be 0)."""
    ones = np.ones_like(values[..., :1])
    before = np.cumprod(np.concatenate([ones, values[..., :-1]], axis=-1), axis=-1)
    reversed_tail = np.flip(values[..., 1:], axis=-1)
    after = np.flip(np.cumprod(np.concatenate([ones, reversed_tail], axis=-1), axis=-1), axis=-1)
    return before * after


def predict_correct_conjunctive(*, p_known: ArrayLike, params: BKTParamArrays) -> FloatArray:
    """P(correct) of a question needing every skill on the last axis: Π_k c_k.  Shape (...)."""
    per_skill = _p_correct(_as_probabilities(p_known), params.p_guess, params.p_slip)
    return np.asarray(np.prod(per_skill, axis=-1), dtype=np.float64)


def posterior_known_conjunctive(
    *, p_known: ArrayLike, is_correct: ArrayLike, params: BKTParamArrays
) -> FloatArray:
    """Exact per-skill marginal posteriors after one answer to a conjunctive multi-skill question.

    p_known: (..., K) current P(known) of the question's K skills; is_correct: shape (...).
    """
    p = _as_probabilities(p_known)
    correct = np.asarray(is_correct, dtype=np.bool_)[..., np.newaxis]
    per_skill = _p_correct(p, params.p_guess, params.p_slip)
    others = _leave_one_out_product(per_skill)
    everything = np.prod(per_skill, axis=-1, keepdims=True)
    known_and_applied = p * (1.0 - params.p_slip) * others  # P(L_k, correct)
    numerator = np.where(correct, known_and_applied, p - known_and_applied)
    denominator = np.where(correct, everything, 1.0 - everything)
    return _safe_ratio(numerator, np.broadcast_to(denominator, numerator.shape), p)


def update_known_conjunctive(
    *, p_known: ArrayLike, is_correct: ArrayLike, params: BKTParamArrays
) -> FloatArray:
    """Conjunctive posterior, then each skill's learn/forget transition: P(known) at the next opportunity."""
    posterior = posterior_known_conjunctive(p_known=p_known, is_correct=is_correct, params=params)
    return _transition(posterior, params.p_learn, params.p_forget)


def update_known_conjunctive_floats(*, p_known: Sequence[float], is_correct: bool,
                                    params: Sequence[BKTParams]) -> list[float]:
    """`update_known_conjunctive` for one question's few skills, in plain floats: the same IEEE operations in
    the same order (sequential products, as numpy's cumprod and multiply.reduce take them), so the same values,
    without numpy's per-call overhead on arrays of two or three entries. `p_known` and `params` are aligned."""
    if len(p_known) != len(params) or not p_known:
        raise ValueError("p_known and params need one entry per skill of the question")
    if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in p_known):
        raise ValueError("p_known must hold probabilities in [0, 1]")
    applied = [p * (1.0 - q.p_slip) + (1.0 - p) * q.p_guess for p, q in zip(p_known, params, strict=True)]
    before = []
    running = 1.0
    for value in applied:
        before.append(running)
        running = running * value
    after = [1.0] * len(applied)
    running = 1.0
    for k in range(len(applied) - 1, -1, -1):
        after[k] = running
        running = running * applied[k]
    everything = applied[0]
    for value in applied[1:]:
        everything = everything * value
    denominator = everything if is_correct else 1.0 - everything
    result = []
    for p, q, left, right in zip(p_known, params, before, after, strict=True):
        known_and_applied = p * (1.0 - q.p_slip) * (left * right)  # P(L_k, correct)
        numerator = known_and_applied if is_correct else p - known_and_applied
        # A zero denominator means the observation is impossible under the parameters: keep the prior.
        posterior = numerator / denominator if denominator > 0.0 else p
        posterior = 0.0 if posterior < 0.0 else 1.0 if posterior > 1.0 else posterior
        result.append(posterior * (1.0 - q.p_forget) + (1.0 - posterior) * q.p_learn)
    return result


# --- forgetting over calendar time ------------------------------------------------------------------


def forget_over_time(*, p_known: ArrayLike, elapsed_days: ArrayLike, daily_forget: float) -> FloatArray:
    """P(known) after `elapsed_days` without practice: p · (1 - daily_forget) ** elapsed_days.

    The closed form of the BKT chain with p_learn = 0 stepped once per day; fractional days interpolate
    and the result composes over consecutive gaps.  Negative gaps (clock skew) count as zero.
    """
    if not 0.0 <= daily_forget < 1.0:
        raise ValueError(f"daily_forget must be in [0, 1), got {daily_forget!r}")
    days = np.maximum(np.asarray(elapsed_days, dtype=np.float64), 0.0)
    return _as_probabilities(p_known) * (1.0 - daily_forget) ** days
