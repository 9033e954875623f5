"""Offline: what each night's fitted weights serve on the next simulated day, from a demo run's `events.csv`.

`python -m smartpractice_dev.demo.nightly_replay DIR/events.csv --bank bank.json`, bank.json the JSON of
`select public.question_bank()` read after the run (the skills, options and label seeds of the questions).

The nightly fit (service/maintenance_predictor.py) replays the answers so far and fits the weights on them; the
next day is served with those weights. This emulates it from the events alone: one Rasch calibration on all the
answers (prior at the label seeds), every answer's features from the replay with its item's b without its own
outcome (predictor_fit.leave_one_out_shift; the features do not depend on the weights), then for each day d ≥ 1
the weights fitted on days < d predict day d. Its P tracks the served P (a run's mean gap within ~0.005).
Two floors: "options" (production: 1/options for a multiple-choice question, 0 for an open one) and "fitted"
(one floor per answer format, chosen with the weights by likelihood on the same training answers, on a grid of
0-0.3 by 0.025). The simulator answers every format with guess 0.15; the report says, per group, format and
days, the mean true − served P and the ECE against the true P and the answers (README "Predictor").
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from smartpractice.learner import prediction_metrics, predictor, predictor_fit
from smartpractice.learner.irt import FloatArray
from smartpractice_dev.demo.calibration_audit import Events, read_events

FLOOR_GRID = tuple(round(0.025 * i, 3) for i in range(13))


def load(events_path: Path, bank: dict[str, Any]) -> tuple[Events, npt.NDArray[np.int64], list[tuple[int, ...]],
                                                           FloatArray, FloatArray]:
    """Events, each answer's item index into the bank, the bank's skills, floors (1/options) and label seeds."""
    events = read_events(events_path)
    with events_path.open(encoding="utf-8") as handle:
        question = np.array([int(r["question_id"]) for r in csv.DictReader(handle)], dtype=np.int64)
    ids = np.asarray(bank["id"], dtype=np.int64)
    item = np.searchsorted(ids, question)
    if item.size and not np.array_equal(ids[np.minimum(item, ids.size - 1)], question):
        raise ValueError("an answered question is not in the bank")
    floors = np.array([predictor.guessing_floor(int(n)) for n in bank["n_options"]], dtype=np.float64)
    return (events, item, [tuple(int(s) for s in k) for k in bank["skill_ids"]], floors,
            np.asarray(bank["label_seed_difficulty"], dtype=np.float64))


def replayed_features(*, events: Events, item: npt.NDArray[np.int64], skills: list[tuple[int, ...]],
                      floor: FloatArray, seed: FloatArray) -> FloatArray:
    """Each answer's feature row (events order), from its item's final Rasch b without its own outcome."""
    learner = events.learner
    fit = predictor_fit.calibrate_rasch(learner=learner, item=item, correct=events.correct,
                                        n_learners=int(learner.max(initial=-1)) + 1, n_items=seed.size,
                                        prior_difficulty=seed)
    shift = predictor_fit.leave_one_out_shift(fit=fit, learner=learner, item=item, correct=events.correct)
    result = predictor_fit.replay(learner=learner, item=item, skills=[skills[i] for i in item.tolist()],
                                  correct=events.correct, floor=floor[item], difficulty=fit.difficulty,
                                  weights=predictor.Weights(), start_shift=shift)
    return result.features


def served(features: FloatArray, weights: predictor.Weights, floor: FloatArray) -> FloatArray:
    return predictor.floored_probability(logit=features @ weights.as_array(), floor=floor)


def fit(features: FloatArray, y: FloatArray, *, option_floor: FloatArray,
        fitted_floors: bool) -> tuple[predictor.Weights, tuple[float, float] | None]:
    """Weights with the 1/options floors, or with one floor per format (multiple choice, open) chosen with them
    by likelihood on FLOOR_GRID (then also returned)."""
    if not fitted_floors:
        return predictor_fit.fit_weights(features=features, correct=y, floor=option_floor), None
    choice = option_floor > 0.0
    best: tuple[float, predictor.Weights, tuple[float, float]] | None = None
    for a in FLOOR_GRID:
        for b in FLOOR_GRID:
            floor = np.where(choice, a, b)
            weights = predictor_fit.fit_weights(features=features, correct=y, floor=floor)
            loss = prediction_metrics.log_loss(y, served(features, weights, floor))
            if best is None or loss < best[0]:
                best = (loss, weights, (a, b))
    assert best is not None
    return best[1], best[2]


def next_day(*, events: Events, features: FloatArray, option_floor: FloatArray,
             fitted_floors: bool) -> tuple[FloatArray, list[tuple[float, float]]]:
    """Per answer of day d ≥ 1, P from the weights fitted on days < d (NaN on day 0, served before any fit);
    with `fitted_floors`, also each night's (multiple choice, open) floors."""
    p = np.full(events.day.size, np.nan)
    nights: list[tuple[float, float]] = []
    choice = option_floor > 0.0
    for d in range(1, int(events.day.max(initial=0)) + 1):
        train, test = events.day < d, events.day == d
        weights, pair = fit(features[train], events.correct[train], option_floor=option_floor[train],
                            fitted_floors=fitted_floors)
        floor = option_floor[test] if pair is None else np.where(choice[test], *pair)
        p[test] = served(features[test], weights, floor)
        nights.extend([] if pair is None else [pair])
    return p, nights


def table(events: Events, p: FloatArray, *, choice: npt.NDArray[np.bool_]) -> list[str]:
    lines = []
    for group in sorted(set(events.group.tolist())):
        for name, mask in (("days 1+", events.day >= 1), ("days 8+", events.day >= 8),
                           ("days 1+ multiple choice", (events.day >= 1) & choice),
                           ("days 1+ open", (events.day >= 1) & ~choice)):
            k = (events.group == group) & mask & ~np.isnan(p)
            if k.any():
                lines.append(f"  {group:<9} {name:<24} n {int(k.sum()):>5}  true−P "
                             f"{float(np.mean(events.true_p[k] - p[k])):+.3f}  ECE vs true "
                             f"{prediction_metrics.ece(events.true_p[k], p[k]):.3f}  ECE "
                             f"{prediction_metrics.ece(events.correct[k], p[k]):.3f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartpractice_dev.demo.nightly_replay")
    parser.add_argument("events", type=Path)
    parser.add_argument("--bank", type=Path, required=True, help="JSON of public.question_bank() after the run")
    args = parser.parse_args(argv)
    events, item, skills, floors, seed = load(args.events, json.loads(args.bank.read_text(encoding="utf-8")))
    features = replayed_features(events=events, item=item, skills=skills, floor=floors, seed=seed)
    option_floor, choice = floors[item], floors[item] > 0.0
    print("served (events.csv)")
    print("\n".join(table(events, events.predicted, choice=choice)))
    for fitted in (False, True):
        p, nights = next_day(events=events, features=features, option_floor=option_floor, fitted_floors=fitted)
        print(f"next day, floor {'fitted per format' if fitted else '1/options (production)'}"
              + (" (multiple choice / open per night: " + ", ".join(f"{a:.3f}/{b:.3f}" for a, b in nights) + ")"
                 if nights else ""))
        print("\n".join(table(events, p, choice=choice)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
