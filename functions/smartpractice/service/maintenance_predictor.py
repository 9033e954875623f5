"""Nightly step `predictor_fit`: the served predictor's difficulties b and calibration weights.

From the refits' one read of recent answers (whole histories of a random sample of learners, at most
`predictor_max_answers` of them); only answers that carried evidence when served (maintenance_io.served_evidence:
not a repeat within 7 days, not faster than half the type's plausible minimum) calibrate b, and the too-fast ones
fit no weight either, as they moved nothing online: one account's scripted answers move no shared value at night
(`answers_without_evidence` counts the answers outside the calibration; all are replayed, serving predicted them):
1. a sparse Rasch calibration (predictor_fit.calibrate_rasch) gives b for every question answered in the
   window, with a prior centred on the question's seed from its current Elo rows (`seed_difficulty`: its
   difficulty label as created, then last night's IRT and record_answer's Elo steps) + the mean shift of its
   skills fitted jointly (calibrate_rasch's `skills`: hierarchical shrinkage), so a question with few answers
   stays near its seed moved by its skills' level (on ASSISTments 2009, +0.002 AUC; README "Real data"); a
   question without answers that was never calibrated nor moved online (stored
   b null) gets the cold start: its LABEL seed (`label_seed_difficulty`: the same conjunctive rule at its
   difficulty label's Elo base, private.predictor_label_seed_difficulty) through the seed map fitted on the
   calibrated questions' label seeds against their b, offset + scale · label seed + its skills' shrunk shift
   (predictor_fit.cold_start_difficulties). Both sides of the map are label seeds: a calibrated question's Elo
   rows no longer hold its label (IRT resets them nightly), and a map fitted on them (≈ b already, scale ≈ 1)
   would leave a new question's label seed about where it is (README "Predictor", cold start). The calibration
   starts from the seeds, not from the stored b: those already moved with the answers replayed below, which
   would leak each outcome into its prediction;
2. the answers are replayed in time order through the online predictor from those difficulties, each predicted
   before it is used and each from its item's b WITHOUT its own outcome (predictor_fit.leave_one_out_shift:
   served answers are never predicted from a b fitted on themselves; replaying from the b of 1. leaked each
   outcome into its own z and inflated the z weight, most on a young bank) and each moving the state by the
   evidence weight its online step had (evidence.replayed_evidence from attempt_log_page's served_seconds: 0 for
   a repeat or a too-fast answer, which move nothing when served, so the counts and abilities replayed are the
   ones served), and the weights
   are fitted on those
   features together with one guessing floor per answer format (predictor_floors.fit_weights_and_floors: multiple
   choice and open answers, each with a Gaussian prior σ = 0.05 at its default, the mean 1/options of its answers
   or 0; the floor is stored with the weights and served to every question of the format,
   private.served_guessing_floor); a row with the sample size and the
   AUC, log-loss and ECE of the fitted weights on those replayed rows is stored, with the seed map's line
   (seed_offset, seed_scale; not its skill shifts): until its first night, a question added after this one is
   served offset + scale · its label seed (private.served_cold_difficulty). Fewer than `predictor_min_answers`
   answers, or weights that are not servable (predictor_fit.servable: the z weight below MIN_Z_WEIGHT, counted
   as weights_rejected): no new weights, and the latest stored weights and line stay the ones served.
The functions read the latest weights with the learner contexts (no cache to invalidate).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from smartpractice.learner import prediction_metrics, predictor, predictor_fit, predictor_floors
from smartpractice.service.maintenance_io import (
    AttemptLog,
    Row,
    StepContext,
    read_attempts,
    read_table,
    served_evidence,
)

MIN_ANSWERS = 200  # fewer answers than this leave yesterday's weights in place
MAX_ANSWERS = 200_000  # the replay is a Python loop: ~10 µs per answer


def sample(attempts: AttemptLog, *, max_answers: int) -> AttemptLog:
    """Whole histories of the first learners (in the read's random uuid order) up to `max_answers` answers."""
    if attempts.size <= max_answers:
        return attempts
    per_learner = np.bincount(attempts.learner, minlength=attempts.n_learners)
    n_learners = max(1, int(np.searchsorted(np.cumsum(per_learner), max_answers, side="right")))
    return replace(attempts.subset(attempts.learner < n_learners, n_learners=n_learners), capped=True)


def run_predictor_fit(ctx: StepContext) -> dict[str, int]:
    attempts = read_attempts(ctx, since=ctx.day_end - timedelta(days=ctx.config.irt_window_days),
                             step="predictor_fit")
    bank: Row = ctx.store.call("question_bank", {})
    ids = np.asarray(bank["id"], dtype=np.int64)
    skills = [tuple(int(s) for s in k) for k in bank["skill_ids"]]
    seed = np.asarray(bank["seed_difficulty"], dtype=np.float64)  # from the Elo rows (never the stored b)
    label_seed = np.asarray(bank["label_seed_difficulty"], dtype=np.float64)  # from the difficulty labels
    n_options = np.asarray(bank["n_options"], dtype=np.int64)  # 0: numeric
    floors = np.array([predictor.guessing_floor(int(n)) for n in n_options], dtype=np.float64)
    stored = {int(r["question_id"]) for r in read_table(
        ctx.store, "question_difficulty_params", "question_id,predictor_difficulty", order="question_id",
        page=ctx.config.read_page) if r.get("predictor_difficulty") is not None}

    # answers to active questions, in time order (stable: a learner's answers keep their order)
    at = np.clip(np.searchsorted(ids, attempts.question_id), 0, max(ids.size - 1, 0))
    active = (ids[at] == attempts.question_id) if ids.size else np.zeros(attempts.size, dtype=bool)
    log = sample(attempts.subset(active, n_learners=attempts.n_learners), max_answers=MAX_ANSWERS)
    item = np.searchsorted(ids, log.question_id)
    counts = {"answers": log.size, "learners": int(np.unique(log.learner).size), "items_calibrated": 0,
              "items_cold_start": 0, "weights_fitted": 0, "weights_rejected": 0, "answers_without_evidence": 0}
    if log.size == 0:
        return counts

    # b is a question's difficulty at first sight: only answers that carried evidence when served calibrate it
    # (not a repeat, which moved nothing online, nor a too-fast answer). The weights are fitted on every answer but
    # the too-fast ones: serving predicts repeats too, while one account's thousands of scripted instant answers
    # (harvested keys) moved nothing online and must not move a shared value at night either. Every answer is
    # replayed (serving predicted it), moving the state by the weight its online step had.
    served_weight = served_evidence(log, question_types={int(q): "multiple_choice" if n > 0 else "numeric"
                                                         for q, n in zip(ids, n_options, strict=True)})
    weight = served_weight.weight
    evidence = weight > 0.0
    rasch = predictor_fit.calibrate_rasch(learner=log.learner[evidence], item=item[evidence],
                                          correct=log.correct[evidence], n_learners=log.n_learners,
                                          n_items=ids.size, prior_difficulty=seed, skills=skills)
    calibrated = np.bincount(item[evidence], minlength=ids.size) > 0
    fitted = np.where(calibrated, rasch.difficulty, seed)
    mapping = predictor_fit.fit_seed_map(skills=skills, difficulty=fitted, calibrated=calibrated, seed=label_seed)
    difficulty = predictor_fit.cold_start_difficulties(skills=skills, difficulty=fitted, calibrated=calibrated,
                                                       seed=label_seed, mapping=mapping)
    cold = ~calibrated & ~np.isin(ids, np.fromiter(stored, dtype=np.int64, count=len(stored)))
    write = calibrated | cold
    rows = [{"question_id": int(q), "difficulty": float(b)} for q, b in zip(ids[write], difficulty[write], strict=True)]
    if rows:
        ctx.store.call("set_predictor_difficulties", {"p_rows": rows})
    counts["items_calibrated"], counts["items_cold_start"] = int(calibrated.sum()), int(cold.sum())

    counts["answers_without_evidence"] = int(log.size - evidence.sum())
    order = np.argsort(log.answered_epoch, kind="stable")
    fitted_rows = ~served_weight.too_fast[order]
    if fitted_rows.sum() < MIN_ANSWERS:
        return counts
    served = np.where(write, difficulty, np.asarray(bank["predictor_difficulty"], dtype=np.float64))
    # each answer replayed from its item's b WITHOUT its own outcome (predictor_fit.leave_one_out_shift): served
    # predictions never saw their own answer, and a replay from the b fitted on it inflated the z weight
    leave_out = np.zeros(log.size)  # an answer outside the calibration did not move its b
    leave_out[evidence] = predictor_fit.leave_one_out_shift(fit=rasch, learner=log.learner[evidence],
                                                            item=item[evidence], correct=log.correct[evidence])
    floor = floors[item[order]]
    replayed = predictor_fit.replay(learner=log.learner[order], item=item[order],
                                    skills=[skills[i] for i in item[order]], correct=log.correct[order],
                                    floor=floor, difficulty=served, weights=predictor.Weights(),
                                    start_shift=leave_out[order], evidence=weight[order])
    y = log.correct[order][fitted_rows].astype(np.float64)
    floor = floor[fitted_rows]
    # one guessing floor per format with the weights, each with a prior at its default (predictor_floors)
    group = np.array([predictor_floors.format_group(int(n)) for n in n_options], dtype=np.int64)[item[order]]
    group = group[fitted_rows]
    centre = [float(floor[group == g].mean()) if np.any(group == g) else 0.0
              for g in (predictor_floors.MULTIPLE_CHOICE, predictor_floors.OPEN)]
    fit = predictor_floors.fit_weights_and_floors(features=replayed.features[fitted_rows], correct=y, group=group,
                                                  centre=centre)
    weights = fit.weights
    if not predictor_fit.servable(weights):  # yesterday's weights, seed line and floors stay the ones served
        counts["weights_rejected"] = 1
        return counts
    floor = np.array([c if c is not None else 0.0 for c in fit.floors])[group]
    logit = replayed.features[fitted_rows] @ weights.as_array()
    p = predictor.floored_probability(logit=logit, floor=floor)
    auc = prediction_metrics.auc(y, p)
    ctx.store.call("insert_predictor_weights", {"p_row": {
        "fitted_at": ctx.now.isoformat(), "n_answers": int(y.size), "weights": list(weights.values),
        "auc": None if np.isnan(auc) else auc, "log_loss": prediction_metrics.log_loss(y, p),
        "ece": prediction_metrics.ece(y, p), "seed_offset": mapping.offset, "seed_scale": mapping.scale,
        "floor_multiple_choice": fit.floors[predictor_floors.MULTIPLE_CHOICE],
        "floor_open": fit.floors[predictor_floors.OPEN]}})
    counts["weights_fitted"] = 1
    return counts
