"""The nightly replay moves the state only as serving did: by each answer's evidence weight (0: nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from smartpractice.learner import predictor
from smartpractice.learner.evidence import MIN_SECONDS, evidence_weight, replayed_evidence
from smartpractice.learner.predictor_fit import replay

LEARNER = np.array([0, 0, 0], dtype=np.int64)
ITEM = np.array([0, 1, 1], dtype=np.int64)
CORRECT = np.array([1, 0, 1], dtype=np.int64)
COMMON = {"learner": LEARNER, "item": ITEM, "skills": [(1,), (1,), (1,)], "correct": CORRECT, "floor": 0.0,
          "difficulty": np.array([0.2, -0.4]),
          "weights": predictor.Weights((0.1, 0.9, 0.2, -0.3, 0.05, -0.1, 0.0, -0.45))}


def test_a_zero_evidence_answer_is_predicted_but_moves_nothing() -> None:
    full = replay(**COMMON)  # type: ignore[arg-type]
    skipped = replay(**COMMON, evidence=np.array([0.0, 1.0, 1.0]))  # type: ignore[arg-type]
    # every answer is predicted (the fit's rows), from the same state for the first
    assert skipped.p_correct[0] == pytest.approx(full.p_correct[0], abs=1e-15)
    # answer 1 sees the prior state: no θ, δ or counts from answer 0 (features: z = 0 − b, counts all 0, so its
    # skill is still new to the learner)
    assert skipped.features[1].tolist() == pytest.approx([1.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], abs=1e-15)
    assert full.features[1][7] == 0.0 and full.features[0][7] == skipped.features[0][7] == 1.0
    assert full.features[1][2] == pytest.approx(np.log(2.0), abs=1e-15)  # one success counted when served
    # item 0 keeps its b: its only answer carried no evidence
    assert skipped.difficulty[0] == pytest.approx(0.2, abs=1e-15)
    assert full.difficulty[0] < 0.2


def test_a_partial_weight_scales_the_steps_and_counts_the_answer_once() -> None:
    full = replay(**COMMON)  # type: ignore[arg-type]
    half = replay(**COMMON, evidence=np.array([0.5, 1.0, 1.0]))  # type: ignore[arg-type]
    # answer 1's z = θ + δ − b: both steps of answer 0 halved, the counts as served (+1 success)
    assert half.features[1][1] - 0.4 == pytest.approx(0.5 * (full.features[1][1] - 0.4), abs=1e-12)
    assert half.features[1][2] == pytest.approx(np.log(2.0), abs=1e-15)
    assert half.difficulty[0] - 0.2 == pytest.approx(0.5 * (full.difficulty[0] - 0.2), abs=1e-12)


def test_only_the_first_answer_to_a_question_moves_its_difficulty_and_only_with_evidence() -> None:
    # answer 1 (the first to item 1) carries no evidence, answer 2 (the second) does: item 1 never moves
    moved = replay(**COMMON, evidence=np.array([1.0, 0.0, 1.0]))  # type: ignore[arg-type]
    assert moved.difficulty[1] == pytest.approx(-0.4, abs=1e-15)


def test_evidence_must_be_one_weight_in_the_unit_interval_per_answer() -> None:
    with pytest.raises(ValueError, match="evidence"):
        replay(**COMMON, evidence=np.ones(2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="evidence"):
        replay(**COMMON, evidence=np.array([1.0, 1.5, 1.0]))  # type: ignore[arg-type]


DAY = 86_400.0


def test_replayed_evidence_zeroes_repeats_within_seven_days_and_weighs_fast_answers() -> None:
    # learner 0: q1 at day 0, q1 again at day 6.9 (repeat), q1 at day 14 (6.9 + 7.1: not a repeat);
    # learner 1: q1 at day 1 (another learner: not a repeat), q2 answered in 4 s of a 6 s minimum (w = 1/3)
    replayed = replayed_evidence(
        learner=np.array([0, 1, 0, 1, 0]), question_id=np.array([1, 1, 1, 2, 1]),
        answered_epoch=np.array([0.0, DAY, 6.9 * DAY, 2 * DAY, 14 * DAY]),
        served_seconds=np.array([30.0, 30.0, 30.0, 4.0, 2.9]), min_seconds=np.array([6.0, 6.0, 6.0, 6.0, 6.0]))
    assert replayed.weight.tolist() == pytest.approx([1.0, 1.0, 0.0, 1.0 / 3.0, 0.0], abs=1e-15)
    assert replayed.too_fast.tolist() == [False, False, False, False, True]  # the repeat is not too fast


def test_replayed_evidence_matches_the_online_weight_for_every_type_and_unknown_time() -> None:
    seconds = np.array([0.0, 3.0, 4.5, 6.0, 7.5, 10.0, np.nan])
    for question_type, minimum in MIN_SECONDS.items():
        weights = replayed_evidence(learner=np.arange(seconds.size), question_id=np.zeros(seconds.size),
                                    answered_epoch=np.zeros(seconds.size), served_seconds=seconds,
                                    min_seconds=minimum).weight
        expected = [evidence_weight(server_seconds=None if np.isnan(t) else float(t), question_type=question_type)
                    for t in seconds]
        assert weights.tolist() == pytest.approx(expected, abs=1e-15)
