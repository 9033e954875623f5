"""Length-packed sequences: layout, validation, selection, and zero-length sequences through the passes."""

from __future__ import annotations

import numpy as np
import pytest

from smartpractice.learner.bkt import BKTParamArrays, BKTParams
from smartpractice.learner.bkt_em import ResponseSequences, knowledge_after_sequences, log_likelihood
from smartpractice.learner.bkt_packed import PackedSequences

A = BKTParams(p_init=0.3, p_learn=0.1, p_guess=0.2, p_slip=0.1, p_forget=0.05)
B = BKTParams(p_init=0.6, p_learn=0.2, p_guess=0.15, p_slip=0.05, p_forget=0.0)


def _sequences() -> ResponseSequences:
    # rows: skill 0 [1 0], skill 1 [1 1 0 1], skill 0 [] (no answers), skill 1 [0]
    return ResponseSequences.from_lists(sequences=[[1, 0], [1, 1, 0, 1], [], [0]], skill_index=[0, 1, 0, 1],
                                        n_skills=2)


def test_packing_is_longest_first_and_time_major() -> None:
    packed = _sequences().packed()
    assert packed.source.tolist() == [1, 0, 3, 2] and packed.skill_index.tolist() == [1, 0, 1, 0]
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert packed.correct.astype(int).tolist() == [1, 1, 0, 1, 0, 0, 1]
    assert packed.cell_sequence.tolist() == [0, 1, 2, 0, 1, 0, 0]
    assert packed.cell_step().tolist() == [0, 0, 0, 1, 1, 2, 3]
    assert packed.n_obs_per_skill().tolist() == [2, 5]


def test_select_keeps_order_and_drops_steps_nobody_reaches() -> None:
    packed = _sequences().packed()
    skill_0 = packed.select(packed.skill_index == 0)
    assert skill_0.source.tolist() == [0, 2] and skill_0.batch_sizes.tolist() == [1, 1]
    assert skill_0.correct.astype(int).tolist() == [1, 0]


def test_zero_length_sequences_keep_the_prior_and_add_nothing() -> None:
    data = _sequences()
    params = BKTParamArrays.stack([A, B])
    after = knowledge_after_sequences(data=data, params=params)
    assert after[2] == A.p_init  # the row without answers, in the caller's order
    alone = ResponseSequences.from_lists(sequences=[[1, 0], [1, 1, 0, 1], [0]], skill_index=[0, 1, 1], n_skills=2)
    np.testing.assert_array_equal(log_likelihood(data=data, params=params),
                                  log_likelihood(data=alone, params=params))


def test_from_cells_rejects_gaps_repeats_and_bad_values() -> None:
    skills = np.zeros(1, np.int64)

    def pack(position: list[int], correct: list[int]) -> PackedSequences:
        return PackedSequences.from_cells(sequence=np.zeros(len(position), np.int64),
                                          position=np.array(position, np.int64),
                                          correct=np.array(correct, np.int8), skill_index=skills, n_skills=1)

    assert pack([1, 0], [0, 1]).correct.tolist() == [True, False]  # any order in, time order out
    with pytest.raises(ValueError, match="no gaps"):
        pack([0, 2], [1, 1])
    with pytest.raises(ValueError, match="no gaps"):
        pack([0, 0], [1, 1])
    with pytest.raises(ValueError, match="0 or 1"):
        pack([0], [2])
    with pytest.raises(ValueError, match="skill_index"):
        PackedSequences(np.ones(1, np.bool_), np.ones(1, np.int64), np.ones(1, np.int64), np.zeros(1, np.int64), 1)
    with pytest.raises(ValueError, match="non-increasing"):
        PackedSequences(np.ones(3, np.bool_), np.array([1, 2]), np.zeros(2, np.int64), np.arange(2), 1)
