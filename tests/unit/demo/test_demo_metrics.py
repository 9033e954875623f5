"""Pure summaries of a demo run, on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from smartpractice_dev.demo.metrics import (
    Practice,
    calibration,
    correlation,
    group_means,
    group_success,
    learner_means,
    paired_values,
    questions_to_mastery,
    summarise_mastery,
)


def test_correlation_exact_values() -> None:
    perfect = correlation(x=[1, 2, 3, 4], y=[2, 4, 6, 8])
    assert (perfect.n, perfect.pearson, perfect.spearman) == pytest.approx((4, 1.0, 1.0))
    # dx = dy·permuted: Σdxdy = 4, Σdx² = Σdy² = 5 → 0.8 (ranks equal the values here)
    partial = correlation(x=[1, 2, 3, 4], y=[1, 3, 2, 4])
    assert partial.pearson == pytest.approx(0.8) and partial.spearman == pytest.approx(0.8)
    reversed_ranks = correlation(x=[1, 2, 3], y=[30, 20, 10])
    assert reversed_ranks.spearman == pytest.approx(-1.0)


def test_correlation_undefined_is_nan() -> None:
    assert math.isnan(correlation(x=[1, 2], y=[1, 2]).pearson)
    assert math.isnan(correlation(x=[1, 2, 3], y=[5, 5, 5]).spearman)
    with pytest.raises(ValueError, match="same length"):
        correlation(x=[1, 2, 3], y=[1, 2])


def test_paired_values_and_learner_means() -> None:
    truth = np.array([[0.5, -1.0], [2.0, 1.0]])
    triples = [(0, 1, 1100.0), (1, 0, 1400.0), (1, 1, 1300.0)]
    estimate, true = paired_values(truth=truth, estimates=triples)
    assert estimate.tolist() == [1100.0, 1400.0, 1300.0]
    assert true.tolist() == [-1.0, 2.0, 1.0]
    means, true_means = learner_means(truth=truth, estimates=triples)
    assert means.tolist() == [1100.0, 1350.0]
    assert true_means.tolist() == [-1.0, 1.5]


def test_group_success_counts_rate_and_band_share() -> None:
    s = group_success(correct=[True, False, True, True], predicted=[0.65, 0.5, 0.7, 0.9])
    assert (s.answered, s.correct) == (4, 3)
    assert s.rate == 0.75
    assert s.mean_predicted == pytest.approx(0.6875)
    assert s.share_predicted_in_band == 0.5  # 0.65 and 0.70 (edges count as inside)
    empty = group_success(correct=[], predicted=[])
    assert empty.answered == 0 and math.isnan(empty.rate)


def test_calibration_bins_brier_and_ece() -> None:
    table = calibration(predicted=[0.05, 0.15, 0.15, 0.95], observed=[0, 1, 0, 1])
    assert [(b.low, b.high, b.count) for b in table.bins] == [
        (0.0, pytest.approx(0.1), 1), (pytest.approx(0.1), pytest.approx(0.2), 2), (pytest.approx(0.9), 1.0, 1)]
    assert [b.observed_rate for b in table.bins] == [0.0, 0.5, 1.0]
    assert [b.mean_predicted for b in table.bins] == pytest.approx([0.05, 0.15, 0.95])
    assert table.brier == pytest.approx((0.0025 + 0.7225 + 0.0225 + 0.0025) / 4)
    assert table.expected_calibration_error == pytest.approx((0.05 + 2 * 0.35 + 0.05) / 4)
    edge = calibration(predicted=[1.0, 0.0], observed=[1, 0])
    assert [(b.low, b.count) for b in edge.bins] == [(0.0, 1), (pytest.approx(0.9), 1)]


def test_questions_to_mastery_counts_until_first_mastery_and_censors_the_rest() -> None:
    initial = np.array([[0.5, 1.2], [0.9, -1.0]])
    practice = [
        Practice(0, 0, 0.7), Practice(0, 0, 0.9), Practice(0, 1, 1.3),  # skill 1 was mastered already
        Practice(0, 0, 1.05),  # mastered on its 3rd question
        Practice(0, 0, 1.2), Practice(1, 0, 0.95),  # after mastery: not counted; learner 1 censored at 1
    ]
    counts = questions_to_mastery(initial_theta=initial, practice=practice, mastery_theta=1.0)
    assert counts.eligible.tolist() == [[True, False], [True, True]]
    assert counts.practised.tolist() == [[3, 0], [1, 0]]
    assert counts.mastered.tolist() == [[True, False], [False, False]]
    summary = summarise_mastery(counts, learners=[0, 1])
    assert (summary.eligible_pairs, summary.practised_pairs, summary.mastered_pairs) == (3, 2, 1)
    assert (summary.mean_questions, summary.median_questions) == (3.0, 3.0)
    assert summary.censored_mean_practised == 0.5  # (1 + 0) / 2: lower bounds
    assert summary.share_mastered == pytest.approx(1 / 3)
    only_one = summarise_mastery(counts, learners=[1])
    assert only_one.mastered_pairs == 0 and math.isnan(only_one.mean_questions)


def test_group_means() -> None:
    values = np.array([[0.2, 0.4], [0.6, 0.8], [1.0, 1.0]])
    assert group_means(values, groups=["a", "b", "a"]) == {"a": pytest.approx(0.65), "b": pytest.approx(0.7)}
