"""The read-only array helper the learner dataclasses share."""

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
