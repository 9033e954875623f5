"""Predicted exam scores and readiness from the production predictor (issue 15): the test characteristic curve.

For one exam section with questions q = 1..n (its active bank), the learner's expected proportion correct at an
ability θ' is the mean of the served predictor's P over the section's questions, every other input at its
stored value (δ_k, counts, b_q, floors c_q, the latest weights w):

    T(θ') = (1/n) Σ_q [c_q + (1 − c_q) σ(w · x_q(θ'))]             (`section_curve`, the SQL in insights_context)

and the section score is the scale's linear map of T(θ), θ the stored ability: 200 + 600 · T on 200–800, rounded
to 10. Since w_z > 0, T increases with θ', so the score is a monotone function of the ability and:

* **uncertainty of θ**: a Laplace approximation, SE = 1 / sqrt(1/σ0² + I(θ)), with the N(0, σ0² = 1) prior of
  the calibration scale and I(θ) the Fisher information about θ of the learner's answered questions (each
  distinct question once: a repeat answer moves nothing) under the served model at the stored state,
  I_q = (dP_q/dθ)² / (P_q(1 − P_q)) = w_z² (1 − c_q) s_q² (1 − s_q) / (c_q + (1 − c_q) s_q), s_q = σ(w · x_q)
  (`ability_information`). The online θ is treated as the posterior mode; δ_k, b_q and the weights as known.
* **interval** at level L: the image of θ ± z_L · SE through the curve (a monotone link), rounded outward;
* **pass probability** against a target score: P(θ_true ≥ θ_cut) = Φ((θ − θ_cut) / SE) under θ_true ~
  N(θ, SE²), θ_cut the ability whose curve value is the target;
* **total** (SAT rule, Math + Reading & Writing): the sum of the section scores; both sections rest on the same
  θ, so its interval and pass probability come from the summed curve (not from independent section errors).

The database evaluates each section's curve on a fixed grid of offsets Δ from θ (`OFFSETS`: every 0.25 logit
within ±2, then ±2.5, ±3, ±4, ±6; one JSON array per section, whatever the bank's size); between grid points the
curve is interpolated linearly (monotone, exact at Δ = 0, the reported score).

It does so per group of questions, not per question (`bucketed_section_curve`, 20261207150000): a question enters
T only through its floor c and its logit without the ability term, a = w · x(θ' = 0), so the section's questions
are grouped by (c, ⌊a / h⌋), h = `CURVE_BUCKET_WIDTH`, and each group counts n_g times at its mean logit ā_g.
Within a group the logits span ≤ h, so its mean P differs from P at ā_g by ≤ ½ max|σ''| Var(a) ≤
½ (√3/18) (h²/4) = (√3/144) h²: |T̃(θ') − T(θ')| ≤ `CURVE_TOLERANCE` ≈ 3.0e-5 at every θ', for any weights,
state and bank (0.018 points of a section score before rounding to 10: the reported score can differ from the
exact curve's only when that lies within 0.018 of a rounding boundary). `section_curve` stays the exact
reference the tests compare against. Pure numpy: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from smartpractice.learner import predictor
from smartpractice.learner.irt import FloatArray
from smartpractice.learner.readiness import ScoreScale, round_to_step, two_sided_z

ABILITY_PRIOR_SD = 1.0  # N(0, 1): the scale of the nightly Rasch calibration the abilities live on
MIN_SECTION_ANSWERS = 5  # graded answers in a section before it gets a predictor score
INTERVAL_LEVEL = 0.90
SECTION_SCALE = ScoreScale(minimum=200.0, maximum=800.0, step=10.0)
TOTAL_SCALE = ScoreScale(minimum=400.0, maximum=1600.0, step=10.0)
SAT_SECTIONS: tuple[str, ...] = ("math", "reading_writing")
_NORMAL = NormalDist()
# The Δ grid of insights_context (20261207120000_insights_predictor_scores.sql; a stack test compares the two).
OFFSETS: FloatArray = np.array([-6.0, -4.0, -3.0, -2.5, *np.arange(-8, 9) * 0.25, 2.5, 3.0, 4.0, 6.0],
                               dtype=np.float64)
# The width of the logit buckets of predictor_score_inputs (20261207150000; a unit test compares the two) and the
# bound it gives: max |bucketed − exact| of T at any offset, (√3/144) h² (½ max|σ''| times the largest variance
# of values spanning h).
CURVE_BUCKET_WIDTH = 0.05
CURVE_TOLERANCE = math.sqrt(3.0) / 144.0 * CURVE_BUCKET_WIDTH ** 2


def section_curve(*, offsets: FloatArray, theta: float, learner_answers: int, learner_correct: int,
                  deviations: FloatArray, skill_answers: FloatArray, skill_correct: FloatArray,
                  present: npt.NDArray[np.bool_], difficulties: FloatArray, floors: FloatArray,
                  weights: predictor.Weights) -> FloatArray:
    """T(θ + Δ) for each offset Δ: the mean served P over the section's questions (rows of the (n, k) grids).

    Args:
        offsets: Δ in logits (any order).
        theta, learner_answers, learner_correct: The learner's stored global state.
        deviations, skill_answers, skill_correct, present: (n, k) grids of the questions' skills (padded where
            `present` is False), as `predictor.predict_grid` takes them.
        difficulties: (n,) b_q in logits. floors: (n,) guessing floors in [0, 1).
        weights: The served weights.

    Returns:
        Proportions in [0, 1], one per offset.
    """
    if difficulties.shape[0] == 0:
        raise ValueError("a section curve needs at least one question")
    return np.array([float(predictor.predict_grid(
        theta=theta + float(d), learner_answers=learner_answers, learner_correct=learner_correct,
        deviations=deviations, skill_answers=skill_answers, skill_correct=skill_correct, present=present,
        difficulties=difficulties, floors=floors, weights=weights).mean()) for d in np.asarray(offsets)],
        dtype=np.float64)


def bucketed_section_curve(*, offsets: FloatArray, theta: float, learner_answers: int, learner_correct: int,
                           deviations: FloatArray, skill_answers: FloatArray, skill_correct: FloatArray,
                           present: npt.NDArray[np.bool_], difficulties: FloatArray, floors: FloatArray,
                           weights: predictor.Weights, width: float = CURVE_BUCKET_WIDTH) -> FloatArray:
    """T̃(θ + Δ), the database's curve: `section_curve` over groups of questions with one floor and logits in one
    bucket [k·width, (k + 1)·width), each at its mean logit, weighted by its count. Within
    (√3/144) · width² of `section_curve` at every offset (`CURVE_TOLERANCE` at the default width); same args.
    """
    if difficulties.shape[0] == 0:
        raise ValueError("a section curve needs at least one question")
    if not width > 0.0:
        raise ValueError("width must be positive")
    logits = predictor.logit_grid(theta=0.0, learner_answers=learner_answers, learner_correct=learner_correct,
                                  deviations=deviations, skill_answers=skill_answers, skill_correct=skill_correct,
                                  present=present, difficulties=difficulties, weights=weights)
    keys = np.stack([np.asarray(floors, dtype=np.float64), np.floor(logits / width)], axis=1)
    groups, which, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    means = np.bincount(which.ravel(), weights=logits, minlength=groups.shape[0]) / counts
    slope = weights.as_array()[1]
    total = float(counts.sum())
    with np.errstate(over="ignore"):  # exp overflow → σ = 0
        return np.array([float(np.sum(counts * (groups[:, 0] + (1.0 - groups[:, 0])
                                                / (1.0 + np.exp(-(means + slope * (theta + float(d))))))) / total)
                         for d in np.asarray(offsets)], dtype=np.float64)


def ability_information(*, logits: FloatArray, floors: FloatArray, slope: float) -> float:
    """Σ_q Fisher information about θ of questions with calibrated logits w · x_q, floors c_q and w_z = slope.

    I_q = slope² (1 − c) s² (1 − s) / (c + (1 − c) s), s = σ(logit): (dP/dθ)² / (P (1 − P)) for
    P = c + (1 − c) σ(logit) whose logit moves by `slope` per logit of θ. Non-negative; 0 for no question.
    """
    with np.errstate(over="ignore"):  # exp overflow → s = 0: no information
        s = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
    c = np.asarray(floors, dtype=np.float64)
    p = c + (1.0 - c) * s
    info = np.divide(slope * slope * (1.0 - c) * s * s * (1.0 - s), p, out=np.zeros_like(p), where=p > 0.0)
    return float(np.sum(info))


def ability_se(*, information: float, prior_sd: float = ABILITY_PRIOR_SD) -> float:
    """Laplace SE of θ: 1 / sqrt(1/prior_sd² + information), in logits, in (0, prior_sd]."""
    if information < 0.0 or not math.isfinite(information) or prior_sd <= 0.0:
        raise ValueError("need a finite information >= 0 and prior_sd > 0")
    return 1.0 / math.sqrt(1.0 / (prior_sd * prior_sd) + information)


@dataclass(frozen=True, slots=True)
class AbilityCurve:
    """A score as an increasing function of the ability offset Δ = θ' − θ, with the SE of θ.

    `scores[i]` is the score (scale units, unrounded) at θ + offsets[i]; offsets increase and contain 0.
    """

    offsets: FloatArray
    scores: FloatArray
    se: float

    def __post_init__(self) -> None:
        if (self.offsets.ndim != 1 or self.offsets.shape != self.scores.shape or self.offsets.size < 2
                or not np.all(np.diff(self.offsets) > 0.0) or not np.any(self.offsets == 0.0)):
            raise ValueError("offsets: increasing, one per score, containing 0")
        if not np.all(np.diff(self.scores) >= -1e-9 * max(1.0, float(np.abs(self.scores).max()))):
            raise ValueError("a score curve must not decrease with ability")
        if not (self.se > 0.0 and math.isfinite(self.se)):
            raise ValueError("se must be positive")

    @property
    def centre(self) -> float:
        """The score at θ itself (a grid point: no interpolation)."""
        return float(self.scores[int(np.flatnonzero(self.offsets == 0.0)[0])])

    def at(self, offset: float) -> float:
        """The score at θ + offset, linear between grid points, the end values beyond them."""
        return float(np.interp(offset, self.offsets, np.maximum.accumulate(self.scores)))

    def offset_for(self, score: float) -> float:
        """The smallest Δ whose (interpolated) score reaches `score`, clipped to the grid's ends."""
        values = np.maximum.accumulate(self.scores)
        i = int(np.searchsorted(values, score, side="left"))  # first grid point with value >= score
        if i == 0:
            return float(self.offsets[0])
        if i == values.size:
            return float(self.offsets[-1])
        x0, x1, y0, y1 = self.offsets[i - 1], self.offsets[i], values[i - 1], values[i]
        return float(x0 + (x1 - x0) * (score - y0) / (y1 - y0))

    def plus(self, other: AbilityCurve) -> AbilityCurve:
        """The summed score (the SAT total), over the same offsets and the same θ."""
        if not np.array_equal(self.offsets, other.offsets) or self.se != other.se:
            raise ValueError("curves add only over one grid and one θ")
        return AbilityCurve(self.offsets, self.scores + other.scores, self.se)


def pass_probability(*, curve: AbilityCurve, target: float) -> float:
    """P(true score ≥ target) = Φ((θ − θ_cut) / SE) = Φ(−Δ_cut / SE), in [0, 1].

    A target beyond the grid's scores gives Δ_cut at the grid's end: the probability is then a bound,
    below Φ(−6 / SE) ≤ 1e-9 (or above 1 − that), since SE ≤ 1.
    """
    return _NORMAL.cdf(-curve.offset_for(target) / curve.se)


@dataclass(frozen=True, slots=True)
class ScoreBand:
    """A reported score, rounded to the scale's step, with its interval rounded outward, within the scale."""

    score: float
    lower: float
    upper: float


def band(*, curve: AbilityCurve, scale: ScoreScale, interval_level: float = INTERVAL_LEVEL,
         score: float | None = None) -> ScoreBand:
    """score = the curve at θ rounded to the step (or the given one, e.g. a sum of rounded section scores);
    [lower, upper] = the curve at θ ∓ z·SE, rounded outward and kept within the scale and around the score."""
    z = two_sided_z(interval_level)
    centre = round_to_step(curve.centre, scale.step, "nearest") if score is None else score
    centre = min(scale.maximum, max(scale.minimum, centre))
    lower = max(scale.minimum, round_to_step(curve.at(-z * curve.se), scale.step, "down"))
    upper = min(scale.maximum, round_to_step(curve.at(z * curve.se), scale.step, "up"))
    return ScoreBand(centre, min(lower, centre), max(upper, centre))


@dataclass(frozen=True, slots=True)
class SectionEvidence:
    """What the database sends per section: its active questions, the learner's graded answers in it and the
    curve T(θ + Δ) over the shared offsets (proportions in [0, 1])."""

    questions: int
    answers: int
    curve: FloatArray


@dataclass(frozen=True, slots=True)
class SectionPrediction:
    section: str
    score: float | None
    lower: float | None
    upper: float | None
    proportion: float | None  # T(θ), unrounded, in [0, 1]
    answers: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class PredictorScores:
    """Per prepared section (in order) and the total; `curves` hold what readiness needs (pass probability)."""

    sections: tuple[SectionPrediction, ...]
    total: float | None
    total_lower: float | None
    total_upper: float | None
    total_reason: str | None
    interval_level: float
    ability_se: float | None
    curves: Mapping[str, AbilityCurve]
    total_curve: AbilityCurve | None


def predict_scores(*, sections: Sequence[str], evidence: Mapping[str, SectionEvidence], offsets: FloatArray,
                   se: float | None, unavailable: str | None = None, min_answers: int = MIN_SECTION_ANSWERS,
                   interval_level: float = INTERVAL_LEVEL) -> PredictorScores:
    """Section scores (200–800) and the SAT total (400–1600) from the predictor's section curves.

    Args:
        sections: The prepared sections, in output order (non-empty, no repeats).
        evidence: Per section the database's counts and curve over `offsets` (a section missing: no questions).
        offsets: Δ grid in logits, increasing, containing 0.
        se: The SE of θ in logits (`ability_se`), or None when `unavailable` says why no score can be given.
        unavailable: A reason that applies to every section (no predictor state, weights not increasing).
        min_answers: Graded answers a section needs before it is scored.
        interval_level: Two-sided coverage of every interval, in (0, 1).

    Returns:
        PredictorScores: a section without enough evidence has score/lower/upper/proportion None and a reason;
        the total is the sum of the section scores when every SAT section is prepared and scored, else None with
        a reason.
    """
    if not sections or len(set(sections)) != len(sections):
        raise ValueError("sections must be non-empty without repeats")
    if unavailable is None and se is None:
        raise ValueError("without a reason, se is needed")
    grid = np.asarray(offsets, dtype=np.float64)
    out: list[SectionPrediction] = []
    curves: dict[str, AbilityCurve] = {}
    for name in sections:
        ev = evidence.get(name)
        answers = 0 if ev is None else ev.answers
        reason = unavailable
        if reason is None and (ev is None or ev.questions == 0):
            reason = "no active questions in this section"
        elif reason is None and answers < min_answers:
            reason = f"needs {min_answers} answers in this section, has {answers}"
        if reason is not None or ev is None or se is None:
            out.append(SectionPrediction(name, None, None, None, None, answers, reason))
            continue
        proportion = np.clip(np.asarray(ev.curve, dtype=np.float64), 0.0, 1.0)
        curve = AbilityCurve(grid, SECTION_SCALE.from_proportion(proportion), se)
        scored = band(curve=curve, scale=SECTION_SCALE, interval_level=interval_level)
        curves[name] = curve
        out.append(SectionPrediction(name, scored.score, scored.lower, scored.upper,
                                     float(proportion[int(np.flatnonzero(grid == 0.0)[0])]), answers, None))
    total, total_curve = _total(out, curves, interval_level)
    return PredictorScores(tuple(out), *total, interval_level=interval_level, ability_se=se, curves=curves,
                           total_curve=total_curve)


def _total(sections: list[SectionPrediction], curves: Mapping[str, AbilityCurve], level: float
           ) -> tuple[tuple[float | None, float | None, float | None, str | None], AbilityCurve | None]:
    by_name = {s.section: s for s in sections}
    missing = [name for name in SAT_SECTIONS if name not in by_name]
    if missing:
        return (None, None, None, f"the total needs every section; not prepared: {', '.join(missing)}"), None
    if any(by_name[name].score is None for name in SAT_SECTIONS):
        return (None, None, None, "the total needs a score in every section"), None
    curve = curves[SAT_SECTIONS[0]].plus(curves[SAT_SECTIONS[1]])
    total = sum(float(by_name[name].score or 0.0) for name in SAT_SECTIONS)
    scored = band(curve=curve, scale=TOTAL_SCALE, interval_level=level, score=total)
    return (scored.score, scored.lower, scored.upper, None), curve
