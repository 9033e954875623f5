"""Pure summaries of a demo run: correlations, success rates, calibration, questions to true mastery.

Questions to mastery (per learner × skill):
- eligible: the skill is NOT truly mastered at the start (θ_start < mastery_theta);
- the count is the number of answered questions practising that skill, up to and including the first one
  after which the simulated learner's true ability on it reaches mastery_theta (the learner learns from
  every question practising the skill; mastery later lost to forgetting does not undo the event);
- a pair never reaching mastery by the end of the run is right-censored: its count (possibly 0) is only a
  lower bound. The summary reports the share of eligible pairs mastered and the mean count over the
  mastered ones; censored pairs are left out of that mean (it is conditional on mastering within the run,
  so compare it between groups together with the share mastered, never alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartpractice.learner.prediction_metrics import auc, log_loss
from smartpractice_dev.simulation import spearman_correlation

FloatMatrix = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Correlation:
    n: int
    pearson: float  # NaN when undefined (fewer than 3 pairs or a constant side)
    spearman: float


def correlation(*, x: ArrayLike, y: ArrayLike) -> Correlation:
    a, b = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if a.size != b.size:
        raise ValueError("x and y need the same length")
    if a.size < 3 or np.ptp(a) == 0.0 or np.ptp(b) == 0.0:
        return Correlation(int(a.size), float("nan"), float("nan"))
    return Correlation(int(a.size), float(np.corrcoef(a, b)[0, 1]), spearman_correlation(x=a, y=b))


def paired_values(*, truth: FloatMatrix,
                  estimates: Iterable[tuple[int, int, float]]) -> tuple[FloatMatrix, FloatMatrix]:
    """(learner, skill index, estimate) → (estimates, truth at those pairs) as two aligned vectors."""
    items = list(estimates)
    estimate = np.array([value for _, _, value in items], dtype=np.float64)
    true = np.array([truth[learner, skill] for learner, skill, _ in items], dtype=np.float64)
    return estimate, true


def learner_means(*, truth: FloatMatrix,
                  estimates: Iterable[tuple[int, int, float]]) -> tuple[FloatMatrix, FloatMatrix]:
    """Per learner (in learner order): mean estimate over the pairs given and mean truth over the same pairs."""
    sums: dict[int, list[float]] = {}
    for learner, skill, value in estimates:
        acc = sums.setdefault(learner, [0.0, 0.0, 0.0])
        acc[0] += value
        acc[1] += float(truth[learner, skill])
        acc[2] += 1.0
    learners = sorted(sums)
    return (np.array([sums[i][0] / sums[i][2] for i in learners], dtype=np.float64),
            np.array([sums[i][1] / sums[i][2] for i in learners], dtype=np.float64))


@dataclass(frozen=True, slots=True)
class GroupSuccess:
    answered: int
    correct: int
    mean_predicted: float  # the server's predicted P(correct) when it served the question
    share_predicted_in_band: float

    @property
    def rate(self) -> float:
        return self.correct / self.answered if self.answered else float("nan")


def group_success(*, correct: Sequence[bool], predicted: Sequence[float],
                  band: tuple[float, float] = (0.60, 0.70)) -> GroupSuccess:
    p = np.asarray(predicted, dtype=np.float64)
    if len(correct) != p.size:
        raise ValueError("one prediction per answer")
    if p.size == 0:
        return GroupSuccess(0, 0, float("nan"), float("nan"))
    in_band = (p >= band[0]) & (p <= band[1])
    return GroupSuccess(int(p.size), int(sum(bool(c) for c in correct)), float(p.mean()), float(in_band.mean()))


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed_rate: float


@dataclass(frozen=True, slots=True)
class Calibration:
    bins: tuple[CalibrationBin, ...]  # non-empty bins only
    brier: float
    expected_calibration_error: float  # count-weighted mean |observed − predicted| over the bins
    auc: float  # how well the served P ranks right against wrong answers (NaN with one class only)
    log_loss: float


def calibration(*, predicted: ArrayLike, observed: ArrayLike, n_bins: int = 10) -> Calibration:
    p = np.asarray(predicted, dtype=np.float64).ravel()
    y = np.asarray(observed, dtype=np.float64).ravel()
    if p.size != y.size or p.size == 0:
        raise ValueError("need one observation per prediction, and at least one")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)  # bin i = [edge_i, edge_i+1), last closed
    bins = []
    ece = 0.0
    for i in range(n_bins):
        mask = which == i
        count = int(mask.sum())
        if count == 0:
            continue
        mean_p, rate = float(p[mask].mean()), float(y[mask].mean())
        bins.append(CalibrationBin(float(edges[i]), float(edges[i + 1]), count, mean_p, rate))
        ece += count * abs(rate - mean_p)
    return Calibration(tuple(bins), float(np.mean((p - y) ** 2)), ece / p.size, auc(y, p), log_loss(y, p))


@dataclass(frozen=True, slots=True)
class Practice:
    """One answered question's effect on one of its skills (in answer order per learner)."""

    learner: int
    skill: int  # simulated skill index
    theta_after: float  # the learner's true ability on the skill right after learning from the answer


@dataclass(frozen=True, slots=True)
class MasteryCounts:
    eligible: NDArray[np.bool_]  # (learners, skills): not truly mastered at the start
    practised: NDArray[np.int64]  # questions practising the skill, until mastery or the end
    mastered: NDArray[np.bool_]  # reached true mastery during the run (eligible pairs only)


def questions_to_mastery(*, initial_theta: FloatMatrix, practice: Iterable[Practice],
                         mastery_theta: float) -> MasteryCounts:
    eligible = np.asarray(initial_theta) < mastery_theta
    practised = np.zeros(eligible.shape, dtype=np.int64)
    mastered = np.zeros(eligible.shape, dtype=np.bool_)
    for event in practice:
        pair = (event.learner, event.skill)
        if not eligible[pair] or mastered[pair]:
            continue
        practised[pair] += 1
        if event.theta_after >= mastery_theta:
            mastered[pair] = True
    return MasteryCounts(eligible, practised, mastered)


@dataclass(frozen=True, slots=True)
class MasterySummary:
    eligible_pairs: int
    practised_pairs: int  # eligible pairs practised at least once
    mastered_pairs: int
    mean_questions: float  # over mastered pairs (NaN if none)
    median_questions: float
    censored_mean_practised: float  # eligible, not mastered: questions so far (a lower bound)

    @property
    def share_mastered(self) -> float:
        return self.mastered_pairs / self.eligible_pairs if self.eligible_pairs else float("nan")


def summarise_mastery(counts: MasteryCounts, *, learners: Sequence[int]) -> MasterySummary:
    rows = np.asarray(list(learners), dtype=np.int64)
    eligible, practised, mastered = counts.eligible[rows], counts.practised[rows], counts.mastered[rows]
    done = practised[mastered]
    censored = practised[eligible & ~mastered]
    return MasterySummary(
        eligible_pairs=int(eligible.sum()), practised_pairs=int((eligible & (practised > 0)).sum()),
        mastered_pairs=int(mastered.sum()),
        mean_questions=float(done.mean()) if done.size else float("nan"),
        median_questions=float(np.median(done)) if done.size else float("nan"),
        censored_mean_practised=float(censored.mean()) if censored.size else float("nan"))


def group_means(values: FloatMatrix, *, groups: Sequence[str]) -> dict[str, float]:
    """Mean over each group's learners of the per-learner mean across skills."""
    per_learner = np.asarray(values, dtype=np.float64).mean(axis=1)
    labels = np.asarray(groups)
    return {g: float(per_learner[labels == g].mean()) for g in dict.fromkeys(groups)}


@dataclass(frozen=True, slots=True)
class ScoreRecovery:
    """insights' predicted section scores against the simulator's true expected scores, over the learners."""

    learners: int
    scored: int
    mean_error: float  # predicted − true, points
    mean_abs_error: float
    covered: float  # share of scored learners whose interval [low, high] holds the true score
    correlation: Correlation
    null_reasons: dict[str, int]


def true_section_score(*, theta: FloatMatrix, questions: Iterable[tuple[Sequence[int], Sequence[float]]],
                       guess: float, slip: float) -> FloatMatrix:
    """Per learner (rows of θ, logits per skill index): 200 + 600 · the simulator's mean P(correct) over the
    questions (skill indices, difficulties in logits): guess + (1 − guess − slip) · Π_k σ(θ_k − b_k)."""
    ability = np.asarray(theta, dtype=np.float64)
    p = [guess + (1.0 - guess - slip) * np.prod(1.0 / (1.0 + np.exp(-(ability[:, list(skills)] - np.asarray(b)))),
                                                axis=1)
         for skills, b in questions]
    result: FloatMatrix = 200.0 + 600.0 * np.mean(p, axis=0)
    return result


def score_recovery(*, sections: Sequence[Mapping[str, Any] | None], true_scores: ArrayLike) -> ScoreRecovery:
    """`sections[i]`: learner i's predicted_scores section entry from insights (None when absent)."""
    truth = np.asarray(true_scores, dtype=np.float64)
    scored = [(s, float(t)) for s, t in zip(sections, truth, strict=True) if s and s.get("score") is not None]
    reasons: dict[str, int] = {}
    for s in sections:
        if not s or s.get("score") is None:
            key = str((s or {}).get("reason") or "no section entry")
            reasons[key] = reasons.get(key, 0) + 1
    errors = np.array([float(s["score"]) - t for s, t in scored])
    covered = [float(s["low"]) <= t <= float(s["high"]) for s, t in scored]
    return ScoreRecovery(
        learners=len(sections), scored=len(scored),
        mean_error=float(errors.mean()) if scored else float("nan"),
        mean_abs_error=float(np.abs(errors).mean()) if scored else float("nan"),
        covered=float(np.mean(covered)) if scored else float("nan"),
        correlation=correlation(x=[float(s["score"]) for s, _ in scored], y=[t for _, t in scored]),
        null_reasons=reasons)
