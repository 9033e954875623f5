"""Flags, the progress line, the learner picks for plots and the printed summary's wording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smartpractice_dev.demo.config import DemoConfig, parse_config
from smartpractice_dev.demo.metrics import MasterySummary, score_recovery, true_section_score
from smartpractice_dev.demo.plots import spread_learners
from smartpractice_dev.demo.progress import render
from smartpractice_dev.demo.report import duration, insights_lines, mastery_lines, score_recovery_lines


def test_defaults_and_quick() -> None:
    default = parse_config([])
    assert (default.learners, default.days, default.sessions_per_week, default.sessions_per_day) == (200, 14, 3.0, None)
    assert (default.questions_per_session, default.workers, default.output) == (5, 4, Path("demo_output"))
    quick = parse_config(["--quick"])
    assert (quick.learners, quick.days, quick.sessions_per_day, quick.questions_per_session) == (6, 2, 1.0, 3)
    assert parse_config(["--quick", "--learners", "10", "--weeks", "1"]).learners == 10
    assert parse_config(["--quick", "--weeks", "1"]).days == 7
    assert parse_config(["--sessions-per-day", "2"]).sessions_per_week is None


def test_conflicting_or_invalid_flags_exit() -> None:
    with pytest.raises(SystemExit):
        parse_config(["--days", "5", "--weeks", "1"])
    with pytest.raises(SystemExit):
        parse_config(["--learners", "0"])
    with pytest.raises(ValueError, match="exactly one"):
        DemoConfig(sessions_per_day=1.0, sessions_per_week=2.0)


def test_progress_line() -> None:
    assert render(day=3, days=14, done=1234, total=4800, elapsed=60.0, width=10) == (
        "day 3/14 [###.......] 1234/4800 answers, 20.6 answers/s, eta 2:53")
    assert render(day=1, days=2, done=0, total=10, elapsed=0.0, width=4) == (
        "day 1/2 [....] 0/10 answers, 0.0 answers/s, eta ?")


def test_spread_learners_picks_lowest_median_highest() -> None:
    assert spread_learners([5.0, 1.0, 3.0, 2.0, 4.0], among=[0, 1, 2, 3, 4], count=3) == [1, 2, 0]
    assert spread_learners([5.0, 1.0, 3.0], among=[2, 0], count=3) == [2, 0]


def test_duration_and_mastery_wording() -> None:
    assert duration(125.4) == "2:05"
    adaptive = MasterySummary(10, 8, 4, 3.5, 3.0, 2.25)
    control = MasterySummary(10, 9, 2, 5.0, 5.0, 3.0)
    lines = mastery_lines({"adaptive": adaptive, "random": control}, mastery_theta=1.0,
                          skills_per_answer={"adaptive": 1.08, "random": 1.564}, bank_skills_per_question=1.57)
    assert lines[1] == ("  adaptive          mastered 4/10 eligible pairs (40.0 %; 8 practised), mean 3.5 questions "
                        "(median 3); censored pairs had 2.2 questions so far")
    assert lines[3] == "  adaptive / control: mean questions ×0.70, share mastered ×2.00"
    assert lines[4] == ("  skills practised per answer (a question practises all its skills): adaptive 1.08, "
                        "control (random) 1.56; the bank averages 1.57")


def test_insights_lines_show_readiness_gaps_with_truth_and_percentile() -> None:
    insights = {
        "readiness": {"predicted_score": 452.0, "low": 390.0, "high": 510.0, "pass_probability": 0.031,
                      "readiness_pct": 61.0, "days_to_ready": None,
                      "days_to_ready_reason": "no projection yet: needs 3 days of history"},
        "knowledge_gaps": [{"skill_id": 4, "skill_name": "Exponent rules", "severity": "high", "priority": 6.14,
                            "recommendation": "Practise it."}],
        "mastery": [{"skill_id": 4, "trend": "improving"}, {"skill_id": 7, "trend": "stable"}],
        "strongest": [{"skill_name": "Percentages", "effective_mastery": 0.91}],
        "weakest": [{"skill_name": "Exponent rules", "effective_mastery": 0.22}],
        "peer_percentile": {"percentile": 64.0, "cohort_size": 200, "k_anonymous": True},
        "alerts": [],
    }
    lines = insights_lines(insights, learner=17, group="adaptive", true_theta={4: -0.42},
                           skill_names={4: "Exponent rules", 7: "Percentages"})
    assert lines == [
        "Sample learner #17 (adaptive) — insights:",
        "  readiness: predicted score 452 [390, 510], pass probability 3.1 %, readiness 61 %, "
        "days to ready n/a (no projection yet: needs 3 days of history)",
        "  gap: Exponent rules — high, priority 6.1 (true θ -0.42): Practise it.",
        "  trends over 2 practised skills: 1 improving, 1 stable, 0 declining "
        "(on the backend's clock the whole run took minutes)",
        "  strongest: Percentages 0.91; weakest: Exponent rules 0.22",
        "  peer percentile: 64 (cohort 200, k-anonymous)",
        "  alerts: none",
    ]


def test_insights_lines_show_the_section_scores_and_a_null_readiness_reason() -> None:
    insights = {
        "readiness": {"scope": "math", "predicted_score": None, "reason": "needs 5 answers in this section, has 3"},
        "predicted_scores": {"score_source": "predictor", "ability_se": 0.61, "sections": [
            {"section": "math", "score": None, "low": None, "high": None, "answers": 3,
             "reason": "needs 5 answers in this section, has 3"}]},
    }
    lines = insights_lines(insights, learner=3, group="adaptive", true_theta={}, skill_names={})
    assert lines[1:3] == [
        "  readiness (math): no predicted score: needs 5 answers in this section, has 3",
        "  math: n/a (needs 5 answers in this section, has 3); from the predictor route, θ's SE 0.61 logits, "
        "3 answers in the section"]


def test_true_section_score_and_its_recovery() -> None:
    theta = np.array([[0.0, 1.0], [2.0, -1.0]])
    truth = true_section_score(theta=theta, questions=[((0,), (0.0,)), ((0, 1), (0.0, 1.0))], guess=0.2, slip=0.1)
    sigma = 1.0 / (1.0 + np.exp(-np.array([[0.0, 0.0], [2.0, -2.0]])))
    p = 0.2 + 0.7 * np.array([[sigma[0, 0], sigma[0, 0] * sigma[0, 1]], [sigma[1, 0], sigma[1, 0] * sigma[1, 1]]])
    assert truth == pytest.approx(200.0 + 600.0 * p.mean(axis=1), abs=1e-12)
    recovery = score_recovery(sections=[{"score": 500.0, "low": 450.0, "high": 560.0},
                                        {"score": 620.0, "low": 600.0, "high": 610.0},
                                        {"score": None, "reason": "needs 5 answers in this section, has 2"}, None],
                              true_scores=[520.0, 640.0, 300.0, 300.0])
    assert (recovery.learners, recovery.scored, recovery.mean_error, recovery.mean_abs_error, recovery.covered) == \
        (4, 2, -20.0, 20.0, 0.5)
    assert recovery.null_reasons == {"needs 5 answers in this section, has 2": 1, "no section entry": 1}
    lines = score_recovery_lines(recovery, section="math")
    assert lines[1] == ("  2 scored: mean error -20 points (predicted − true), mean |error| 20, the 90 % interval "
                        "holds the true score for 50 %, correlation n/a (Spearman n/a)")
    assert lines[2:] == ["  1 without a score: needs 5 answers in this section, has 2",
                         "  1 without a score: no section entry"]
