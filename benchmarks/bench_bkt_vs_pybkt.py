"""Benchmark: our vectorised BKT EM (smartpractice.learner.bkt_em) against pyBKT on the same generated data.

Run from the repository root:

    .venv/bin/python benchmarks/bench_bkt_vs_pybkt.py                 # defaults below
    .venv/bin/python benchmarks/bench_bkt_vs_pybkt.py --learners 2000 --skills 3 --restarts 2

Prints, for both implementations: total fit time (all skills, all restarts), the speed ratio, and the
AUC of one-step-ahead predictions (P(correct at t | answers before t)) on the training data.

How pyBKT is driven (pyBKT 1.4.3 with numpy 2.4 / scikit-learn 1.9): `pyBKT.models` fails to import
(its metric probing calls a private scikit-learn function that now raises AttributeError) and
`pyBKT.fit.EM_fit.EM_fit` fails on numpy >= 2 (it stores a (1, 1) array into a scalar slot).  We
therefore run pyBKT's own E-step (`EM_fit.run`) and M-step (`M_step.run`) in a loop identical to
`EM_fit.EM_fit` (tol 0.005, at most 100 iterations), with `random_model_uni` + uniform forgets as
initialisation exactly as `Model._fit` does with `forgets=True`, serially (parallel=False), one skill
at a time as `Model.fit` does.  The test tests/unit/learner/test_bkt_vs_pybkt.py imports this module.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyBKT.fit import EM_fit, M_step, predict_onestep
from pyBKT.generate import random_model_uni

from smartpractice.learner.bkt import BKTParams
from smartpractice.learner.bkt_em import EMConfig, ResponseSequences, fit_bkt, predict_one_step
from smartpractice_dev.simulation import roc_auc, simulate_bkt_sequences

TRUE_PARAMS = (
    BKTParams(p_init=0.3, p_learn=0.15, p_guess=0.2, p_slip=0.1, p_forget=0.03),
    BKTParams(p_init=0.5, p_learn=0.08, p_guess=0.25, p_slip=0.15, p_forget=0.05),
    BKTParams(p_init=0.2, p_learn=0.25, p_guess=0.1, p_slip=0.05, p_forget=0.01),
)

PyBKTModel = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Comparison:
    n_sequences: int
    n_obs: int
    ours_seconds: float
    pybkt_seconds: float
    ours_auc: float
    pybkt_auc: float
    ours_params: tuple[BKTParams, ...]
    pybkt_params: tuple[dict[str, float], ...]

    @property
    def speedup(self) -> float:
        return self.pybkt_seconds / self.ours_seconds


def to_pybkt_data(*, responses: NDArray[np.int8], mask: NDArray[np.bool_]) -> dict[str, NDArray[Any]]:
    """pyBKT's layout: one flat row of 1 = wrong / 2 = right, 1-based starts, lengths, resource 1."""
    lengths = mask.sum(axis=1).astype(np.int64)
    flat = responses[mask].astype(np.int32) + 1  # row-major: each sequence stays contiguous
    starts = np.concatenate([[1], 1 + np.cumsum(lengths)[:-1]]).astype(np.int64)
    return {"data": flat[np.newaxis, :], "starts": starts, "lengths": lengths,
            "resources": np.ones(flat.size, dtype=np.int64)}


def _pybkt_em(model: PyBKTModel, data: dict[str, NDArray[Any]], tol: float, max_iterations: int) -> tuple[
    PyBKTModel, float
]:
    trans, emission, initial = np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((2, 1))
    previous = -np.inf
    loglike = -np.inf
    for iteration in range(max_iterations):
        result = EM_fit.run(data, model, trans, emission, initial, 1, False, fixed={})
        result["all_trans_softcounts"][0] = result["all_trans_softcounts"][0].transpose()
        result["all_emission_softcounts"][0] = result["all_emission_softcounts"][0].transpose()
        loglike = float(np.asarray(result["total_loglike"]).item())
        if iteration > 1 and abs(loglike - previous) <= tol:
            break
        previous = loglike
        trans, emission = result["all_trans_softcounts"], result["all_emission_softcounts"]
        initial = result["all_initial_softcounts"]
        model = M_step.run(model, trans, emission, initial, fixed={})
    return model, loglike


def fit_pybkt_skill(
    *, data: dict[str, NDArray[Any]], n_restarts: int, rand: np.random.RandomState, tol: float = 0.005,
    max_iterations: int = 100,
) -> PyBKTModel:
    """Best-likelihood pyBKT fit over `n_restarts` random starts (as Model._fit with forgets=True)."""
    best: PyBKTModel | None = None
    best_loglike = -np.inf
    for _ in range(n_restarts):
        start = random_model_uni.random_model_uni(1, 1, rand=rand)
        start["forgets"] = rand.uniform(size=start["forgets"].shape)
        model, loglike = _pybkt_em(start, data, tol, max_iterations)
        if loglike > best_loglike:
            best, best_loglike = model, loglike
    assert best is not None
    return best


def predict_pybkt(*, model: PyBKTModel, data: dict[str, NDArray[Any]]) -> NDArray[np.float64]:
    predictions, _ = predict_onestep.run(model, data, parallel=False)
    return np.asarray(predictions, dtype=np.float64)


def _skill_rows(data: ResponseSequences, skill: int) -> dict[str, NDArray[Any]]:
    rows = data.skill_index == skill
    return to_pybkt_data(responses=data.responses[rows], mask=data.mask[rows])


def compare(
    *, true_params: Sequence[BKTParams], n_learners: int, n_opportunities: int, min_opportunities: int,
    n_restarts: int, seed: int,
) -> Comparison:
    simulation = simulate_bkt_sequences(
        params=true_params, n_learners=n_learners, n_opportunities=n_opportunities,
        rng=np.random.default_rng(seed), min_opportunities=min_opportunities,
    )
    data = simulation.data
    per_skill = [_skill_rows(data, k) for k in range(data.n_skills)]

    started = time.perf_counter()
    ours = fit_bkt(data=data, rng=np.random.default_rng(seed + 1), config=EMConfig(n_restarts=n_restarts))
    ours_seconds = time.perf_counter() - started
    ours_predictions = predict_one_step(data=data, params=ours.param_arrays)

    rand = np.random.RandomState(seed + 1)
    started = time.perf_counter()
    models = [fit_pybkt_skill(data=skill_data, n_restarts=n_restarts, rand=rand) for skill_data in per_skill]
    pybkt_seconds = time.perf_counter() - started

    labels, ours_scores, pybkt_scores = [], [], []
    for k, (model, skill_data) in enumerate(zip(models, per_skill, strict=True)):
        rows = data.skill_index == k
        labels.append(data.responses[rows][data.mask[rows]])
        ours_scores.append(ours_predictions[rows][data.mask[rows]])
        pybkt_scores.append(predict_pybkt(model=model, data=skill_data))
    y = np.concatenate(labels)
    return Comparison(
        n_sequences=int(data.skill_index.size),
        n_obs=int(y.size),
        ours_seconds=ours_seconds,
        pybkt_seconds=pybkt_seconds,
        ours_auc=roc_auc(labels=y, scores=np.concatenate(ours_scores)),
        pybkt_auc=roc_auc(labels=y, scores=np.concatenate(pybkt_scores)),
        ours_params=ours.params,
        pybkt_params=tuple(
            {name: float(np.ravel(m[name])[0]) for name in ("prior", "learns", "forgets", "guesses", "slips")}
            for m in models
        ),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--skills", type=int, default=3, choices=range(1, len(TRUE_PARAMS) + 1))
    parser.add_argument("--opportunities", type=int, default=20)
    parser.add_argument("--min-opportunities", type=int, default=10)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = compare(
        true_params=TRUE_PARAMS[: args.skills], n_learners=args.learners, n_opportunities=args.opportunities,
        min_opportunities=args.min_opportunities, n_restarts=args.restarts, seed=args.seed,
    )
    print(f"data: {args.skills} skill(s) x {args.learners} learners, {result.n_sequences} sequences, "
          f"{result.n_obs} observations, {args.restarts} restart(s) each")
    print(f"ours : fit {result.ours_seconds:8.3f} s   AUC {result.ours_auc:.4f}")
    print(f"pyBKT: fit {result.pybkt_seconds:8.3f} s   AUC {result.pybkt_auc:.4f}")
    print(f"speed ratio (pyBKT / ours): {result.speedup:.1f}x   AUC difference (ours - pyBKT): "
          f"{result.ours_auc - result.pybkt_auc:+.4f}")
    rows = zip(TRUE_PARAMS, result.ours_params, result.pybkt_params, strict=False)
    for k, (truth, mine, theirs) in enumerate(rows):
        print(f"skill {k}: true  init={truth.p_init:.3f} learn={truth.p_learn:.3f} guess={truth.p_guess:.3f} "
              f"slip={truth.p_slip:.3f} forget={truth.p_forget:.3f}")
        print(f"         ours  init={mine.p_init:.3f} learn={mine.p_learn:.3f} guess={mine.p_guess:.3f} "
              f"slip={mine.p_slip:.3f} forget={mine.p_forget:.3f}")
        print(f"         pyBKT init={theirs['prior']:.3f} learn={theirs['learns']:.3f} "
              f"guess={theirs['guesses']:.3f} slip={theirs['slips']:.3f} forget={theirs['forgets']:.3f}")


if __name__ == "__main__":
    main()
