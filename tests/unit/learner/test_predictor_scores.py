"""Predicted exam scores from the production predictor (learner/predictor_scores.py), property-tested.

Over generated banks, learner states and weights (hypothesis, the repo's derandomized profile):
- the section curve is the mean of the scalar `predictor.predict` over the section's questions (1e-12), and the
  Fisher information is (dP/dθ)² / (P(1 − P)) of the same P (finite differences);
- the score lies in 200–800 (the total in 400–1600), never decreases with θ, and its interval contains it;
- the pass probability lies in [0, 1], agrees with score vs target (unrounded curve: centre ≥ target ⇔ p ≥ 0.5;
  reported, through assess_readiness: ready ⇔ p ≥ 0.5) and is Φ((θ − θ_cut)/SE) of the exact curve;
- the database's bucketed curve (`bucketed_section_curve`: questions grouped by floor and 0.05-logit bucket) is
  within CURVE_TOLERANCE = (√3/144) h² of the exact curve at every offset, on hypothesis banks and on large
  clustered banks at several widths (where the bound is nearly reached), and the section scores it gives equal
  the exact curve's except within 600 · CURVE_TOLERANCE of a rounding boundary; the SQL's width is the constant;
- a section has a score exactly when the evidence suffices (a predictor state and ≥ MIN_SECTION_ANSWERS answers
  in it): otherwise score, interval and proportion are null and the reason says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpractice.learner import predictor
from smartpractice.learner import predictor_scores as ps
from smartpractice.learner.exam_scores import assess_readiness
from smartpractice.learner.irt import FloatArray

OFFSETS: FloatArray = ps.OFFSETS  # the grid insights_context evaluates


@dataclass(frozen=True)
class Bank:
    """A section's questions over up to 3 skills each, as predict_grid's padded grids."""

    skills: list[list[int]]
    difficulties: np.ndarray
    floors: np.ndarray


@dataclass(frozen=True)
class State:
    learner: predictor.LearnerGlobal
    skills: dict[int, predictor.SkillDeviation]
    weights: predictor.Weights


@st.composite
def banks(draw: st.DrawFn) -> Bank:
    n = draw(st.integers(1, 25))
    skills = [sorted(draw(st.sets(st.integers(0, 5), min_size=1, max_size=3))) for _ in range(n)]
    b = np.array([draw(st.floats(-4.0, 4.0)) for _ in range(n)])
    floors = np.array([draw(st.sampled_from([0.0, 0.2, 0.25])) for _ in range(n)])
    return Bank(skills, b, floors)


@st.composite
def states(draw: st.DrawFn) -> State:
    answers = draw(st.integers(1, 400))
    learner = predictor.LearnerGlobal(draw(st.floats(-5.0, 5.0)), answers, draw(st.integers(0, answers)))
    skills = {}
    for k in range(6):
        a = draw(st.integers(0, 60))
        skills[k] = predictor.SkillDeviation(draw(st.floats(-2.0, 2.0)), a, draw(st.integers(0, a)))
    weights = predictor.Weights((draw(st.floats(-1.0, 1.0)), draw(st.floats(0.2, 1.5)),
                                 *(draw(st.floats(-0.5, 0.5)) for _ in range(6))))
    return State(learner, skills, weights)


def grids(bank: Bank, state: State) -> dict[str, np.ndarray]:
    width = max(len(s) for s in bank.skills)
    present = np.array([[j < len(s) for j in range(width)] for s in bank.skills])
    rows = [[state.skills[s[j]] if j < len(s) else predictor.SkillDeviation() for j in range(width)]
            for s in bank.skills]
    return {"deviations": np.array([[r.deviation for r in row] for row in rows]),
            "skill_answers": np.array([[float(r.answers) for r in row] for row in rows]),
            "skill_correct": np.array([[float(r.correct) for r in row] for row in rows]),
            "present": present, "difficulties": bank.difficulties, "floors": bank.floors}


def curve_of(bank: Bank, state: State, theta: float | None = None) -> np.ndarray:
    lg = state.learner
    return ps.section_curve(offsets=OFFSETS, theta=lg.theta if theta is None else theta, learner_answers=lg.answers,
                            learner_correct=lg.correct, weights=state.weights, **grids(bank, state))


def bucketed_of(bank: Bank, state: State, width: float = ps.CURVE_BUCKET_WIDTH) -> np.ndarray:
    lg, g = state.learner, grids(bank, state)
    return ps.bucketed_section_curve(offsets=OFFSETS, theta=lg.theta, learner_answers=lg.answers,
                                     learner_correct=lg.correct, weights=state.weights, width=width,
                                     deviations=g["deviations"], skill_answers=g["skill_answers"],
                                     skill_correct=g["skill_correct"], present=g["present"],
                                     difficulties=g["difficulties"], floors=g["floors"])


def scalar_p(bank: Bank, state: State, theta: float) -> np.ndarray:
    learner = predictor.LearnerGlobal(theta, state.learner.answers, state.learner.correct)
    return np.array([predictor.predict(learner=learner, skills=[state.skills[k] for k in skills],
                                       item=predictor.ItemDifficulty(float(b)), weights=state.weights,
                                       floor=float(c)).p_correct
                     for skills, b, c in zip(bank.skills, bank.difficulties, bank.floors, strict=True)])


def scores(curves: dict[str, np.ndarray], answers: dict[str, int], se: float | None,
           unavailable: str | None = None) -> ps.PredictorScores:
    evidence = {name: ps.SectionEvidence(questions=10, answers=answers[name], curve=c) for name, c in curves.items()}
    return ps.predict_scores(sections=list(curves), evidence=evidence, offsets=OFFSETS, se=se,
                             unavailable=unavailable)


SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(bank=banks(), state=states())
def test_the_curve_is_the_mean_served_p_and_the_information_its_fisher_information(bank: Bank,
                                                                                  state: State) -> None:
    curve = curve_of(bank, state)
    for i in range(OFFSETS.size):
        expected = scalar_p(bank, state, state.learner.theta + OFFSETS[i]).mean()
        assert abs(curve[i] - expected) <= 1e-12
    g = grids(bank, state)
    lg = state.learner
    logits = predictor.logit_grid(theta=lg.theta, learner_answers=lg.answers, learner_correct=lg.correct,
                                  weights=state.weights, **{k: v for k, v in g.items() if k != "floors"})
    info = ps.ability_information(logits=logits, floors=bank.floors, slope=state.weights.values[1])
    assert info >= 0.0 and 0.0 < ps.ability_se(information=info) <= 1.0
    h = 1e-5
    p = scalar_p(bank, state, lg.theta)
    slope = (scalar_p(bank, state, lg.theta + h) - scalar_p(bank, state, lg.theta - h)) / (2 * h)
    keep = p * (1 - p) > 1e-6  # where the finite difference is precise enough
    expected_info = float(np.sum(slope[keep] ** 2 / (p[keep] * (1 - p[keep]))))
    kept = ps.ability_information(logits=logits[keep], floors=bank.floors[keep], slope=state.weights.values[1])
    assert kept == pytest.approx(expected_info, rel=1e-5, abs=1e-9)


@SETTINGS
@given(bank=banks(), state=states(), width=st.sampled_from([ps.CURVE_BUCKET_WIDTH, 0.5, 2.0]))
def test_the_bucketed_curve_is_within_the_tolerance_of_the_exact_one(bank: Bank, state: State,
                                                                     width: float) -> None:
    bucketed = bucketed_of(bank, state, width)
    bound = math.sqrt(3.0) / 144.0 * width ** 2
    assert np.max(np.abs(bucketed - curve_of(bank, state))) <= bound + 1e-12
    assert np.all(np.diff(bucketed) >= 0.0) and np.all((bucketed >= 0.0) & (bucketed <= 1.0))


def _large_bank(rng: np.random.Generator, n: int) -> tuple[Bank, State]:
    """n questions over 1–3 of 30 skills, b clustered around a few values (many questions per bucket)."""
    skills = [sorted(rng.choice(30, size=int(rng.integers(1, 4)), replace=False).tolist()) for _ in range(n)]
    b = rng.choice([-1.5, -0.5, 0.2, 1.0], size=n) + rng.normal(0.0, 0.6, size=n)
    floors = rng.choice([0.0, 0.2, 0.25], size=n)
    skill_state = {k: predictor.SkillDeviation(float(rng.normal(0.0, 0.4)), int(a), int(rng.integers(0, a + 1)))
                   for k, a in enumerate(rng.integers(0, 40, size=30))}
    learner = predictor.LearnerGlobal(float(rng.normal(0.0, 1.0)), 200, 130)
    weights = predictor.Weights((0.15, float(rng.uniform(0.6, 1.4)), -0.05, 0.3, 0.03, -0.06, -0.3, -0.45))
    return Bank(skills, b, floors), State(learner, skill_state, weights)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_banks_bucketed_curve_bound_and_scores(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bank, state = _large_bank(rng, 4000)
    exact = curve_of(bank, state)
    for width in (ps.CURVE_BUCKET_WIDTH, 0.5, 2.0):
        bucketed = bucketed_of(bank, state, width)
        gap = float(np.max(np.abs(bucketed - exact)))
        bound = math.sqrt(3.0) / 144.0 * width ** 2
        assert gap <= bound
        if width == 2.0:
            assert gap >= 0.01 * bound  # the groups do merge questions: the bound is exercised, not vacuous
    served = bucketed_of(bank, state)
    assert float(np.max(np.abs(served - exact))) <= ps.CURVE_TOLERANCE
    got, want = (scores({"math": c}, {"math": 20}, se=0.3).sections[0] for c in (served, exact))
    centre = 200.0 + 600.0 * float(exact[int(np.flatnonzero(OFFSETS == 0.0)[0])])
    near_boundary = abs((centre % 10.0) - 5.0) <= 600.0 * ps.CURVE_TOLERANCE
    assert near_boundary or got.score == want.score
    assert abs((got.proportion or 0.0) - (want.proportion or 0.0)) <= ps.CURVE_TOLERANCE


def test_the_sql_buckets_logits_at_the_stated_width() -> None:
    sql = (Path(__file__).parents[3] / "supabase/migrations/20261207150000_predictor_curves_by_logit_bucket.sql"
           ).read_text()
    assert f"floor(qs.a / {ps.CURVE_BUCKET_WIDTH})" in sql
    assert abs(ps.CURVE_TOLERANCE - 3.007e-5) <= 1e-8


@SETTINGS
@given(bank=banks(), state=states(), info=st.floats(0.0, 200.0), step=st.floats(0.05, 3.0),
       target=st.integers(210, 800), answers=st.integers(0, 12))
def test_score_range_monotone_interval_pass_and_null_reasons(bank: Bank, state: State, info: float, step: float,
                                                             target: int, answers: int) -> None:
    se = ps.ability_se(information=info)
    low_theta = state.learner.theta
    high_theta = min(6.0, low_theta + step)
    low = scores({"math": curve_of(bank, state, low_theta)}, {"math": answers}, se)
    high = scores({"math": curve_of(bank, state, high_theta)}, {"math": answers}, se)
    (a,), (b,) = low.sections, high.sections
    if answers < ps.MIN_SECTION_ANSWERS:  # short evidence: null with the reason, never an extreme
        for s in (a, b):
            assert (s.score, s.lower, s.upper, s.proportion) == (None, None, None, None)
            assert s.reason == f"needs {ps.MIN_SECTION_ANSWERS} answers in this section, has {answers}"
        return
    assert a.reason is None and b.reason is None
    assert a.score is not None and a.lower is not None and a.upper is not None and a.proportion is not None
    assert b.score is not None and b.proportion is not None
    assert 200.0 <= a.lower <= a.score <= a.upper <= 800.0
    assert 0.0 <= a.proportion <= 1.0 and a.score == 10 * round((200 + 600 * a.proportion) / 10)
    assert b.proportion >= a.proportion and b.score >= a.score  # increases with θ
    curve = low.curves["math"]
    assert a.lower <= curve.centre <= a.upper  # the unrounded score too
    p = ps.pass_probability(curve=curve, target=float(target))
    assert 0.0 <= p <= 1.0
    assert (curve.centre >= target) == (p >= 0.5)
    assessed = assess_readiness(score=a.score, lower=a.lower, upper=a.upper, target=float(target),
                                points_per_day=None, days_left=None, pass_probability=p)
    assert assessed.ready == (a.score >= target) == (assessed.pass_probability >= 0.5)
    assert 0.0 <= assessed.pass_probability <= 1.0
    # Φ((θ − θ_cut)/SE) on the exact curve: θ_cut by bisection of the mean served P (no interpolation)
    exact = _exact_pass(bank, state, se, float(target))
    if exact is not None:
        assert p == pytest.approx(exact, abs=0.02)


def _exact_pass(bank: Bank, state: State, se: float, target: float) -> float | None:
    def score(theta: float) -> float:
        return 200.0 + 600.0 * float(scalar_p(bank, state, theta).mean())

    lo, hi = state.learner.theta - 6.0, state.learner.theta + 6.0
    if not score(lo) < target < score(hi):
        return None
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if score(mid) < target else (lo, mid)
    return NormalDist().cdf((state.learner.theta - 0.5 * (lo + hi)) / se)


@SETTINGS
@given(math_bank=banks(), rw_bank=banks(), state=states(), info=st.floats(0.0, 200.0),
       target=st.integers(410, 1600), answers=st.tuples(st.integers(0, 9), st.integers(0, 9)))
def test_total_is_the_sum_with_the_shared_ability_interval(math_bank: Bank, rw_bank: Bank, state: State,
                                                           info: float, target: int,
                                                           answers: tuple[int, int]) -> None:
    se = ps.ability_se(information=info)
    out = scores({"math": curve_of(math_bank, state), "reading_writing": curve_of(rw_bank, state)},
                 {"math": answers[0], "reading_writing": answers[1]}, se)
    short = min(answers) < ps.MIN_SECTION_ANSWERS
    assert (out.total is None) == short == (out.total_reason is not None)
    if out.total is None:
        assert out.total_curve is None
        return
    m, r = out.sections
    assert out.total == (m.score or 0.0) + (r.score or 0.0)
    assert out.total_lower is not None and out.total_upper is not None and out.total_curve is not None
    assert 400.0 <= out.total_lower <= out.total <= out.total_upper <= 1600.0
    p = ps.pass_probability(curve=out.total_curve, target=float(target))
    assert 0.0 <= p <= 1.0 and (out.total_curve.centre >= target) == (p >= 0.5)


def test_no_predictor_state_gives_nulls_with_the_reason() -> None:
    curve = np.linspace(0.2, 0.9, OFFSETS.size)
    out = scores({"math": curve, "reading_writing": curve}, {"math": 40, "reading_writing": 40}, None,
                 unavailable="no predictor state yet")
    assert all(s.score is None and s.reason == "no predictor state yet" for s in out.sections)
    assert out.total is None and out.total_reason == "the total needs a score in every section"
    assert out.ability_se is None


def test_a_section_without_questions_has_no_score() -> None:
    out = ps.predict_scores(sections=["math"], evidence={}, offsets=OFFSETS, se=0.3)
    assert out.sections[0].score is None and out.sections[0].reason == "no active questions in this section"


def test_pass_probability_is_the_normal_cdf_of_the_ability_gap() -> None:
    # a linear curve: score = 500 + 100·Δ, so θ_cut − θ = (target − 500) / 100
    curve = ps.AbilityCurve(OFFSETS, np.asarray(500.0 + 100.0 * OFFSETS, dtype=np.float64), 0.4)
    for target in (380.0, 500.0, 560.0, 730.0):
        expected = NormalDist().cdf(-((target - 500.0) / 100.0) / 0.4)
        assert ps.pass_probability(curve=curve, target=target) == pytest.approx(expected, abs=1e-12)
    band = ps.band(curve=curve, scale=ps.SECTION_SCALE)
    z = NormalDist().inv_cdf(0.95)
    assert (band.score, band.lower, band.upper) == (500.0, 10 * math.floor((500 - 100 * z * 0.4) / 10),
                                                     10 * math.ceil((500 + 100 * z * 0.4) / 10))


def test_a_decreasing_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="must not decrease"):
        ps.AbilityCurve(OFFSETS, np.asarray(500.0 - 10.0 * OFFSETS, dtype=np.float64), 0.5)
