"""Array helpers the learner code shares: read-only copies for frozen dataclasses, and reductions along the rows
of the narrow (questions, skills) grids.

numpy reduces along a short last axis slowly (~30 us for max over a 700 × 3 grid against ~3 us for two
element-wise maxima of its columns). For fewer than 8 columns numpy adds a row's entries left to right from 0, the
order the column folds below take, so they return the same bits (pinned in tests/unit/learner/test_arrays.py);
wider grids are left to numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray


def read_only(values: ArrayLike, *, dtype: DTypeLike | None = np.float64) -> NDArray[Any]:
    """A private read-only copy of `values` (float64 unless `dtype` says otherwise; None keeps numpy's
    choice), so frozen dataclasses cannot be changed through their arrays and never alias a caller's."""
    array = np.array(values, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


_FOLD_MAX_COLUMNS = 8  # from 8 entries on, numpy sums a row pairwise (another order): its own reduction then


def _fold(values: NDArray[Any], combine: Any, *, start_at_zero: bool) -> NDArray[Any] | None:
    if values.ndim != 2 or not 0 < values.shape[1] < _FOLD_MAX_COLUMNS:
        return None
    # numpy's row sums start from the identity 0 (so a row [−0.0] sums to +0.0); maxima and minima from the first
    # column.
    result: NDArray[Any] = np.zeros(values.shape[0], dtype=values.dtype) if start_at_zero else values[:, 0].copy()
    for column in range(0 if start_at_zero else 1, values.shape[1]):
        combine(result, values[:, column], out=result)
    return result


def row_sums(values: NDArray[Any]) -> NDArray[Any]:
    """values.sum(axis=1) of a 2-D numeric grid (booleans count as integers, as numpy counts them)."""
    grid = values.astype(np.int64) if values.dtype == np.bool_ else values
    folded = _fold(grid, np.add, start_at_zero=True)
    return grid.sum(axis=1) if folded is None else folded


def row_max(values: NDArray[Any]) -> NDArray[Any]:
    """values.max(axis=1) of a 2-D grid with at least one column (NaN propagates, as in numpy)."""
    folded = _fold(values, np.maximum, start_at_zero=False)
    return values.max(axis=1) if folded is None else folded


def row_min(values: NDArray[Any]) -> NDArray[Any]:
    """values.min(axis=1) of a 2-D grid with at least one column (NaN propagates, as in numpy)."""
    folded = _fold(values, np.minimum, start_at_zero=False)
    return values.min(axis=1) if folded is None else folded
