"""Selection: pinned component arithmetic, choice behaviour, reasons, determinism and invariants."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.band import band_score
from smartpractice.learner.selection import (
    COMPONENTS,
    SelectionCandidates,
    SelectionPolicy,
    SelectionWeights,
    component_scores,
    select_next_question,
    select_uniformly,
)
from smartpractice.learner.weakness import practice_adjusted, probability_below, question_weakness


def _candidates(n: int, **overrides: Any) -> SelectionCandidates:
    """n identical, unremarkable candidates (in band, confident); override columns per test."""
    columns: dict[str, Any] = {
        "question_ids": np.arange(n),
        "predicted_p": np.full(n, 0.65),
        "evidence": np.full(n, 200.0),
        "skill_weakness": np.full(n, 0.5),
        "due_score": np.full(n, 0.5),
        "prerequisite_readiness": np.full(n, 1.0),
        "seconds_since_seen": np.full(n, np.inf),
        "exposure_count": np.zeros(n),
    }
    columns.update(overrides)
    return SelectionCandidates(**columns)


def test_band_score_pinned() -> None:
    p = np.array([0.5, 0.65, 0.8, 0.2, 1.0])
    # distances outside [0.6, 0.7]: 0.1, 0, 0.1, 0.4, 0.3 → 1 − d/0.3 = 0.6667, 1, 0.6667, 0 (clipped), 0
    np.testing.assert_allclose(
        band_score(p=p, low=0.6, high=0.7, falloff=0.3), [2 / 3, 1.0, 2 / 3, 0.0, 0.0], atol=1e-12
    )


def test_component_scores_and_total_pinned() -> None:
    candidates = _candidates(
        2,
        skill_weakness=[0.4, 0.0],
        due_score=[0.2, 0.0],
        prerequisite_readiness=[1.0, 0.0],
        seconds_since_seen=[86_400.0, 0.0],
        exposure_count=[5.0, 10.0],
    )
    sampled = np.array([0.55, 0.65])
    scores = component_scores(candidates=candidates, sampled_p=sampled, policy=SelectionPolicy())
    # candidate 0: band 1 − 0.05/0.3 = 0.8333; weakness 0.4; due 0.2; prerequisite 1.0;
    # recency 1 − 2^(−86400/86400) = 0.5; exposure 1 − 5/10 = 0.5
    np.testing.assert_allclose(scores[:, 0], [5 / 6, 0.4, 0.2, 1.0, 0.5, 0.5], atol=1e-12)
    weights = SelectionWeights().as_array()
    # (0.2·0.8333 + 0.8·0.4 + 0.15·0.2 + 0.1·1.0 + 0.1·0.5 + 0.05·0.5) / 1.4 = 0.691667 / 1.4 = 0.494048
    assert float(weights @ scores[:, 0]) == pytest.approx(0.4940476190, abs=1e-9)
    np.testing.assert_allclose(weights, np.array([0.2, 0.8, 0.15, 0.1, 0.1, 0.05]) / 1.4, rtol=1e-12)


def test_weights_are_normalised() -> None:
    np.testing.assert_allclose(
        SelectionWeights(band=2, weakness=2, due=0, prerequisite=0, recency=0, exposure=0).as_array(),
        [0.5, 0.5, 0, 0, 0, 0],
    )
    with pytest.raises(ValueError):
        SelectionWeights(band=-1.0)


def test_weak_skill_wins_and_reason_says_so() -> None:
    candidates = _candidates(
        5, skill_weakness=[0.1, 0.1, 0.95, 0.1, 0.1], question_ids=["q1", "q2", "q3", "q4", "q5"]
    )
    selection = select_next_question(candidates=candidates, rng=np.random.default_rng(7))
    assert selection.index == 2
    assert selection.question_id == "q3" and isinstance(selection.question_id, str)
    reason = selection.reason
    assert reason.dominant_component == "weakness"
    assert reason.component_scores.weakness == 0.95
    assert "weakest skills" in reason.why_now and "predicted success 65%" in reason.why_now
    assert (reason.band_low, reason.band_high) == (0.6, 0.7)
    assert reason.predicted_p == 0.65


def test_recently_seen_question_is_never_chosen_over_equals() -> None:
    seen = np.full(6, np.inf)
    seen[0] = 60.0  # seen a minute ago: recency score ≈ 0.0005
    candidates = _candidates(6, seconds_since_seen=seen)
    rngs = (np.random.default_rng(seed) for seed in range(300))
    chosen = {select_next_question(candidates=candidates, rng=rng).index for rng in rngs}
    assert 0 not in chosen
    assert chosen == {1, 2, 3, 4, 5}  # the others share the wins: ties are broken by the rng, not position


def test_band_targets_the_desirable_difficulty() -> None:
    candidates = _candidates(3, predicted_p=[0.95, 0.65, 0.25])
    wins = np.bincount(
        [select_next_question(candidates=candidates, rng=np.random.default_rng(s)).index for s in range(200)],
        minlength=3,
    )
    assert wins.tolist() == [0, 200, 0]
    reason = select_next_question(candidates=candidates, rng=np.random.default_rng(0)).reason
    assert reason.dominant_component == "band"
    assert "target band" in reason.why_now


def test_thompson_explores_uncertain_candidates() -> None:
    # Both predicted 0.9 (too easy). With 200 answers of evidence the first stays near 0.9
    # (band score ≈ 1/3); with none, the second's Beta(1.8, 0.2) draw sometimes lands in the band.
    candidates = _candidates(2, predicted_p=[0.9, 0.9], evidence=[200.0, 0.0])
    uncertain_wins = sum(
        select_next_question(candidates=candidates, rng=np.random.default_rng(s)).index for s in range(1000)
    )
    assert 100 <= uncertain_wins <= 500


def test_prerequisite_gate() -> None:
    candidates = _candidates(3, skill_weakness=[1.0, 0.0, 0.0], prerequisite_readiness=[0.3, 0.9, 0.9])
    gated = SelectionPolicy(min_prerequisite_readiness=0.5)
    assert select_next_question(candidates=candidates, rng=np.random.default_rng(1), policy=gated).index != 0
    # Nothing eligible → the gate is ignored rather than returning nothing.
    all_low = _candidates(2, prerequisite_readiness=[0.1, 0.2], skill_weakness=[1.0, 0.0])
    assert select_next_question(candidates=all_low, rng=np.random.default_rng(1), policy=gated).index == 0


def test_rejects_malformed_candidates() -> None:
    with pytest.raises(ValueError, match="one length"):
        _candidates(3, predicted_p=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _candidates(2, predicted_p=[0.5, 1.5])
    with pytest.raises(ValueError, match="non-negative"):
        _candidates(2, exposure_count=[-1.0, 0.0])
    with pytest.raises(ValueError):
        SelectionPolicy(band_low=0.8, band_high=0.6)


_unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def _random_candidates(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=12))

    def column(elements: st.SearchStrategy[float]) -> np.ndarray:
        return np.array(draw(st.lists(elements, min_size=n, max_size=n)), dtype=np.float64)

    return {
        "question_ids": np.arange(100, 100 + n),
        "predicted_p": column(_unit),
        "evidence": column(st.floats(min_value=0.0, max_value=1e4)),
        "skill_weakness": column(_unit),
        "due_score": column(_unit),
        "prerequisite_readiness": column(_unit),
        "seconds_since_seen": column(st.one_of(st.just(np.inf), st.floats(min_value=0.0, max_value=1e8))),
        "exposure_count": column(st.floats(min_value=0.0, max_value=1e6)),
    }


@settings(max_examples=80, deadline=None)
@given(columns=_random_candidates(), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_same_seed_same_choice_and_bounded_scores(columns: dict[str, np.ndarray], seed: int) -> None:
    originals = {name: value.copy() for name, value in columns.items()}
    candidates = SelectionCandidates(**columns)
    first = select_next_question(candidates=candidates, rng=np.random.default_rng(seed))
    second = select_next_question(candidates=candidates, rng=np.random.default_rng(seed))
    assert first == second
    for name, value in columns.items():
        np.testing.assert_array_equal(value, originals[name])
    assert 0 <= first.index < columns["predicted_p"].size
    assert first.question_id == 100 + first.index
    assert 0.0 <= first.reason.sampled_p <= 1.0
    assert 0.0 <= first.reason.total_score <= 1.0
    assert first.reason.dominant_component in COMPONENTS
    scores = [getattr(first.reason.component_scores, name) for name in COMPONENTS]
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_candidate_arrays_are_read_only_copies() -> None:
    weakness = np.array([0.2, 0.8])
    candidates = _candidates(2, skill_weakness=weakness)
    weakness[0] = 0.9
    assert candidates.skill_weakness[0] == 0.2
    with pytest.raises(ValueError):
        candidates.skill_weakness[0] = 0.5


def test_uniform_selection_is_uniform_and_says_so() -> None:
    # Candidate 0 would always win the adaptive choice; the control arm ignores that.
    candidates = _candidates(4, skill_weakness=np.array([1.0, 0.0, 0.0, 0.0]))
    rng = np.random.default_rng(5)
    counts = np.bincount([select_uniformly(candidates=candidates, rng=rng).index for _ in range(4000)], minlength=4)
    # Binomial(4000, 1/4): sd ≈ 27, so ±120 is > 4 sd.
    assert np.all(np.abs(counts - 1000) <= 120), counts
    choice = select_uniformly(candidates=candidates, rng=np.random.default_rng(1))
    assert choice.reason.dominant_component == "random"
    assert choice.reason.sampled_p == choice.reason.predicted_p == 0.65
    assert choice.reason.why_now == "Chosen at random (control group); predicted success 65%."
    adaptive = [select_next_question(candidates=candidates, rng=np.random.default_rng(s)).index for s in range(20)]
    assert adaptive == [0] * 20


def test_probability_below_pinned_and_sharpening_with_answers() -> None:
    at_bar, below, above = probability_below(estimates=[1.5, 0.5, 2.5], answers=[0, 0, 0], target=1.5)
    assert at_bar == 0.5
    assert below == pytest.approx(1.0 / (1.0 + np.exp(-1.702)), abs=1e-12)  # one prior sd below: ≈ 0.8458
    assert above == pytest.approx(1.0 - below, abs=1e-12)
    few, many = probability_below(estimates=[1.0, 1.0], answers=[0, 15], target=1.5)  # precision 1 + 0.2·15 = 4
    assert few == pytest.approx(1.0 / (1.0 + np.exp(-0.851)), abs=1e-12)
    assert many == pytest.approx(1.0 / (1.0 + np.exp(-1.702)), abs=1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        probability_below(estimates=[0.0], answers=[-1], target=1.0)


def test_practice_adjusted_compares_practised_skills_among_themselves_within_the_cap() -> None:
    estimates = np.array([1.0, 1.0, 1.0, 0.2])
    answers = np.array([10.0, 4.0, 0.0, 40.0])  # mean over the practised three: 18
    shifted = practice_adjusted(estimates=estimates, answers=answers, gain_per_answer=0.1, cap=1.0)
    np.testing.assert_allclose(shifted, [1.0 - 0.8, 1.0 - 1.0, 1.0 - 1.0, 0.2 + 1.0], rtol=0, atol=1e-12)
    assert estimates.tolist() == [1.0, 1.0, 1.0, 0.2]  # the input is not mutated
    # Nobody practised: nothing to compare, the estimates as they are; gain 0 turns it off.
    np.testing.assert_array_equal(practice_adjusted(estimates=[0.3, -0.2], answers=[0, 0], gain_per_answer=0.1,
                                                    cap=1.0), [0.3, -0.2])
    np.testing.assert_array_equal(practice_adjusted(estimates=estimates, answers=answers, gain_per_answer=0.0,
                                                    cap=1.0), estimates)
    with pytest.raises(ValueError, match="non-negative"):
        practice_adjusted(estimates=[0.0], answers=[-1], gain_per_answer=0.1, cap=1.0)
    with pytest.raises(ValueError, match="aligned"):
        practice_adjusted(estimates=[0.0, 1.0], answers=[1], gain_per_answer=0.1, cap=1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-4, 4), st.integers(0, 200)), min_size=1, max_size=12),
       st.floats(0, 1), st.floats(0, 3))
def test_practice_adjusted_bounds_and_order(skills: list[tuple[float, int]], gain: float, cap: float) -> None:
    estimates = np.array([e for e, _ in skills])
    answers = np.array([float(n) for _, n in skills])
    shifted = practice_adjusted(estimates=estimates, answers=answers, gain_per_answer=gain, cap=cap)
    assert np.all(np.abs(shifted - estimates) <= cap + 1e-12)  # never more than the cap either way
    shift = shifted - estimates
    order = np.argsort(answers, kind="stable")
    assert np.all(np.diff(shift[order]) >= -1e-12)  # more practice never shifts a skill lower


def test_question_weakness_sums_over_the_questions_skills() -> None:
    per_skill = np.array([[0.9, 0.8], [0.9, 0.0], [0.3, 0.6]])
    present = np.array([[True, True], [True, False], [True, True]])
    np.testing.assert_allclose(question_weakness(per_skill=per_skill, present=present), [0.85, 0.45, 0.45])
    with pytest.raises(ValueError, match="aligned"):
        question_weakness(per_skill=per_skill, present=present[:, :1])


def test_recency_reason_of_a_never_seen_question_says_so() -> None:
    # Two candidates alike but for recency: the never-seen one (inf, as build_candidates sends it; NaN too) wins on
    # recency, and its reason must not read inf as a finite wait (it once said "you last saw it 2e303 days ago").
    for never in (np.inf, np.nan):
        candidates = _candidates(2, seconds_since_seen=np.array([never, 30.0]))
        choice = select_next_question(candidates=candidates, rng=np.random.default_rng(3))
        assert choice.index == 0
        assert choice.reason.dominant_component == "recency"
        assert choice.reason.why_now.startswith("Chosen because you have not seen it before; predicted success 65%")
    seen = select_next_question(candidates=_candidates(1, seconds_since_seen=np.array([2 * 86_400.0 + 5.0])),
                                rng=np.random.default_rng(3), policy=SelectionPolicy(
                                    weights=SelectionWeights(band=0.0, weakness=0.0, due=0.0, prerequisite=0.0,
                                                             recency=1.0, exposure=0.0)))
    assert "you last saw it 2 days ago" in seen.reason.why_now
