"""The metrics a P(correct) predictor is judged by (pure numpy): ROC AUC, log-loss and expected calibration
error, as the nightly fit stores them and the evaluation harness, the demo and its audits report them."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def auc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """ROC AUC with ties counted half (Mann–Whitney)."""
    labels = np.asarray(y, dtype=np.float64)
    scores = np.asarray(p, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size)
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    stops = np.concatenate([boundaries, [scores.size]])
    for start, stop in zip(starts, stops, strict=True):
        ranks[order[start:stop]] = (start + stop + 1) / 2.0
    positives = labels.sum()
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return math.nan
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def log_loss(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    labels = np.asarray(y, dtype=np.float64)
    probs = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1.0 - 1e-6)
    return float(-np.mean(labels * np.log(probs) + (1.0 - labels) * np.log(1.0 - probs)))


def ece(y: npt.ArrayLike, p: npt.ArrayLike, *, bins: int = 10) -> float:
    """Expected calibration error: Σ_bins (n_bin / n) |mean(y) − mean(p)| over equal-width probability bins."""
    labels = np.asarray(y, dtype=np.float64)
    probs = np.asarray(p, dtype=np.float64)
    index = np.minimum((probs * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    gap = np.abs(np.bincount(index, labels, bins) - np.bincount(index, probs, bins))
    return float(gap.sum() / max(counts.sum(), 1))
