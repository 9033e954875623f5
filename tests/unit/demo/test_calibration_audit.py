"""The demo's calibration audit: the noise floor of a calibrated predictor, the first-on-skill flag, slices."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from smartpractice_dev.demo import calibration_audit as audit


def test_the_noise_floor_of_3000_answers_is_about_0_018() -> None:
    # y ~ Bernoulli(p) on 3,000 predictions spread over 0.2-0.9: ~430 answers a bin, E|gap| ≈ √(2/π)·√(p(1−p)/n)
    # per bin ≈ 0.018 weighted: what an ECE of 0.03-0.045 on the demo's 3,000 adaptive answers is to be read against
    predicted = np.random.default_rng(3).uniform(0.2, 0.9, 3000)
    floor = audit.noise_floor(predicted=predicted, draws=200, rng=np.random.default_rng(0))
    assert (floor.mean, floor.p95) == pytest.approx((0.018055389350885433, 0.025862365399807574), abs=1e-12)


def test_ece_against_the_true_p_is_the_binned_gap_without_outcome_noise() -> None:
    predicted = np.array([0.25, 0.25, 0.75, 0.75])
    assert audit.ece_against(predicted=predicted, outcome=np.array([0.0, 1.0, 1.0, 1.0])) == pytest.approx(0.25)
    assert audit.ece_against(predicted=predicted, outcome=np.array([0.3, 0.3, 0.7, 0.7])) == pytest.approx(0.05)


def test_a_first_answer_on_one_of_the_question_skills_is_flagged_per_learner() -> None:
    flags = audit.first_on_skill(learner=[0, 0, 1, 0, 1], skills=[(1, 2), (2,), (2,), (2, 3), (1,)])
    assert flags.tolist() == [True, False, True, True, True]


def test_events_are_read_with_each_learner_s_answers_so_far(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "learner,group,day,question_id,n_skills,predicted_p,sampled_p,true_p,intended_correct,server_correct\n"
        "0,adaptive,0,7,2,0.5,0.6,0.4,1,1\n"
        "1,random,0,8,1,0.7,0.7,0.8,0,0\n"
        "0,adaptive,1,9,2,0.6,0.65,0.5,0,0\n", encoding="utf-8")
    events = audit.read_events(path)
    assert events.answer_index.tolist() == [0, 0, 1]
    assert events.day.tolist() == [0, 0, 1] and events.n_skills.tolist() == [2, 1, 2]
    within = events.group == "adaptive"
    [whole, *_] = audit.slices(events, within=within, first_skill=np.array([True, True, False]))
    assert (whole.n, whole.predicted, whole.true_p, whole.observed) == pytest.approx((2, 0.55, 0.45, 0.5))
    assert whole.gap == pytest.approx(-0.1)
    empty = audit.slice_of(events, np.zeros(3, dtype=bool), "none")
    assert empty.n == 0 and math.isnan(empty.predicted)


def test_the_demo_writes_events_the_audit_reads_back(tmp_path: Path) -> None:
    from smartpractice_dev.demo.cli import write_events
    from smartpractice_dev.demo.runner import AnswerEvent, CohortRun

    events = (AnswerEvent(0, "adaptive", 0, 7, 0.5, 0.4, True, True, 0.62, 2),
              AnswerEvent(1, "random", 0, 8, 0.7, 0.8, False, False, 0.7, 1))
    run = CohortRun(groups=("adaptive", "random"), initial_theta=np.zeros((2, 1)), events=events, practice=(),
                    sessions=(), days=(), final_rows=())
    path = write_events(run, path=tmp_path / "events.csv")
    assert path.read_text(encoding="utf-8").splitlines() == [
        "learner,group,day,question_id,n_skills,predicted_p,sampled_p,true_p,intended_correct,server_correct",
        "0,adaptive,0,7,2,0.5,0.62,0.4,1,1",
        "1,random,0,8,1,0.7,0.7,0.8,0,0"]
    back = audit.read_events(path)
    assert back.predicted.tolist() == [0.5, 0.7] and back.correct.tolist() == [1.0, 0.0]
