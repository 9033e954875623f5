"""Nightly fits for `predictor`: item difficulties (sparse Rasch/IRT) and the calibration weights (pure).

- `calibrate_rasch`: joint maximum a posteriori Rasch fit, P = σ(θ_u − b_q), on long-format answers with
  Gaussian priors (θ ~ N(0, σ_θ²), b ~ N(seed + its skills' mean shift γ, σ_b²), γ_k ~ N(0, τ²) with τ² by
  empirical Bayes), by alternating Newton steps (sparse: one pass over the answers per step via bincount).
  Its b is the starting point of the online difficulties; per-skill means of b seed questions never answered
  yet (a new bank starts from its skills, not from 0).
- `fit_weights`: logistic regression with a fixed guessing floor, P = c + (1 − c) σ(w · x), by Fisher
  scoring with a small ridge, on features replayed from training answers (predicted before each answer).
- `replay`: the online predictor over answers in time order (each predicted before it is used);
  `leave_one_out_shift`: per answer, its item's b without its own outcome, where the replay that gives
  `fit_weights` its rows starts that answer (no answer's outcome leaks into its own features);
  `cold_start_difficulties`: b for questions without answers, their seed through the calibrated questions'
  seed map (`fit_seed_map`: offset, scale, shrunk skill shifts).
The metrics they are judged by (AUC, log-loss, ECE) are in `prediction_metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray
from smartpractice.learner.predictor import (
    N_FEATURES,
    ItemDifficulty,
    LearnerGlobal,
    PredictorConfig,
    SkillDeviation,
    Weights,
    update,
)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RaschFit:
    theta: FloatArray  # (n_learners,) logits
    difficulty: FloatArray  # (n_items,) logits; items without answers stay at their prior mean
    iterations: int


def _sigmoid(x: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return result


def calibrate_rasch(*, learner: IntArray, item: IntArray, correct: npt.ArrayLike, n_learners: int, n_items: int,
                    sd_theta: float = 1.0, sd_difficulty: float = 1.5, max_iter: int = 50,
                    tol: float = 1e-4, prior_difficulty: FloatArray | None = None,
                    skills: Sequence[Sequence[int]] | None = None, sd_skill: float | None = None) -> RaschFit:
    """Joint MAP Rasch fit; indices are 0-based, one entry per answer.

    Args:
        learner, item: Answer → learner index in [0, n_learners), item index in [0, n_items).
        correct: 0/1 per answer.
        sd_theta, sd_difficulty: Prior standard deviations (logits); they keep rare learners and items near
            their prior means.
        max_iter, tol: Stop after max_iter rounds or when no parameter moves more than tol.
        prior_difficulty: Prior mean of each item's b (default 0), e.g. a seed from difficulty labels: an item
            with few answers stays near it.
        skills: Each item's skills (optional): then the prior mean is the seed + the mean over the item's skills
            of a per-skill shift γ_k ~ N(0, sd_skill²), fitted jointly (hierarchical shrinkage: an item with few
            answers, or none, sits near its skills' level above or below their seeds instead of at the seed).
        sd_skill: τ; None (default): empirical Bayes, τ² = the variance of the skills' mean b − seed beyond their
            sampling noise in a fit without the shifts (`skill_variance`); τ² = 0 gives that fit unchanged (skills
            that do not differ beyond noise add nothing, so a night of noise gains no spurious z signal).

    Returns:
        RaschFit with θ per learner and b per item, in logits.
    """
    y = np.asarray(correct, dtype=np.float64)
    if not (learner.shape == item.shape == y.shape) or learner.ndim != 1:
        raise ValueError("learner, item and correct need one entry per answer")
    if learner.size and (learner.min() < 0 or learner.max() >= n_learners or item.min() < 0
                         or item.max() >= n_items):
        raise ValueError("indices out of range")
    if not (np.all((y == 0.0) | (y == 1.0))):
        raise ValueError("correct must be 0 or 1")
    mu = np.zeros(n_items) if prior_difficulty is None else np.asarray(prior_difficulty, dtype=np.float64)
    if mu.shape != (n_items,):
        raise ValueError("prior_difficulty needs one entry per item")
    flat = _rasch_map(learner=learner, item=item, y=y, n_learners=n_learners, mu=mu, shift=None,
                      sd_theta=sd_theta, sd_difficulty=sd_difficulty, max_iter=max_iter, tol=tol)
    if skills is None:
        return flat
    if len(skills) != n_items:
        raise ValueError("skills needs one entry per item")
    answered = np.bincount(item, minlength=n_items) > 0
    if sd_skill is None:
        _, _, tau2 = skill_variance(_values_by_skill(skills, flat.difficulty - mu, keep=answered))
    else:
        tau2 = sd_skill**2
    if tau2 <= 0.0:
        return flat
    shift = _SkillShift.of(skills=skills, n_items=n_items, sd_difficulty=sd_difficulty, tau2=tau2, answered=answered)
    return _rasch_map(learner=learner, item=item, y=y, n_learners=n_learners, mu=mu, shift=shift, sd_theta=sd_theta,
                      sd_difficulty=sd_difficulty, max_iter=max_iter, tol=tol)


def _values_by_skill(skills: Sequence[Sequence[int]], values: FloatArray,
                     *, keep: npt.NDArray[np.bool_]) -> dict[int, list[float]]:
    """Per skill, `values[q]` of the kept questions q that practise it, in question order (`skill_variance`'s
    input)."""
    out: dict[int, list[float]] = {}
    for q in np.flatnonzero(keep).tolist():
        for s in skills[q]:
            out.setdefault(s, []).append(float(values[q]))
    return out


def skill_variance(by_skill: dict[int, list[float]]) -> tuple[dict[int, float], float, float]:
    """Per skill the mean of its values, the pooled within-skill variance σ², and τ², the variance of the skill
    means beyond their sampling noise (method of moments, ≥ 0; 0 with fewer than 2 skills)."""
    means = {s: float(np.mean(v)) for s, v in by_skill.items()}
    pairs = sum(len(v) for v in by_skill.values())
    within = sum(float(np.sum((np.asarray(v) - means[s]) ** 2)) for s, v in by_skill.items()) / max(
        pairs - len(by_skill), 1)
    tau2 = 0.0
    if len(means) >= 2:
        noise = float(np.mean([within / len(v) for v in by_skill.values()]))
        tau2 = max(0.0, float(np.var(list(means.values()), ddof=1)) - noise)
    return means, within, tau2


def _rasch_map(*, learner: IntArray, item: IntArray, y: FloatArray, n_learners: int, mu: FloatArray,
               shift: _SkillShift | None, sd_theta: float, sd_difficulty: float, max_iter: int,
               tol: float) -> RaschFit:
    """calibrate_rasch's alternating Newton steps, the prior mean `mu` (+ the skills' shifts, refitted each round)."""
    n_items = mu.size
    seed = mu.copy()
    theta = np.zeros(n_learners)
    b = mu.copy()
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        if shift is not None:
            mu = seed + shift.prior_offset(b - seed)
        p = _sigmoid(theta[learner] - b[item])
        w = p * (1.0 - p)
        step_t = (np.bincount(learner, y - p, n_learners) - theta / sd_theta**2) / (
            np.bincount(learner, w, n_learners) + 1.0 / sd_theta**2)
        theta = theta + np.clip(step_t, -1.0, 1.0)
        p = _sigmoid(theta[learner] - b[item])
        w = p * (1.0 - p)
        step_b = (np.bincount(item, p - y, n_items) - (b - mu) / sd_difficulty**2) / (
            np.bincount(item, w, n_items) + 1.0 / sd_difficulty**2)
        b = b + np.clip(step_b, -1.0, 1.0)
        if max(float(np.abs(step_t).max(initial=0.0)), float(np.abs(step_b).max(initial=0.0))) < tol:
            break
    return RaschFit(theta=theta, difficulty=b, iterations=iterations)


@dataclass(frozen=True, slots=True)
class _SkillShift:
    """The per-skill shifts γ of `calibrate_rasch`'s hierarchical prior: item q's prior mean is its seed +
    (Mγ)_q, M_qk = 1/m_q for its m_q skills. Given b, γ maximises −Σ_q (r_q − (Mγ)_q)² / 2σ_b² − Σ_k γ_k² / 2τ²
    over the answered items (r = b − seed; an unanswered item's b equals its prior mean at the joint optimum,
    so it adds nothing there): a ridge solve with the skills × skills matrix MᵀM / σ_b² + I / τ²."""

    item: IntArray  # (pairs,) item of each (item, skill) pair
    skill: IntArray  # (pairs,) its skill
    weight: FloatArray  # (pairs,) 1 / m_q
    answered_weight: FloatArray  # (pairs,) 1 / m_q on answered items, 0 elsewhere
    system: FloatArray  # (n_skills, n_skills)
    variance: float  # σ_b²

    @staticmethod
    def of(*, skills: Sequence[Sequence[int]], n_items: int, sd_difficulty: float, tau2: float,
           answered: npt.NDArray[np.bool_]) -> _SkillShift:
        item = np.array([q for q, k in enumerate(skills) for _ in k], dtype=np.int64)
        ids, skill = np.unique(np.array([s for k in skills for s in k], dtype=np.int64), return_inverse=True)
        weight = np.array([1.0 / len(k) for k in skills for _ in k], dtype=np.float64)
        on = np.where(answered[item], weight, 0.0)
        system = np.eye(ids.size) / tau2  # + MᵀM / σ_b², item by item over its pairs of skills
        starts = np.concatenate([[0], np.cumsum([len(k) for k in skills])]).astype(np.int64)
        for q in np.flatnonzero(answered[:n_items]).tolist():
            own = skill[starts[q]:starts[q + 1]]
            if own.size:
                system[np.ix_(own, own)] += 1.0 / (own.size**2 * sd_difficulty**2)
        return _SkillShift(item, skill.astype(np.int64), weight, on, system, sd_difficulty**2)

    def prior_offset(self, residual: FloatArray) -> FloatArray:
        """(Mγ) per item for the γ that best explains the answered items' b − seed."""
        rhs = np.bincount(self.skill, self.answered_weight * residual[self.item], self.system.shape[0]) / self.variance
        gamma = np.linalg.solve(self.system, rhs)
        return np.bincount(self.item, self.weight * gamma[self.skill], residual.size).astype(np.float64)


def fit_weights(*, features: FloatArray, correct: npt.ArrayLike, floor: npt.ArrayLike | float = 0.0,
                ridge: float = 1e-3, max_iter: int = 30, tol: float = 1e-7) -> Weights:
    """Weights of P = c + (1 − c) σ(w · x) maximising the likelihood (Fisher scoring, ridge on w except bias).

    Args:
        features: (n, N_FEATURES) rows from `predictor.features`, each computed before its answer.
        correct: 0/1 per row.
        floor: The guessing floor c per row (or one value), in [0, 1).
        ridge: L2 penalty per answer on the non-bias weights (keeps collinear counts finite).

    Returns:
        Weights; starts from the plain model (bias 0, z weight 1).
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    c = np.broadcast_to(np.asarray(floor, dtype=np.float64), y.shape)
    if x.ndim != 2 or x.shape != (y.size, N_FEATURES):
        raise ValueError(f"features must be (n, {N_FEATURES}) aligned with correct")
    if y.size == 0:
        raise ValueError("no answers to fit on")
    w = Weights().as_array()
    penalty = np.full(N_FEATURES, ridge * y.size)
    penalty[0] = 0.0
    for _ in range(max_iter):
        s = _sigmoid(x @ w)
        p = np.clip(c + (1.0 - c) * s, 1e-9, 1.0 - 1e-9)
        ds = (1.0 - c) * s * (1.0 - s)  # dP/d(w·x)
        gradient = x.T @ ((y - p) / (p * (1.0 - p)) * ds) - penalty * w
        fisher = (x * (ds**2 / (p * (1.0 - p)))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(N_FEATURES)
        step = np.linalg.solve(fisher, gradient)
        w = w + step
        if float(np.abs(step).max()) < tol:
            break
    return Weights(values=tuple(float(v) for v in w))


# A fit whose weight on z (ability − difficulty) is below this is not served: it would say that more ability
# barely raises, or lowers, the chance of success. It happens when z carries little information, e.g. a young
# bank whose questions were mostly answered once, so each answer's b without its own outcome is the prior
# (a stack-test night of 735 answers fitted −0.09); the demo's first night fits ~0.6, the harness 0.53.
MIN_Z_WEIGHT = 0.2


def servable(weights: Weights) -> bool:
    """Whether a night's fitted weights may replace the served ones (Weights are finite by construction):
    success rising with ability by at least MIN_Z_WEIGHT per logit of z."""
    return weights.values[1] >= MIN_Z_WEIGHT


@dataclass(frozen=True, slots=True)
class Replay:
    p_correct: FloatArray  # (n,) the prediction made before each answer
    features: FloatArray  # (n, N_FEATURES) the feature rows behind them
    difficulty: FloatArray  # (n_items,) the difficulties after the replay's online steps


def replay(*, learner: IntArray, item: IntArray, skills: Sequence[Sequence[int]], correct: npt.ArrayLike,
           floor: npt.ArrayLike, difficulty: FloatArray, weights: Weights,
           config: PredictorConfig | None = None, start_shift: npt.ArrayLike | None = None,
           evidence: npt.ArrayLike | None = None) -> Replay:
    """The online predictor over answers given in time order (per learner; learners may interleave).

    Every learner starts from the prior state (θ = 0, δ = 0, no counts); item difficulties start at
    `difficulty` and take their bounded online steps as in production (one per learner and item: only a
    learner's first answer to a question moves it, as record_answer allows). `start_shift` (one per answer,
    e.g. `leave_one_out_shift`) is added to the item's difficulty for that answer alone: its prediction and its
    step are made there, and the step joins the item's shared path. `evidence` (one weight in [0, 1] per answer,
    default 1) scales each answer's steps as record_answer does (private.apply_predictor_update): every answer
    is predicted, but one of weight 0 (a repeat, a too-fast answer) moves nothing, counts included, and the item
    moves only on the learner's first answer to it, if that answer carries evidence.
    """
    y = np.asarray(correct, dtype=np.int64)
    floors = np.broadcast_to(np.asarray(floor, dtype=np.float64), y.shape)
    if not (learner.shape == item.shape == y.shape and len(skills) == y.size):
        raise ValueError("learner, item, skills, correct and floor need one entry per answer")
    start = np.asarray(difficulty, dtype=np.float64)
    shift = np.zeros(y.size) if start_shift is None else np.asarray(start_shift, dtype=np.float64)
    weight = np.ones(y.size) if evidence is None else np.asarray(evidence, dtype=np.float64)
    if shift.shape != y.shape or weight.shape != y.shape:
        raise ValueError("start_shift and evidence need one entry per answer")
    if not np.all((weight >= 0.0) & (weight <= 1.0)):
        raise ValueError("evidence weights must lie in [0, 1]")
    moved = np.zeros(start.size)  # every answer's online steps so far, per item
    counts = np.zeros(start.size, dtype=np.int64)
    learners: dict[int, LearnerGlobal] = {}
    deviations: dict[tuple[int, int], SkillDeviation] = {}
    answered: set[tuple[int, int]] = set()
    p = np.empty(y.size)
    x = np.empty((y.size, N_FEATURES))
    for r in range(y.size):
        u, q, k = int(learner[r]), int(item[r]), skills[r]
        before = learners.get(u, LearnerGlobal())
        before_skills = [deviations.get((u, s), SkillDeviation()) for s in k]
        step = update(learner=before, skills=before_skills,
                      item=ItemDifficulty(float(start[q] + moved[q] + shift[r]), int(counts[q])),
                      is_correct=bool(y[r]), weights=weights, floor=float(floors[r]), config=config)
        p[r], x[r] = step.prediction.p_correct, step.prediction.features
        w = float(weight[r])
        first = (u, q) not in answered
        answered.add((u, q))
        if w == 0.0:
            continue
        learners[u] = replace(step.learner, theta=before.theta + w * (step.learner.theta - before.theta))
        deviations.update(((u, s), replace(after, deviation=prior.deviation + w * (after.deviation - prior.deviation)))
                          for s, prior, after in zip(k, before_skills, step.skills, strict=True))
        if first:
            moved[q] += w * step.item_delta
            counts[q] += 1
    return Replay(p_correct=p, features=x, difficulty=start + moved)


def leave_one_out_shift(*, fit: RaschFit, learner: IntArray, item: IntArray, correct: npt.ArrayLike,
                        sd_difficulty: float = 1.5) -> FloatArray:
    """Per answer, b_{-i} − b: how far its item's MAP difficulty moves without that answer (one Newton step of
    the item's equation from the fit, θ held: (y − p) / (H_q − w_i), H_q = Σ_j w_j + 1/σ_b², w = p(1 − p)).

    Why: a served prediction's b was fitted on other answers, never on the one predicted. Replaying the answers
    from the b calibrated on them leaks each outcome into its own z (an item answered right looks easier), so z
    looks more predictive in the replay than when served and the fitted z weight comes out too large:
    over-dispersed served P (too low at the bottom, too high at the top). The leak is large on a young bank
    (the demo's first night: 1.6 answers per question, z weight 1.59 with the leak against 0.55-0.6 without)
    and smaller, not nil, on the harness's 35 (README "Predictor", calibration). Removing only the answer's
    own outcome keeps every other answer in b, as serving does (leaving out whole folds of learners instead
    made b noisier than served and the harness's test P off by 0.006-0.011 on average). `sd_difficulty` must
    be the fit's.
    """
    y = np.asarray(correct, dtype=np.float64)
    if not (learner.shape == item.shape == y.shape):
        raise ValueError("learner, item and correct need one entry per answer")
    p = _sigmoid(fit.theta[learner] - fit.difficulty[item])
    w = p * (1.0 - p)
    h = np.bincount(item, w, fit.difficulty.size) + 1.0 / sd_difficulty**2
    shift: FloatArray = (y - p) / (h[item] - w)
    return shift


@dataclass(frozen=True, slots=True)
class SeedMap:
    """How the authored seeds relate to the calibrated b: b ≈ offset + scale · seed (+ a skill's shift)."""

    offset: float
    scale: float
    skill_shift: dict[int, float]  # per skill with calibrated questions, shrunk toward 0 (empirical Bayes)

    def apply(self, seed: float, skills: Sequence[int]) -> float:
        shifts = [self.skill_shift.get(s, 0.0) for s in skills]
        return self.offset + self.scale * seed + (sum(shifts) / len(shifts) if shifts else 0.0)


def fit_seed_map(*, skills: Sequence[Sequence[int]], difficulty: FloatArray, calibrated: npt.NDArray[np.bool_],
                 seed: FloatArray) -> SeedMap:
    """The calibrated questions' b against their seeds: a line, then each skill's mean residual, shrunk.

    Authors label against a notional learner, not the cohort, and the guessing floor flattens the observed
    logits: the seeds' origin AND scale differ from the calibration's (on the harness data b ≈ −0.63 +
    0.55 · seed). The line is least squares over the calibrated questions (scale ≥ 0; with fewer than 2 of
    them or seeds all equal: scale 1, offset the mean b − seed). A skill's shift is the mean residual of its
    calibrated questions times n_k τ² / (n_k τ² + σ²): σ² the pooled residual variance within skills, τ² the
    variance of the skill means beyond their sampling noise (method of moments; 0 with fewer than 2 skills), so
    a skill's own shift counts only as far as skills really differ.
    """
    if not (len(skills) == difficulty.size == calibrated.size == seed.size):
        raise ValueError("skills, difficulty, calibrated and seed need one entry per question")
    known = np.flatnonzero(calibrated)
    if known.size == 0:
        return SeedMap(offset=0.0, scale=1.0, skill_shift={})
    x, b = seed[known], difficulty[known]
    spread = float(np.var(x))
    scale = max(0.0, float(np.mean((x - x.mean()) * (b - b.mean()))) / spread) if known.size >= 2 and spread > 1e-12 \
        else 1.0
    offset = float(b.mean() - scale * x.mean())
    by_skill = _values_by_skill(skills, difficulty - (offset + scale * seed), keep=calibrated)
    means, within, tau2 = skill_variance(by_skill)
    shift = {s: (means[s] * len(v) * tau2 / (len(v) * tau2 + within) if tau2 > 0.0 else 0.0)
             for s, v in by_skill.items()}
    return SeedMap(offset=offset, scale=scale, skill_shift=shift)


def cold_start_difficulties(*, skills: Sequence[Sequence[int]], difficulty: FloatArray,
                            calibrated: npt.NDArray[np.bool_], seed: FloatArray,
                            mapping: SeedMap | None = None) -> FloatArray:
    """b for the questions not calibrated: their seed through the calibrated questions' seed map
    (`fit_seed_map`: offset, scale and the shrunk shift of their skills). Calibrated questions keep their b;
    with none calibrated, every question keeps its seed. `mapping`: that fit, if the caller already made it
    (the nightly step stores its line for the questions added before the next night).

    (Before 2026-12-07 this was the seed plus the raw mean shift b − seed of the question's skills: the origin
    only, so seeds spread about twice as wide as the calibrated b stayed that wide; see README "Predictor".)
    """
    if mapping is None:
        mapping = fit_seed_map(skills=skills, difficulty=difficulty, calibrated=calibrated, seed=seed)
    out = np.array(difficulty, dtype=np.float64)
    for q in np.flatnonzero(~calibrated).tolist():
        out[q] = mapping.apply(float(seed[q]), skills[q])
    return out
