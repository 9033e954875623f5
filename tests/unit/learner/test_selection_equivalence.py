"""Selection's cheaper forms, pinned to what they replaced: SelectionCandidates checks its columns with min/max
reductions (the same inputs are refused with the same message, or accepted, NaN and ±inf included), and the
reason's `why_now` formats only the dominant component's sentence (the same text)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from smartpractice.learner.selection import COMPONENTS, SelectionCandidates, SelectionPolicy, _describe_wait, _why_now

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


def _reference_why_now(*, dominant: str, index: int, candidates: SelectionCandidates, sampled: float,
                       policy: SelectionPolicy) -> str:
    """Every component's sentence formatted, then the dominant one picked (as it was)."""
    predicted = float(candidates.predicted_p[index])
    band_text = f"{policy.band_low:.0%}–{policy.band_high:.0%}"
    in_band = policy.band_low <= sampled <= policy.band_high
    main = {
        "band": (f"its chance of success sits in your {band_text} target band" if in_band
                 else f"it is the closest match to your {band_text} target band"),
        "weakness": ("it practises one of your weakest skills "
                     f"(weakness {candidates.skill_weakness[index]:.2f})" if candidates.evidence[index] >= 1.0
                     else "it starts measuring a skill you have not answered yet"),
        "due": f"its skill is due for review (due-ness {candidates.due_score[index]:.2f})",
        "prerequisite": "you have the prerequisites for it "
                        f"(readiness {candidates.prerequisite_readiness[index]:.2f})",
        # inf stays inf (never seen): the one change from the old text, which read inf as the largest float
        "recency": _describe_wait(float(np.nan_to_num(candidates.seconds_since_seen[index], nan=np.inf,
                                                      posinf=np.inf))),
        "exposure": "it has been served less often than the alternatives",
    }[dominant]
    return f"Chosen because {main}; predicted success {predicted:.0%} (sampled {sampled:.0%})."


@pytest.mark.parametrize("seed", range(50))
def test_why_now_is_the_same_text(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    n = 8
    candidates = SelectionCandidates(
        question_ids=np.arange(n), predicted_p=rng.random(n), evidence=rng.choice([0.0, 0.5, 1.0, 7.0], n),
        skill_weakness=rng.random(n), due_score=rng.random(n), prerequisite_readiness=rng.random(n),
        seconds_since_seen=rng.choice([np.nan, np.inf, 0.0, 59.0, 3600.0, 7200.0, 86_400.0, 1e7], n),
        exposure_count=rng.uniform(0.0, 9.0, n))
    low = float(rng.random())
    policy = SelectionPolicy(band_low=low, band_high=float(rng.uniform(low, 1.0)))
    for dominant in COMPONENTS:
        for index in range(n):
            sampled = float(rng.random())
            assert _why_now(dominant=dominant, index=index, candidates=candidates, sampled=sampled,
                            policy=policy) == _reference_why_now(dominant=dominant, index=index,
                                                                 candidates=candidates, sampled=sampled, policy=policy)
    with pytest.raises(KeyError):
        _why_now(dominant="nothing", index=0, candidates=candidates, sampled=0.5, policy=policy)
