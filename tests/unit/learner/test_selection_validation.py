"""SelectionCandidates checks its columns with min/max reductions; this pins it to the element-wise checks it
replaced: the same inputs are refused with the same message (or accepted), NaN and ±inf included."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from smartpractice.learner.selection import SelectionCandidates

UNIT = ("predicted_p", "skill_weakness", "due_score", "prerequisite_readiness")
NON_NEGATIVE = ("evidence", "seconds_since_seen", "exposure_count")


def _reference_error(columns: dict[str, Any]) -> str | None:
    """The element-wise checks as they were, in their order."""
    for name in UNIT:
        a = columns[name]
        if np.any((a < 0.0) | (a > 1.0) | np.isnan(a)):
            return f"{name} must lie in [0, 1]"
    for name in NON_NEGATIVE:
        a = columns[name]
        if np.any(a < 0.0):
            return f"{name} must be non-negative"
        if name != "seconds_since_seen" and not np.all(np.isfinite(a)):
            return f"{name} must be finite"
    if len({a.shape[0] for a in columns.values()}) != 1 or columns["question_ids"].shape[0] == 0:
        return "all candidate arrays must be 1-D, non-empty and of one length"
    return None


@pytest.mark.parametrize("seed", range(300))
def test_the_same_columns_are_refused_with_the_same_message(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 6))
    columns: dict[str, Any] = {"question_ids": np.arange(n)}
    columns |= {name: rng.random(n) for name in UNIT}
    columns |= {name: rng.uniform(0.0, 100.0, n) for name in NON_NEGATIVE}
    for _ in range(int(rng.integers(0, 3))):  # spoil a few entries
        name = str(rng.choice([*UNIT, *NON_NEGATIVE]))
        if columns[name].size:
            columns[name][rng.integers(columns[name].size)] = rng.choice(
                [np.nan, np.inf, -np.inf, -0.5, 1.5, 0.0, 1.0, -0.0])
    if rng.random() < 0.1:
        columns["evidence"] = rng.random(n + 1)
    expected = _reference_error(columns)
    if expected is None:
        SelectionCandidates(**columns)
    else:
        with pytest.raises(ValueError) as refused:
            SelectionCandidates(**columns)
        assert str(refused.value) == expected
