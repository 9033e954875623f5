"""The nightly BKT refit's fitting work on realistic, long-tailed data: fit time, next-answer AUC, cells, rounds.

Run from the repository root:

    .venv/bin/python benchmarks/bench_bkt_refit.py                     # defaults below
    .venv/bin/python benchmarks/bench_bkt_refit.py --learners 600 --seed 3
    .venv/bin/python benchmarks/bench_bkt_refit.py --cell-budget 5000000     # one EM call, before and after

Data (numpy, fixed seed): `--skills` skills with BKT parameters drawn around typical values, `--learners`
learner × skill sequences per skill from `simulate_bkt_sequences`, cut to long-tailed lengths (most learners
a handful of answers, a few with hundreds; Pareto tail, capped at the refit's `bkt_max_sequence_length`).
The answers go through the refit's own path: `skill_observations`-shaped arrays -> `bkt_training_batches`
(with the default `bkt_cell_budget`) -> `fit_bkt` per batch with one `default_rng` for the restarts, as
`run_bkt_refit` does; no database.

Prints: observations and sequences; per EM round, the cells the forward–backward pass walks and the fraction
of them that are real answers (the rest is padding) and, where the fit reports it, the cells walked over all
rounds and restarts; fit time; EM rounds per skill (best restart); the AUC of
P(correct at t | answers before t) (`predict_one_step`, on the training answers); the largest parameter error
against the truth. To measure the code before a change, put an older `functions/` first on the path, e.g.

    git archive <commit> functions | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before/functions .venv/bin/python benchmarks/bench_bkt_refit.py

(the first line of output names the smartpractice package that was imported).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

import smartpractice
from smartpractice.learner.bkt import BKTParamArrays, BKTParams
from smartpractice.learner.bkt_em import ResponseSequences, fit_bkt, predict_one_step
from smartpractice.service.maintenance_io import MaintenanceConfig
from smartpractice.service.maintenance_refits import SkillObservations, bkt_training_batches
from smartpractice_dev.simulation import roc_auc, simulate_bkt_sequences

FIRST_SKILL_ID = 101


def true_params(*, n_skills: int, rng: np.random.Generator) -> tuple[BKTParams, ...]:
    return tuple(
        BKTParams(p_init=float(rng.uniform(0.15, 0.6)), p_learn=float(rng.uniform(0.03, 0.3)),
                  p_guess=float(rng.uniform(0.1, 0.28)), p_slip=float(rng.uniform(0.04, 0.2)),
                  p_forget=float(rng.uniform(0.0, 0.06)))
        for _ in range(n_skills)
    )


def long_tailed_data(*, params: Sequence[BKTParams], n_learners: int, max_length: int, tail: float,
                     rng: np.random.Generator) -> ResponseSequences:
    """Sequences of `simulate_bkt_sequences` cut to lengths 1 + floor(3 · Pareto(tail)), at most max_length."""
    full = simulate_bkt_sequences(params=params, n_learners=n_learners, n_opportunities=max_length, rng=rng).data
    lengths = np.minimum(1 + np.floor(3.0 * rng.pareto(tail, size=full.skill_index.size)), max_length)
    width = int(lengths.max())
    mask = np.arange(width)[np.newaxis, :] < lengths[:, np.newaxis]
    responses = np.where(mask, full.responses[:, :width], 0).astype(np.int8)
    return ResponseSequences(responses, mask, full.skill_index, full.n_skills)


def as_observations(data: ResponseSequences) -> SkillObservations:
    """What `skill_observations` returns for these sequences: sorted by skill, learner, time."""
    row, position = np.nonzero(data.mask)
    return SkillObservations(skill_id=FIRST_SKILL_ID + data.skill_index[row], correct=data.responses[row, position],
                             position=position.astype(np.int64), sequence=row.astype(np.int64))


def walked_cells(data: object) -> int:
    """Cells one forward pass visits: the padded rectangle before the change, the real cells after it."""
    responses = getattr(data, "responses", None)
    mask = getattr(data, "mask", None)
    if responses is not None and mask is not None:  # padded (n_sequences, width) batch
        return int(responses.size)
    return int(getattr(data, "n_cells"))  # noqa: B009  (attribute of the packed batch only)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skills", type=int, default=20)
    parser.add_argument("--learners", type=int, default=1200, help="sequences per skill")
    parser.add_argument("--tail", type=float, default=1.1, help="Pareto shape of the lengths (smaller: longer tail)")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--cell-budget", type=int, default=None,
                        help="bkt_cell_budget (default: MaintenanceConfig's); the restarts' random starts depend on "
                             "how skills are batched, so compare versions with a budget that gives both one batch")
    args = parser.parse_args(argv)
    config = MaintenanceConfig()
    rng = np.random.default_rng(args.seed)
    truth = true_params(n_skills=args.skills, rng=rng)
    data = long_tailed_data(params=truth, n_learners=args.learners, max_length=config.bkt_max_sequence_length,
                            tail=args.tail, rng=rng)
    lengths = data.mask.sum(axis=1)
    obs = as_observations(data)
    print(f"smartpractice from {smartpractice.__path__[0]}")
    print(f"data: {args.skills} skills, {lengths.size} sequences, {obs.skill_id.size} observations; sequence "
          f"length median {np.median(lengths):.0f}, p90 {np.percentile(lengths, 90):.0f}, "
          f"p99 {np.percentile(lengths, 99):.0f}, max {lengths.max()} (seed {args.seed})")

    started = time.perf_counter()
    fit_rng = np.random.default_rng(args.seed + 1)
    fitted: dict[int, BKTParams] = {}
    iterations: list[int] = []
    converged = walked = 0
    walked_all: int | None = 0
    batches = bkt_training_batches(obs, min_observations=config.bkt_min_observations,
                                   cell_budget=args.cell_budget or config.bkt_cell_budget)
    for skill_ids, batch in batches:
        result = fit_bkt(data=batch, rng=fit_rng)
        fitted.update({int(skill): result.params[k] for k, skill in enumerate(skill_ids)})
        iterations.extend(int(i) for i in result.iterations)
        converged += int(result.converged.sum())
        walked += walked_cells(batch)
        total = getattr(result, "cells_walked", None)  # reported by the fit since the per-skill early stop
        walked_all = None if total is None or walked_all is None else walked_all + int(total)
    seconds = time.perf_counter() - started

    params = BKTParamArrays.stack([fitted[FIRST_SKILL_ID + k] for k in range(args.skills)])
    predictions = predict_one_step(data=data, params=params)
    auc = roc_auc(labels=data.responses[data.mask], scores=predictions[data.mask])
    error = max(abs(getattr(fitted[FIRST_SKILL_ID + k], name) - getattr(t, name))
                for k, t in enumerate(truth) for name in ("p_init", "p_learn", "p_guess", "p_slip", "p_forget"))
    rounds = np.array(iterations)
    print(f"batches: {len(batches)}; cells walked per EM round {walked}, real {obs.skill_id.size} "
          f"({obs.skill_id.size / walked:.1%} real, {1 - obs.skill_id.size / walked:.1%} padding)")
    if walked_all is not None:
        print(f"cells walked in all EM rounds and restarts: {walked_all} "
              f"({walked_all / obs.skill_id.size:.1f} rounds per answer)")
    print(f"fit: {seconds:.2f} s for {len(fitted)} skills (restarts and batching included), "
          f"{converged} converged")
    print(f"EM rounds per skill (best restart): min {rounds.min()}, median {np.median(rounds):.0f}, "
          f"max {rounds.max()}; all: {' '.join(str(r) for r in rounds)}")
    print(f"next-answer AUC (predict_one_step): {auc:.6f}; largest parameter error vs truth: {error:.3f}")


if __name__ == "__main__":
    main()
