"""The row reductions of learner/arrays.py return numpy's axis-1 reductions bit for bit (dtype, NaN, −0.0, inf)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from smartpractice.learner.arrays import row_max, row_min, row_sums

Reduction = Callable[[NDArray[Any]], NDArray[Any]]
CASES: list[tuple[Reduction, Reduction]] = [
    (row_sums, lambda a: a.sum(axis=1)), (row_max, lambda a: a.max(axis=1)), (row_min, lambda a: a.min(axis=1))]


def _grid(rng: np.random.Generator, n: int, k: int) -> NDArray[np.float64]:
    values = rng.normal(0.0, 1.0, (n, k)) * 10.0 ** rng.integers(-9, 9, (n, k))
    special = rng.random((n, k)) < 0.05
    values[special] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], size=int(special.sum()))
    return values


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize(("ours", "numpy_s"), CASES)
def test_float_rows_reduce_to_the_same_bits(seed: int, ours: Reduction, numpy_s: Reduction) -> None:
    rng = np.random.default_rng(seed)
    k = 1 + seed % 10  # 8 columns and up go to numpy itself
    values = _grid(rng, int(rng.integers(0, 400)), k)
    if seed % 3 == 0:
        values = np.where(rng.random(values.shape) < 0.7, values, 0.0)  # masked grids, as the callers build them
    with np.errstate(invalid="ignore"):  # inf − inf in a row: NaN, with numpy's warning either way
        expected, got = numpy_s(values), ours(values)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("k", range(1, 10))
def test_boolean_and_integer_rows(k: int) -> None:
    rng = np.random.default_rng(k)
    mask = rng.random((300, k)) < 0.6
    counts = rng.integers(-5, 5, (300, k))
    for values in (mask, counts):
        for ours, numpy_s in CASES:
            expected, got = numpy_s(values), ours(values)
            assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_the_result_is_a_new_array() -> None:
    values = np.array([[1.0], [2.0]])
    total = row_sums(values)
    total[0] = 9.0
    assert values[0, 0] == 1.0
