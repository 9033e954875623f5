"""Seed 003's `calculate_thompson_score` as a selection policy (imported by bench_selection_efficiency.py).

seeds/personalization-elo-thompson-conversation.md ~l.1080: per skill k, Beta(successes, attempts − successes
+ 1) with the (student, skill, question) counts on top of the priors successes 1 / attempts 2;
difficulty_match = 1 − |d_k − (level_k + 0.3)|; 0.4·sample + 0.4·match + 0.2/(attempts + 1); mean over skills
× recency_penalty + coverage_bonus. Undefined helpers, mapped: level_k = the product's effective mastery of k
(BKT, [0, 1]); d_k = σ(b_k), the calibrated difficulty as a [0, 1] failure chance for an average learner;
calculate_recency = 1 − 2^(−Δt / 1 day) (1 if never seen, the product's freshness); calculate_coverage =
0.2 · mean_k (1 − level_k).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def seed_heuristic_choice(*, pool: Any, skill_ids: np.ndarray, true_b: np.ndarray, level_of: np.ndarray,
                          successes: np.ndarray, tries: np.ndarray, now: float, rng: np.random.Generator) -> int:
    """The question id the seed's score ranks first; arrays are indexed by question id (skills padded −1)."""
    ids = pool.question_ids
    present = skill_ids[ids] >= 0
    level = level_of[np.where(present, skill_ids[ids], 0)]
    difficulty = 1.0 / (1.0 + np.exp(-np.nan_to_num(true_b[ids])))
    prior_successes = 1.0 + successes[ids]  # prior successes 1, attempts 2 (the seed's .get defaults)
    attempts = 2.0 + tries[ids]
    sampled = rng.beta(prior_successes, attempts - prior_successes + 1.0)
    match = 1.0 - np.abs(difficulty - (level + 0.3))
    skill_score = 0.4 * sampled + 0.4 * match + 0.2 / (attempts + 1.0)
    mean_score = np.where(present, skill_score, 0.0).sum(axis=1) / present.sum(axis=1)
    since = np.where(np.isnan(pool.last_seen_epoch), np.inf, now - pool.last_seen_epoch)
    recency = 1.0 - np.exp2(-since / 86_400.0)
    coverage = 0.2 * np.where(present, 1.0 - level, 0.0).sum(axis=1) / present.sum(axis=1)
    return int(ids[int(np.argmax(mean_score * recency + coverage))])
