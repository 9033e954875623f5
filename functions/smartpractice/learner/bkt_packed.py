"""Length-packed response sequences and the BKT forward–backward pass over them (pure numpy).

Layout: sequences are sorted longest first and stored time-major, as PyTorch's PackedSequence: step t holds,
contiguously, the answers of the `batch_sizes[t]` sequences longer than t.  This is bucketing by length taken
to its limit: every length is its own bucket, padded to its own maximum, i.e. not padded at all, and the
time loop runs once (to the longest sequence), each step touching only the sequences still running, through
contiguous slices (views).  Sequences of every skill move together; skills never mix (per-skill sums).

Forward (scaled):  π_t = P(L_t | o_<t),  c_t = P(o_t | o_<t),  a_t = P(L_t | o_≤t);  LL = Σ log c_t.
Backward (2-state smoother):  ξ_t(i, j) = a_t(i) A_ij γ_{t+1}(j) / π_{t+1}(j),  γ_t(i) = Σ_j ξ_t(i, j).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from smartpractice.learner.bkt import PROBABILITY_FIELDS, BKTParamArrays, FloatArray

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class PackedSequences:
    """0/1 answers of n_sequences sequences, longest first, time-major (see the module docstring).

    correct: (n_cells,) answers, step 0 of every sequence first, then step 1, …
    batch_sizes: (n_steps,) sequences longer than t, non-increasing, all >= 1
    skill_index: (n_sequences,) skill of each sequence, in packed (longest-first) order
    source: (n_sequences,) the caller's index of each sequence
    """

    correct: BoolArray
    batch_sizes: IntArray
    skill_index: IntArray
    source: IntArray
    n_skills: int
    offsets: IntArray = field(init=False)  # (n_steps + 1,) first cell of each step
    cell_sequence: IntArray = field(init=False)  # (n_cells,) packed sequence of each cell

    def __post_init__(self) -> None:
        sizes, n_sequences = self.batch_sizes, self.skill_index.size
        if sizes.ndim != 1 or np.any(sizes < 1) or np.any(np.diff(sizes) > 0) or sizes.max(initial=0) > n_sequences:
            raise ValueError("batch_sizes must be non-increasing, >= 1 and <= the number of sequences")
        if self.correct.shape != (int(sizes.sum()),) or self.source.shape != (n_sequences,):
            raise ValueError("correct needs sum(batch_sizes) entries and source one per sequence")
        if n_sequences and (self.skill_index.min() < 0 or self.skill_index.max() >= self.n_skills):
            raise ValueError("skill_index out of range [0, n_skills)")
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "cell_sequence", np.arange(self.correct.size) - np.repeat(offsets[:-1], sizes))

    @classmethod
    def from_cells(
        cls, *, sequence: IntArray, position: IntArray, correct: NDArray[np.int8], skill_index: IntArray,
        n_skills: int,
    ) -> PackedSequences:
        """Pack answers given as (sequence in [0, len(skill_index)), position within it, 0/1) in any order."""
        n_sequences = skill_index.size
        if sequence.size and (sequence.min() < 0 or sequence.max() >= n_sequences):
            raise ValueError("sequence out of range [0, number of sequences)")
        if np.any((correct != 0) & (correct != 1)):
            raise ValueError("observed responses must be 0 or 1")
        lengths = np.bincount(sequence, minlength=n_sequences)
        order = np.argsort(-lengths, kind="stable")
        rank = np.empty(n_sequences, dtype=np.int64)
        rank[order] = np.arange(n_sequences)
        batch_sizes = np.bincount(lengths, minlength=int(lengths.max(initial=0)) + 1)[::-1].cumsum()[::-1][1:]
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
        if np.any(position < 0) or np.any(position >= lengths[sequence]):
            raise ValueError("positions of a sequence must be 0 .. length-1 (no gaps, no repeats)")
        cell = offsets[position] + rank[sequence]
        if np.any(np.bincount(cell, minlength=cell.size) != 1):
            raise ValueError("positions of a sequence must be 0 .. length-1 (no gaps, no repeats)")
        packed = np.zeros(cell.size, dtype=np.bool_)
        packed[cell] = correct == 1
        return cls(packed, batch_sizes.astype(np.int64), skill_index[order].astype(np.int64), order.astype(np.int64),
                   n_skills)

    @property
    def n_sequences(self) -> int:
        return int(self.skill_index.size)

    @property
    def n_cells(self) -> int:
        return int(self.correct.size)

    def cell_step(self) -> IntArray:
        """Opportunity index (time step) of each cell."""
        return np.repeat(np.arange(self.batch_sizes.size, dtype=np.int64), self.batch_sizes)

    def by_skill(self, values: FloatArray) -> FloatArray:
        """Per-skill sums of per-cell values, shape (n_skills,)."""
        totals = np.bincount(self.skill_index[self.cell_sequence], weights=values, minlength=self.n_skills)
        return np.asarray(totals, dtype=np.float64)

    def n_obs_per_skill(self) -> IntArray:
        return np.bincount(self.skill_index[self.cell_sequence], minlength=self.n_skills).astype(np.int64)

    def select(self, keep: BoolArray) -> PackedSequences:
        """The sequences where keep (one flag per packed sequence) is True; order and skills unchanged."""
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        sizes = kept_before[self.batch_sizes]
        return PackedSequences(self.correct[keep[self.cell_sequence]], sizes[sizes > 0].astype(np.int64),
                               self.skill_index[keep], self.source[keep], self.n_skills)


def per_sequence(params: BKTParamArrays, data: PackedSequences) -> dict[str, FloatArray]:
    return {name: getattr(params, name)[data.skill_index] for name in PROBABILITY_FIELDS}


@dataclass(frozen=True, slots=True)
class Forward:
    predicted: FloatArray  # π_t = P(L_t | o_<t), per cell
    filtered: FloatArray  # a_t = P(L_t | o_≤t), per cell
    log_scale: FloatArray  # log c_t, per cell
    next_known: FloatArray  # P(L) at the opportunity after each sequence's last answer, per packed sequence


def forward(data: PackedSequences, params: BKTParamArrays) -> Forward:
    p = per_sequence(params, data)
    slip, guess = p["p_slip"][data.cell_sequence], p["p_guess"][data.cell_sequence]
    like_known = np.where(data.correct, 1.0 - slip, slip)
    like_unknown = np.where(data.correct, guess, 1.0 - guess)
    stay, learn = 1.0 - p["p_forget"], p["p_learn"]
    predicted, filtered, scale = np.empty(data.n_cells), np.empty(data.n_cells), np.empty(data.n_cells)
    prior = p["p_init"].copy()
    for t, n in enumerate(data.batch_sizes.tolist()):
        cells = slice(int(data.offsets[t]), int(data.offsets[t + 1]))
        before = prior[:n]
        joint = before * like_known[cells]
        total = np.maximum(joint + (1.0 - before) * like_unknown[cells], 1e-300)
        now = joint / total
        predicted[cells], filtered[cells], scale[cells] = before, now, total
        # Finished sequences (beyond n) keep their state: `prior` ends as P(L) after each last answer.
        prior[:n] = now * stay[:n] + (1.0 - now) * learn[:n]
    return Forward(predicted, filtered, np.log(scale), prior)


def expected_counts(data: PackedSequences, params: BKTParamArrays, fwd: Forward) -> dict[str, FloatArray]:
    """Backward pass; per-skill (events, trials) expected counts for every parameter, each shape (2, n_skills)."""
    p = per_sequence(params, data)
    stay, forget, learn = 1.0 - p["p_forget"], p["p_forget"], p["p_learn"]
    known = fwd.filtered.copy()  # γ_t(known); a sequence's last answer keeps its filtered value
    learned, stayed_unknown, forgot, stayed_known = (np.zeros(data.n_cells) for _ in range(4))
    for t in range(data.batch_sizes.size - 2, -1, -1):
        n = int(data.batch_sizes[t + 1])  # sequences with a transition t -> t + 1
        here = slice(int(data.offsets[t]), int(data.offsets[t]) + n)
        after = slice(int(data.offsets[t + 1]), int(data.offsets[t + 1]) + n)
        a, prior_next, known_next = fwd.filtered[here], fwd.predicted[after], known[after]
        to_known = np.divide(known_next, prior_next, out=np.zeros(n), where=prior_next > 0.0)
        to_unknown = np.divide(1.0 - known_next, 1.0 - prior_next, out=np.zeros(n), where=prior_next < 1.0)
        xi_11 = a * stay[:n] * to_known
        xi_10 = a * forget[:n] * to_unknown
        learned[here] = (1.0 - a) * learn[:n] * to_known
        stayed_unknown[here] = (1.0 - a) * (1.0 - learn[:n]) * to_unknown
        forgot[here], stayed_known[here] = xi_10, xi_11
        known[here] = xi_11 + xi_10
    first = int(data.batch_sizes[0]) if data.batch_sizes.size else 0  # step 0: cell i is sequence i
    first_skill = data.skill_index[:first]
    counts = {"p_init": np.stack([np.bincount(first_skill, weights=known[:first], minlength=data.n_skills),
                                  np.bincount(first_skill, minlength=data.n_skills)]).astype(np.float64)}
    correct = data.correct.astype(np.float64)
    unknown = 1.0 - known
    per_cell = {
        "p_learn": (learned, learned + stayed_unknown),
        "p_forget": (forgot, forgot + stayed_known),
        "p_guess": (unknown * correct, unknown),
        "p_slip": (known * (1.0 - correct), known),
    }
    counts.update({name: np.stack([data.by_skill(events), data.by_skill(trials)])
                   for name, (events, trials) in per_cell.items()})
    return counts


__all__ = ["Forward", "PackedSequences", "expected_counts", "forward", "per_sequence"]
