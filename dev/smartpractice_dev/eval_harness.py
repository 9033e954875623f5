"""Evaluation harness: every predictor predicts each test answer before seeing it (split by learner).

    make eval                                       # the committed synthetic dataset
    .venv/bin/python -m smartpractice_dev.eval_harness PATH [--test-fraction 0.2] [--seed 15] [--ablation]

Fitting uses training learners only (the nightly job's role); test learners are replayed in time order with
every online update the product makes (item difficulties keep moving on test answers, by bounded steps).
Predictors (columns of the report):
- item average: the training success rate of the question (smoothed toward the global rate; unseen → global);
- Elo: the project's multi-skill Elo (learner.elo, EloConfig()), difficulties learned by replaying training;
- BKT: the project's BKT, EM-fitted per skill on training (bkt_em.fit_bkt), conjunctive over skills;
- production: smartpractice.learner.predictor, as the nightly job fits it (service/maintenance_predictor.py):
  Rasch difficulties with the prior centred on each question's authored seed (the data's item_difficulty
  column; 0 without it) + its skills' shift (calibrate_rasch's `skills`), then weights on features
  replayed by predictor_fit.replay (b moves only on a learner's first answer to the question, as record_answer
  allows);
- cold start: the same weights ("a previous fit"), new learners (θ from 0, learned online), and a question bank
  none of whose answers were calibrated: b from 0 (no seed); from the authored seed, as served before the first
  night (private.predictor_seed_difficulty); from the seed through the nightly cold start
  (predictor_fit.cold_start_difficulties: a seed map fitted on OTHER calibrated questions — the bank in two
  seeded halves, each half's b from a map calibrated on the training answers to the other half only; the seed
  is the authored one on both sides, as the nightly job has it with question_bank's label_seed_difficulty);
  with --ablation also "seed through a stored line": the map's offset + scale alone, what serving a previous
  fit's line before the first night would give (not served: a proposal, see README).
After the table: the production predictor's calibration by the question's number of skills and by a first answer
on one of its skills (`calibration_slices`); with --ablation also the same for the 6 weights of before (without
the skill count log m).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from smartpractice.learner import bkt, bkt_em, elo, predictor
from smartpractice.learner.prediction_metrics import auc, ece, log_loss
from smartpractice.learner.predictor_fit import (
    RaschFit,
    calibrate_rasch,
    cold_start_difficulties,
    fit_seed_map,
    fit_weights,
    leave_one_out_shift,
    replay,
)
from smartpractice_dev.demo.calibration_audit import first_on_skill
from smartpractice_dev.eval_io import AnswerLog, read_answers, split_learners

DEFAULT_DATA = Path("data/eval/synthetic.csv.gz")
FloatArray = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Scores:
    name: str
    auc: float
    log_loss: float
    ece: float


def score(name: str, y: npt.ArrayLike, p: FloatArray) -> Scores:
    return Scores(name, auc(y, p), log_loss(y, p), ece(y, p))


def _rows(log: AnswerLog, mask: Mask) -> list[tuple[int, int, int]]:
    return [(u, a, b) for u, a, b in log.learner_slices() if mask[a]]


# --- baselines -------------------------------------------------------------------------------------------------


def item_average(log: AnswerLog, train: Mask, *, prior: float = 5.0) -> FloatArray:
    y = log.correct.astype(np.float64)
    base = float(y[train].mean())
    n = np.bincount(log.item[train], minlength=len(log.item_names))
    k = np.bincount(log.item[train], y[train], minlength=len(log.item_names))
    result: FloatArray = ((k + prior * base) / (n + prior))[log.item]
    return result


def elo_replay(log: AnswerLog, train: Mask) -> FloatArray:
    """Per-skill Elo, item×skill difficulties learned on training learners, then moving on test answers too."""
    config = elo.EloConfig()
    difficulty: dict[tuple[int, int], float] = {}
    seen: dict[tuple[int, int], int] = {}
    out = np.empty(len(log))
    for phase in (train, ~train):
        for _, start, stop in _rows(log, phase):
            rating: dict[int, float] = {}
            count: dict[int, int] = {}
            for r in range(start, stop):
                skills = log.skills[r]
                keys = [(int(log.item[r]), s) for s in skills]
                result = elo.update_ratings(
                    learner_ratings=[rating.get(s, config.initial_rating) for s in skills],
                    learner_attempts=[count.get(s, 0) for s in skills],
                    difficulties=[difficulty.get(key, config.initial_rating) for key in keys],
                    question_attempts=[seen.get(key, 0) for key in keys], score=float(log.correct[r]),
                    config=config)
                out[r] = result.expected_correct
                for j, (s, key) in enumerate(zip(skills, keys, strict=True)):
                    rating[s] = float(result.learner_ratings[j])
                    count[s] = count.get(s, 0) + 1
                    difficulty[key] = difficulty.get(key, config.initial_rating) + float(result.difficulty_deltas[j])
                    seen[key] = seen.get(key, 0) + 1
    return out


def bkt_fit(log: AnswerLog, train: Mask, *, seed: int) -> bkt.BKTParamArrays:
    sequences: dict[tuple[int, int], list[int]] = {}
    for r in np.flatnonzero(train):
        for s in log.skills[r]:
            sequences.setdefault((int(log.user[r]), s), []).append(int(log.correct[r]))
    keys = list(sequences)
    data = bkt_em.ResponseSequences.from_lists(sequences=[sequences[k] for k in keys],
                                               skill_index=[k[1] for k in keys], n_skills=len(log.skill_names))
    fit = bkt_em.fit_bkt(data=data, rng=np.random.default_rng(seed))
    return bkt.BKTParamArrays.stack(list(fit.params))


def bkt_replay(log: AnswerLog, train: Mask, params: bkt.BKTParamArrays) -> FloatArray:
    """Test learners only (BKT's parameters are the fit; its state is per learner)."""
    out = np.full(len(log), np.nan)
    for _, start, stop in _rows(log, ~train):
        known: dict[int, float] = {}
        for r in range(start, stop):
            skills = list(log.skills[r])
            sub = bkt.BKTParamArrays(**{name: getattr(params, name)[skills] for name in bkt.PROBABILITY_FIELDS})
            p_known = np.array([known.get(s, float(params.p_init[s])) for s in skills])
            out[r] = float(np.prod(bkt.predict_correct_array(p_known=p_known, params=sub)))
            after = bkt.update_known_conjunctive(p_known=p_known, is_correct=bool(log.correct[r]), params=sub)
            known.update(zip(skills, (float(v) for v in after), strict=True))
    return out


# --- the production predictor -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    """One configuration of the production predictor (the ablation varies these)."""

    name: str
    config: predictor.PredictorConfig = field(default_factory=predictor.PredictorConfig)
    calibrated_items: bool = True  # start from the nightly Rasch difficulties (else every b at 0)
    feature_mask: tuple[bool, ...] = (True,) * predictor.N_FEATURES
    sliced: bool = False  # the ablation also reports its calibration slices (the gap the feature closes)


def production_replay(log: AnswerLog, mask: Mask, *, difficulty: FloatArray, weights: predictor.Weights,
                      variant: Variant) -> tuple[FloatArray, FloatArray]:
    """Predictions and feature rows for the masked learners (NaN / 0 elsewhere), by the nightly job's replay:
    every learner from the prior state, items shared and moving across learners."""
    rows = np.flatnonzero(mask)
    result = replay(learner=log.user[rows], item=log.item[rows], skills=[log.skills[r] for r in rows],
                    correct=log.correct[rows], floor=0.0, difficulty=difficulty, weights=weights,
                    config=variant.config)
    p = np.full(len(log), np.nan)
    x = np.zeros((len(log), predictor.N_FEATURES))
    p[rows], x[rows] = result.p_correct, result.features
    return p, x


def seeds(log: AnswerLog) -> FloatArray | None:
    """The authored seed per item in logits (an item without one at 0, as the SQL seed of default Elo rows)."""
    return None if log.item_difficulty is None else np.nan_to_num(log.item_difficulty, nan=0.0)


def calibrate(log: AnswerLog, rows: npt.NDArray[np.int64], *, prior: FloatArray | None) -> RaschFit:
    """The nightly Rasch calibration on the given answer rows, the prior centred on `prior` (0 if None) + the
    mean shift of the item's skills (calibrate_rasch's hierarchical prior, as the nightly job fits it); an item
    without answers in `rows` gets exactly that prior mean."""
    return calibrate_rasch(learner=log.user[rows], item=log.item[rows], correct=log.correct[rows],
                           n_learners=len(log.user_names), n_items=len(log.item_names), prior_difficulty=prior,
                           skills=item_skills(log))


def fit_production(log: AnswerLog, train: Mask, variant: Variant) -> tuple[FloatArray, predictor.Weights]:
    """The nightly job on training learners: Rasch difficulties (prior at the seeds), then weights on replayed
    features, each answer from its item's b without its own outcome (predictor_fit.leave_one_out_shift)."""
    rows = np.flatnonzero(train)
    difficulty = np.zeros(len(log.item_names))
    shift = np.zeros(rows.size)
    if variant.calibrated_items:
        fit = calibrate(log, rows, prior=seeds(log))
        difficulty = fit.difficulty
        shift = leave_one_out_shift(fit=fit, learner=log.user[rows], item=log.item[rows], correct=log.correct[rows])
    result = replay(learner=log.user[rows], item=log.item[rows], skills=[log.skills[r] for r in rows],
                    correct=log.correct[rows], floor=0.0, difficulty=difficulty, weights=predictor.Weights(),
                    config=variant.config, start_shift=shift)
    keep = np.asarray(variant.feature_mask, dtype=np.float64)
    weights = fit_weights(features=result.features * keep, correct=log.correct[rows])
    return difficulty, weights


def item_skills(log: AnswerLog) -> list[tuple[int, ...]]:
    skills: list[tuple[int, ...]] = [()] * len(log.item_names)
    for q, k in zip(log.item.tolist(), log.skills, strict=True):
        skills[q] = skills[q] or k
    return skills


def cold_start_mapped(log: AnswerLog, train: Mask, seed: FloatArray, *, split_seed: int,
                      line_only: bool = False) -> FloatArray:
    """Each question's nightly cold start b from a seed map it did not feed: the bank in two seeded halves; for
    each half, Rasch on the training answers to the OTHER half only, then cold_start_difficulties (or, with
    `line_only`, the map's offset + scale · seed alone: what serving a previous fit's line would give)."""
    half = np.random.default_rng(split_seed).random(len(log.item_names)) < 0.5
    skills = item_skills(log)
    out = np.empty(len(log.item_names))
    for new in (half, ~half):
        rows = np.flatnonzero(train & ~new[log.item])
        calibrated = calibrate(log, rows, prior=seed).difficulty
        if line_only:
            mapping = fit_seed_map(skills=skills, difficulty=calibrated, calibrated=~new, seed=seed)
            out[new] = mapping.offset + mapping.scale * seed[new]
        else:
            out[new] = cold_start_difficulties(skills=skills, difficulty=np.where(new, seed, calibrated),
                                               calibrated=~new, seed=seed)[new]
    return out


def evaluate_variant(log: AnswerLog, train: Mask, variant: Variant, *, start: FloatArray | None = None) -> FloatArray:
    """Test predictions with the variant's nightly fit; `start` replaces the fitted difficulties (cold starts)."""
    difficulty, weights = fit_production(log, train, variant)
    masked = predictor.Weights(tuple(w if keep else 0.0 for w, keep in
                                     zip(weights.values, variant.feature_mask, strict=True)))
    p, _ = production_replay(log, ~train, difficulty=difficulty if start is None else start, weights=masked,
                             variant=variant)
    return p


@dataclass(frozen=True, slots=True)
class SliceScores:
    name: str
    n: int
    predicted: float  # mean predicted P
    observed: float  # share correct
    ece: float

    @property
    def gap(self) -> float:
        """Observed − predicted: > 0 the predictor is too low on this slice."""
        return self.observed - self.predicted


def calibration_slices(log: AnswerLog, test: Mask, p: FloatArray) -> list[SliceScores]:
    """The test answers' calibration by the question's number of skills (1, 2, 3+) and by whether one of its
    skills is answered for the first time by the learner (the multi-skill and first-skill gaps of issue 15)."""
    rows = np.flatnonzero(test)
    y = log.correct[rows].astype(np.float64)
    q = p[rows]
    m = np.array([len(log.skills[r]) for r in rows.tolist()])
    first = first_on_skill(learner=log.user[rows].tolist(), skills=[log.skills[r] for r in rows.tolist()])
    out = []
    for name, mask in (("one-skill questions", m == 1), ("two-skill questions", m == 2),
                       ("3+-skill questions", m >= 3), ("first answer on one of its skills", first),
                       ("all its skills answered before", ~first)):
        if mask.any():
            out.append(SliceScores(name, int(mask.sum()), float(q[mask].mean()), float(y[mask].mean()),
                                   ece(y[mask], q[mask])))
    return out


ABLATION = (
    Variant("production (all components)"),
    Variant("− counts (Platt on z only)", feature_mask=(True, True, False, False, False, False, True, True)),
    Variant("− global counts", feature_mask=(True, True, True, True, False, False, True, True)),
    Variant("− skill count (log m)", feature_mask=(True,) * 6 + (False, True), sliced=True),
    Variant("− new skill", feature_mask=(True,) * 7 + (False,), sliced=True),
    Variant("− global ability θ (per-skill only)", config=replace(
        predictor.PredictorConfig(), ability=predictor.StepSchedule(1e-9, 1e-9, 0.0),
        deviation=predictor.StepSchedule(0.8, 0.08, 0.15))),
    Variant("− nightly item calibration (b from 0)", calibrated_items=False),
    Variant("− calibration (raw σ(z), no weights)", feature_mask=(False, True) + (False,) * 6),
)


def run(path: Path, *, test_fraction: float, seed: int, ablation: bool,
        echo: Callable[[str], None] = print) -> list[Scores]:
    began = time.perf_counter()
    log = read_answers(path)
    test = split_learners(log, test_fraction=test_fraction, seed=seed)
    train = ~test
    y = log.correct[test]
    echo(f"data: {path} — {len(log)} answers, {len(log.user_names)} learners, {len(log.item_names)} items, "
         f"{len(log.skill_names)} skills, {log.correct.mean():.3f} correct; test {int(test.sum())} answers "
         f"of {round(test_fraction * len(log.user_names))} held-out learners (seed {seed}); "
         f"{log.skipped_rows} rows skipped, {log.merged_rows} per-skill rows merged into their answer")
    authored = seeds(log)
    if log.item_difficulty is None:
        echo("no item_difficulty column: Rasch prior at 0 + the skills' shift, seeded cold-start rows are skipped")
    else:
        echo(f"item_difficulty (authored seed): {int(np.isfinite(log.item_difficulty).sum())} of "
             f"{len(log.item_names)} items, {log.difficulty_conflicts} conflicting rows (first value kept)")
    results = [score("item average", y, item_average(log, train)[test]),
               score("Elo (project, per skill)", y, elo_replay(log, train)[test]),
               score("BKT (project, EM per skill)", y, bkt_replay(log, train, bkt_fit(log, train, seed=seed))[test])]
    production = Variant("production")
    echo("production weights (" + ", ".join(predictor.FEATURE_NAMES) + "): "
         + ", ".join(f"{w:.3f}" for w in fit_production(log, train, production)[1].values))
    sliced = {"production": evaluate_variant(log, train, production)}
    results.append(score("production predictor", y, sliced["production"][test]))
    n_items = len(log.item_names)
    results.append(score("cold start, no seed (b from 0)", y,
                         evaluate_variant(log, train, production, start=np.zeros(n_items))[test]))
    if authored is not None:
        results.append(score("cold start, authored seed", y,
                             evaluate_variant(log, train, production, start=authored)[test]))
        results.append(score("cold start, seed through the seed map", y, evaluate_variant(
            log, train, production, start=cold_start_mapped(log, train, authored, split_seed=seed))[test]))
    if ablation:
        if authored is not None:
            results.append(score("cold start, seed through a stored line", y, evaluate_variant(
                log, train, production,
                start=cold_start_mapped(log, train, authored, split_seed=seed, line_only=True))[test]))
        for v in ABLATION[1:]:
            p = evaluate_variant(log, train, v)
            results.append(score(v.name, y, p[test]))
            if v.sliced:
                sliced[v.name] = p
    echo(f"{'predictor':40s} {'AUC':>7s} {'logloss':>8s} {'ECE':>7s}")
    for s in results:
        echo(f"{s.name:40s} {s.auc:7.4f} {s.log_loss:8.4f} {s.ece:7.4f}")
    for name, p in sliced.items():
        echo(f"calibration slices, {name} (observed − predicted):")
        for c in calibration_slices(log, test, p):
            echo(f"  {c.name:36s} n {c.n:6d}  predicted {c.predicted:.3f}  observed {c.observed:.3f}  "
                 f"gap {c.gap:+.3f}  ECE {c.ece:.4f}")
    echo(f"({time.perf_counter() - began:.1f} s)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path, nargs="?", default=DEFAULT_DATA)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--ablation", action="store_true", help="also each component removed in turn")
    args = parser.parse_args()
    run(args.path, test_fraction=args.test_fraction, seed=args.seed, ablation=args.ablation)


if __name__ == "__main__":
    main()
