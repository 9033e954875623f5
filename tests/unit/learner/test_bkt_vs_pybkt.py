"""Cross-check against pyBKT (test-only dependency) on the same generated data.

Claim: our one-step-ahead AUC ≥ pyBKT's − 0.01 on the same rows. Speed is not asserted here (a timing ratio
flakes on a busy machine): benchmarks/bench_bkt_vs_pybkt.py measures and prints it (README, Results).
pyBKT is driven through its own E-step / M-step; the adapter and the reasons live in the benchmark module.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytest.importorskip("pyBKT")

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_bkt_vs_pybkt.py"


def _benchmark_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_bkt_vs_pybkt", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module at class creation
    spec.loader.exec_module(module)
    return module


def test_pybkt_data_layout() -> None:
    bench = _benchmark_module()
    responses = np.array([[1, 0, 0], [0, 1, 1]], dtype=np.int8)
    mask = np.array([[True, True, False], [True, True, True]])
    data = bench.to_pybkt_data(responses=responses, mask=mask)
    assert data["data"].tolist() == [[2, 1, 1, 2, 2]]  # 1 = wrong, 2 = right
    assert data["starts"].tolist() == [1, 3] and data["lengths"].tolist() == [2, 3]


def test_auc_not_worse_than_pybkt() -> None:
    bench = _benchmark_module()
    result = bench.compare(true_params=bench.TRUE_PARAMS[:1], n_learners=150, n_opportunities=16,
                           min_opportunities=8, n_restarts=2, seed=0)
    assert result.n_obs > 1500
    assert result.ours_auc >= result.pybkt_auc - 0.01
