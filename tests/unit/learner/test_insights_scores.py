"""Knowledge gaps, confidence calibration, performance dimensions and mastery levels: pinned cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner.calibration import CalibrationLabel, confidence_calibration
from smartpractice.learner.gaps import GapSeverity, knowledge_gaps
from smartpractice.learner.insights import percentile_from_breakpoints
from smartpractice.learner.performance import MasteryLevel, mastery_levels, performance_scores


def test_knowledge_gaps_pinned() -> None:
    gaps = knowledge_gaps(
        mastery=[0.3, 0.9, 0.5],
        exam_weight=[8.0, 10.0, 5.0],
        dependent_skills=[0, 2, 6],
        recent_failures=[11, 1, 0],
        recent_attempts=[20, 10, 0],
    )
    # Skill 0 (the seed's example): gap 0.7; importance 8/10 = 0.8; impact 0;
    #   failure (11 + 5·0.7) / (20 + 5) = 0.58;
    #   priority 10·(3·0.7 + 2·0.8 + 0 + 1.5·0.58)/7.5 = 6.0933 → critical
    # Skill 1: gap 0.1; importance 1; impact 1 − 2^−1 = 0.5; failure (1 + 0.5)/15 = 0.1;
    #   priority 10·(0.3 + 2 + 0.5 + 0.15)/7.5 = 3.9333 → low (gap < 0.2)
    # Skill 2: gap 0.5; importance 0.5; impact 1 − 2^−3 = 0.875; failure (0 + 2.5)/5 = 0.5 (prior only);
    #   priority 10·(1.5 + 1 + 0.875 + 0.75)/7.5 = 5.5 → high
    np.testing.assert_allclose(gaps.recent_failure_rate, [0.58, 0.1, 0.5], atol=1e-12)
    np.testing.assert_allclose(gaps.prerequisite_impact, [0.0, 0.5, 0.875], atol=1e-12)
    np.testing.assert_allclose(gaps.priority, [6.0933333333, 3.9333333333, 5.5], atol=1e-9)
    assert gaps.severity == (GapSeverity.CRITICAL, GapSeverity.LOW, GapSeverity.HIGH)
    assert gaps.ranking.tolist() == [0, 2, 1]


def test_knowledge_gaps_validate() -> None:
    with pytest.raises(ValueError):
        knowledge_gaps(mastery=[0.5], exam_weight=[1.0], dependent_skills=[0], recent_failures=[3],
                       recent_attempts=[2])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_gap_priority_is_bounded_and_monotone_in_gap(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=8))
    unit = st.floats(min_value=0.0, max_value=1.0)
    mastery = np.array(data.draw(st.lists(unit, min_size=n, max_size=n)))
    attempts = np.array(data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)), dtype=float)
    failures = np.floor(attempts * np.array(data.draw(st.lists(unit, min_size=n, max_size=n))))
    weights = np.array(data.draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n)))
    dependents = np.array(data.draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)), dtype=float)
    kwargs = {"exam_weight": weights, "dependent_skills": dependents, "recent_failures": failures,
              "recent_attempts": attempts}
    gaps = knowledge_gaps(mastery=mastery, **kwargs)
    assert np.all((gaps.priority >= 0.0) & (gaps.priority <= 10.0))
    lower_mastery = knowledge_gaps(mastery=mastery * 0.5, **kwargs)
    assert np.all(lower_mastery.priority >= gaps.priority - 1e-12)


def test_confidence_calibration_pinned_small_sample() -> None:
    result = confidence_calibration(
        confidence=[5, 5, 5, 5, 1, 1, 3, 3], correct=[1, 1, 0, 0, 0, 1, 1, 0], min_answers=5
    )
    # stated p = .9 ×4, .1 ×2, .5 ×2. Brier = (.01 + .01 + .81 + .81 + .01 + .81 + .25 + .25)/8 = 0.37
    # ECE = (4·|.9 − .5| + 2·|.1 − .5| + 2·|.5 − .5|)/8 = 0.3; bias = 0.6 − 0.5 = 0.1
    # null SE = sqrt(4·.09 + 2·.09 + 2·.25)/8 = 0.12748 → threshold 0.255 > 0.1 → calibrated
    assert result.brier_score == pytest.approx(0.37, abs=1e-12)
    assert result.calibration_error == pytest.approx(0.3, abs=1e-12)
    assert result.bias == pytest.approx(0.1, abs=1e-12)
    assert result.label is CalibrationLabel.CALIBRATED
    assert [(level.answers, level.accuracy) for level in result.levels] == [
        (2, 0.5), (0, None), (2, 0.5), (0, None), (4, 0.5)
    ]


def test_confidence_calibration_labels() -> None:
    # 100 answers at confidence 5 (p = .9), 60 right: bias 0.3 ≫ max(0.05, 2·0.03) → overconfident
    over = confidence_calibration(confidence=[5] * 100, correct=[1] * 60 + [0] * 40)
    assert over.label is CalibrationLabel.OVERCONFIDENT and over.bias == pytest.approx(0.3)
    under = confidence_calibration(confidence=[1] * 50, correct=[1] * 40 + [0] * 10)
    assert under.label is CalibrationLabel.UNDERCONFIDENT
    few = confidence_calibration(confidence=[5] * 5, correct=[0] * 5)
    assert few.label is CalibrationLabel.INSUFFICIENT_DATA
    empty = confidence_calibration(confidence=[], correct=[])
    assert empty.answers == 0 and empty.brier_score is None
    with pytest.raises(ValueError):
        confidence_calibration(confidence=[6], correct=[1])


def test_performance_scores_pinned() -> None:
    scores = performance_scores(
        correct=[1, 1, 0, 1], seconds_taken=[30, 60, 10, 120], target_seconds=60,
        session_accuracy=[0.6, 0.8], mastery_gain=0.1,
    )
    # accuracy 3/4 = 75; speed over correct answers: min(1, 60/30)=1, 60/60=1, 60/120=.5 → 83.33
    # consistency 100·(1 − 2·sd[.6, .8]) = 100·(1 − 0.2) = 80; progress 100·(0.5 + 0.5·0.1/0.2) = 75
    # overall .35·75 + .25·83.333 + .2·80 + .2·75 = 78.0833
    assert scores.accuracy == pytest.approx(75.0)
    assert scores.speed == pytest.approx(250 / 3)
    assert scores.consistency == pytest.approx(80.0)
    assert scores.progress == pytest.approx(75.0)
    assert scores.overall == pytest.approx(78.0833333, abs=1e-6)


def test_performance_overall_renormalises_missing_dimensions() -> None:
    scores = performance_scores(
        correct=[1, 1, 0, 1], seconds_taken=[30, 60, 10, 120], target_seconds=60,
        session_accuracy=[0.7], mastery_gain=None,
    )
    # consistency and progress missing: (.35·75 + .25·83.333) / .6 = 78.4722
    assert scores.consistency is None and scores.progress is None
    assert scores.overall == pytest.approx(78.4722222, abs=1e-6)
    nothing = performance_scores(correct=[], seconds_taken=[], target_seconds=60, session_accuracy=[],
                                 mastery_gain=None)
    assert nothing.overall is None


def test_mastery_levels_seed_thresholds() -> None:
    levels = mastery_levels(accuracy=[0.85, 0.85, 0.65, 0.65, 0.45, 0.3], attempts=[10, 9, 5, 4, 1, 50])
    assert levels == (
        MasteryLevel.MASTERED, MasteryLevel.PROFICIENT, MasteryLevel.PROFICIENT,
        MasteryLevel.DEVELOPING, MasteryLevel.DEVELOPING, MasteryLevel.NEEDS_FOCUS,
    )


def test_percentile_from_breakpoints_pinned() -> None:
    points = (0.2, 0.3, 0.5, 0.7, 0.8)
    assert percentile_from_breakpoints(value=0.5, breakpoints=points) == pytest.approx(50.0)
    # 0.6 is halfway from p50 (0.5) to p75 (0.7): 50 + 0.5 * 25
    assert percentile_from_breakpoints(value=0.6, breakpoints=points) == pytest.approx(62.5)
    # 0.25 is halfway from p10 to p25: 10 + 0.5 * 15
    assert percentile_from_breakpoints(value=0.25, breakpoints=points) == pytest.approx(17.5)
    assert percentile_from_breakpoints(value=0.1, breakpoints=points) == pytest.approx(5.0)
    assert percentile_from_breakpoints(value=0.9, breakpoints=points) == pytest.approx(95.0)
    with pytest.raises(ValueError, match="5 breakpoints"):
        percentile_from_breakpoints(value=0.5, breakpoints=points[:3])
