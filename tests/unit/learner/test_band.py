"""The success band's rules (learner/band.py): the session controller's shift, the gate on the mean P, and how
select_next_question applies them (pinned values; each test fails without the rule it names)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from smartpractice.learner.band import SessionSuccess, band_distance, band_gate, session_band
from smartpractice.learner.selection import SelectionCandidates, SelectionPolicy, select_next_question


def _candidates(n: int, **overrides: Any) -> SelectionCandidates:
    columns: dict[str, Any] = {
        "question_ids": np.arange(n), "predicted_p": np.full(n, 0.65), "evidence": np.full(n, 200.0),
        "skill_weakness": np.full(n, 0.5), "due_score": np.zeros(n), "prerequisite_readiness": np.ones(n),
        "seconds_since_seen": np.full(n, np.inf), "exposure_count": np.zeros(n),
    }
    columns.update(overrides)
    return SelectionCandidates(**columns)


def test_band_distance_pinned() -> None:
    np.testing.assert_allclose(band_distance(p=np.array([0.1, 0.6, 0.65, 0.75]), low=0.6, high=0.7),
                               [0.5, 0.0, 0.0, 0.05], atol=1e-12)


def test_session_band_pinned() -> None:
    # 2 of 4 right: rate (2 + 2 · 0.65) / 6 = 0.55, shift 2 · (0.65 − 0.55) = 0.2.
    low, high = session_band(low=0.6, high=0.7, session=SessionSuccess(answered=4, correct=2), gain=2.0, prior=2.0)
    assert (low, high) == pytest.approx((0.8, 0.9), abs=1e-12)
    # 4 of 4: rate 5.3 / 6, shift 2 · (0.65 − 0.88333) = −0.46667.
    low, high = session_band(low=0.6, high=0.7, session=SessionSuccess(answered=4, correct=4), gain=2.0, prior=2.0)
    assert (low, high) == pytest.approx((0.6 - 0.46666666666666667, 0.7 - 0.46666666666666667), abs=1e-12)
    # 0 of 5: shift 2 · (0.65 − 1.3 / 7) = 0.929, clipped so the band stays in [0, 1].
    assert session_band(low=0.6, high=0.7, session=SessionSuccess(answered=5, correct=0), gain=2.0,
                        prior=2.0) == pytest.approx((0.9, 1.0), abs=1e-12)
    # The session's start, no session, or gain 0: the learner's band.
    assert session_band(low=0.6, high=0.7, session=SessionSuccess(answered=0, correct=0), gain=2.0,
                        prior=2.0) == pytest.approx((0.6, 0.7), abs=1e-12)
    assert session_band(low=0.6, high=0.7, session=None, gain=2.0, prior=2.0) == (0.6, 0.7)
    assert session_band(low=0.6, high=0.7, session=SessionSuccess(answered=5, correct=0), gain=0.0,
                        prior=2.0) == (0.6, 0.7)
    with pytest.raises(ValueError, match="gain"):
        session_band(low=0.6, high=0.7, session=None, gain=-1.0, prior=2.0)
    with pytest.raises(ValueError, match="correct"):
        SessionSuccess(answered=2, correct=3)


def test_band_gate_keeps_the_nearest_share_ties_included_eligible_only() -> None:
    p = np.array([0.1, 0.62, 0.75, 0.5, 0.95, 0.66])  # distances 0.5, 0, 0.05, 0.1, 0.25, 0
    everyone = np.ones(6, dtype=bool)
    assert band_gate(predicted_p=p, eligible=everyone, low=0.6, high=0.7, share=0.5,
                     minimum=1).tolist() == [False, True, True, False, False, True]
    # ⌈0.2 · 6⌉ = 2 would cut between the two at distance 0: both are kept, nothing else.
    assert band_gate(predicted_p=p, eligible=everyone, low=0.6, high=0.7, share=0.01,
                     minimum=1).tolist() == [False, True, False, False, False, True]
    # Ineligible candidates stay out; the minimum counts eligible ones, and above their number keeps them all.
    some = np.array([True, False, True, True, True, False])
    assert band_gate(predicted_p=p, eligible=some, low=0.6, high=0.7, share=0.25,
                     minimum=2).tolist() == [False, False, True, True, False, False]
    assert band_gate(predicted_p=p, eligible=some, low=0.6, high=0.7, share=0.25,
                     minimum=10).tolist() == some.tolist()
    with pytest.raises(ValueError, match="share"):
        band_gate(predicted_p=p, eligible=everyone, low=0.6, high=0.7, share=0.0, minimum=1)


def test_the_gate_keeps_hard_weak_questions_out_whatever_their_draw() -> None:
    # 10 hard questions on weak skills (P 0.2, no evidence: their Beta draws scatter, some into the band) and
    # 30 in-band ones on half as weak skills. The gate keeps the 10 nearest the band on the MEAN P.
    n = 40
    hard = np.arange(n) < 10
    candidates = _candidates(n, predicted_p=np.where(hard, 0.2, 0.65), evidence=np.where(hard, 0.0, 200.0),
                             skill_weakness=np.where(hard, 1.0, 0.5))
    gated = [select_next_question(candidates=candidates, rng=np.random.default_rng(s)).index for s in range(200)]
    assert sum(i < 10 for i in gated) == 0
    ungated = SelectionPolicy(band_gate_share=1.0)
    chosen = [select_next_question(candidates=candidates, rng=np.random.default_rng(s), policy=ungated).index
              for s in range(200)]
    assert sum(i < 10 for i in chosen) == 200  # without it, a hard weak one wins every time


def test_the_session_controller_aims_easier_after_misses_and_says_so() -> None:
    # In-band 0.65 and easy 0.85 questions, equally weak; after 0 of 5 right the pick's band is 0.9–1.0.
    n = 20
    easy = np.arange(n) % 2 == 1
    candidates = _candidates(n, predicted_p=np.where(easy, 0.85, 0.65))
    missed = SessionSuccess(answered=5, correct=0)
    picks = [select_next_question(candidates=candidates, rng=np.random.default_rng(s), session=missed)
             for s in range(100)]
    assert all(easy[p.index] for p in picks)
    assert picks[0].reason.why_now.endswith(
        " This session is below your band so far (0 of 5 right), so it aims at an easier question (90%–100%).")
    assert (picks[0].reason.band_low, picks[0].reason.band_high) == (0.6, 0.7)  # the learner's band is reported
    on_track = SessionSuccess(answered=6, correct=4)  # rate (4 + 1.3) / 8 = 0.6625: shift −0.025
    assert sum(easy[select_next_question(candidates=candidates, rng=np.random.default_rng(s),
                                         session=on_track).index] for s in range(100)) == 0
    assert not any(easy[select_next_question(candidates=candidates, rng=np.random.default_rng(s)).index]
                   for s in range(100))


def test_policy_rejects_bad_band_rules() -> None:
    with pytest.raises(ValueError, match="band_gate_share"):
        SelectionPolicy(band_gate_share=1.5)
    with pytest.raises(ValueError, match="band_gate_share"):
        SelectionPolicy(band_gate_min=0)
    with pytest.raises(ValueError, match="session_gain"):
        SelectionPolicy(session_gain=-0.1)
