"""Benchmarks for the learner-math hot paths: next-question selection and IRT calibration.

    .venv/bin/python benchmarks/bench_selection.py            # selection + IRT (≈ 15 s)
    .venv/bin/python benchmarks/bench_selection.py --no-irt   # selection only

Selection: one `select_next_question` call over N candidates (candidate construction
included, as the service builds it per request), median and p95 of repeated calls.
IRT (kept here with selection, the one benchmark file of this module group):
`calibrate_items` on 1M observed responses, once dense (25,000 learners × 40 items)
and once sparse (10,000 learners × 500 items, 20 % answered), plus EAP for everyone.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from smartpractice.learner.irt import ItemParams, calibrate_items, estimate_ability_eap, probability_correct
from smartpractice.learner.selection import SelectionCandidates, select_next_question


def _candidate_columns(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "question_ids": np.arange(n),
        "predicted_p": rng.random(n),
        "evidence": rng.integers(0, 60, n).astype(np.float64),
        "skill_weakness": rng.random(n),
        "due_score": rng.random(n),
        "prerequisite_readiness": rng.random(n),
        "seconds_since_seen": np.where(rng.random(n) < 0.5, np.inf, rng.random(n) * 1e6),
        "exposure_count": rng.integers(0, 500, n).astype(np.float64),
    }


def bench_selection(n_candidates: int, repeats: int) -> None:
    columns = _candidate_columns(n_candidates, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        select_next_question(candidates=SelectionCandidates(**columns), rng=rng)
        timings.append(time.perf_counter() - start)
    ms = np.array(timings) * 1e3
    print(f"selection  {n_candidates:>6} candidates: median {np.median(ms):.2f} ms, "
          f"p95 {np.percentile(ms, 95):.2f} ms ({repeats} calls)")


def _responses(n_learners: int, n_items: int, answered: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    items = ItemParams.from_values(
        discrimination=rng.uniform(0.6, 2.2, n_items), difficulty=rng.normal(size=n_items)
    )
    p = probability_correct(items=items, theta=rng.normal(size=n_learners))
    return (rng.random(p.shape) < p).astype(np.float64), rng.random(p.shape) < answered


def bench_irt(n_learners: int, n_items: int, answered: float) -> None:
    responses, observed = _responses(n_learners, n_items, answered, seed=2)
    start = time.perf_counter()
    calibration = calibrate_items(responses=responses, observed=observed)
    calibrate_s = time.perf_counter() - start
    start = time.perf_counter()
    estimate_ability_eap(items=calibration.items, responses=responses, observed=observed)
    eap_s = time.perf_counter() - start
    print(f"irt  {n_learners:>6} × {n_items:<3} ({int(observed.sum()):,} responses): "
          f"calibrate {calibrate_s:.2f} s in {calibration.iterations} EM iterations "
          f"(converged={calibration.converged}), EAP {eap_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-irt", action="store_true", help="skip the IRT calibration benchmark")
    args = parser.parse_args()
    # BLAS threading matters: on a busy 2-core box multi-threaded OpenBLAS runs the IRT matmuls
    # several times slower than OPENBLAS_NUM_THREADS=1, so print the conditions with the figures.
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    for n in (500, 5_000, 50_000):
        bench_selection(n, repeats=200 if n <= 5_000 else 30)
    if not args.no_irt:
        bench_irt(25_000, 40, answered=1.0)
        bench_irt(10_000, 500, answered=0.2)


if __name__ == "__main__":
    main()
