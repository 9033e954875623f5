"""build_candidates computes per skill over arrays; these pin it, exactly, to the per-skill loop it replaced
(one probability_below / probability_not_mastered call and one dataclasses.replace per skill, np.unique)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from smartpractice.learner import predictor
from smartpractice.learner.elo import probability_not_mastered
from smartpractice.learner.irt import FloatArray
from smartpractice.learner.selection import SelectionCandidates
from smartpractice.learner.weakness import practice_adjusted, probability_below, question_weakness
from smartpractice.service.candidates import (
    PRACTICE_GAIN_CAP_LOGITS,
    PRACTICE_GAIN_LOGITS,
    PREDICTOR_MASTERY_LOGIT,
    CandidatePool,
    LearnerPredictor,
    SkillView,
    build_candidates,
    distinct_skills,
    not_mastered,
    skill_views,
    skill_weakness,
)
from smartpractice.service.states import INITIAL_RATING, UNPRACTISED_MASTERY, parse_time, retrievability_at

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


# --- the per-skill computation as it was (reference) ---------------------------------------------------------


def _shifted_logits(views: Sequence[SkillView]) -> list[float]:
    """The views' predictor logits shifted by relative practice over the views that have one (in view order)."""
    with_logit = [v for v in views if v.predictor_logit is not None]
    if not with_logit:
        return []
    shifted = practice_adjusted(estimates=[float(v.predictor_logit or 0.0) for v in with_logit],
                                answers=[float(v.count) for v in with_logit], gain_per_answer=PRACTICE_GAIN_LOGITS,
                                cap=PRACTICE_GAIN_CAP_LOGITS)
    return [float(x) for x in shifted]


def _reference_weakness(views: Sequence[SkillView], grid: npt.NDArray[np.intp],
                        present: npt.NDArray[np.bool_]) -> FloatArray:
    shifted = iter(_shifted_logits(views))
    per_skill = np.array([
        float(probability_below(estimates=next(shifted), answers=v.count, target=PREDICTOR_MASTERY_LOGIT))
        if v.predictor_logit is not None else float(probability_not_mastered(ratings=v.rating, answers=v.count))
        for v in views], dtype=np.float64)
    return question_weakness(per_skill=per_skill[grid], present=present)


def _reference(*, pool: CandidatePool, views: Mapping[int, SkillView], prerequisites: Mapping[int, Sequence[int]],
               state: LearnerPredictor | None) -> SelectionCandidates:
    unseen = SkillView(INITIAL_RATING, 0, UNPRACTISED_MASTERY, 0.0)
    present = pool.skill_ids >= 0
    distinct, position = np.unique(pool.skill_ids, return_inverse=True)
    grid = position.reshape(pool.skill_ids.shape)
    skill_views_ = [views.get(int(s), unseen) for s in distinct]
    due_score = np.asarray([v.due_score for v in skill_views_], dtype=np.float64)[grid]
    prerequisite_mastery = np.asarray([
        min((views.get(p, unseen).mastery for p in prerequisites.get(int(s), ())), default=np.inf)
        for s in distinct], dtype=np.float64)[grid]
    served = state or LearnerPredictor()
    rows = [served.skills.get(int(s), predictor.SkillDeviation()) for s in distinct]
    answers = np.asarray([float(r.answers) for r in rows], dtype=np.float64)[grid]
    zeros = np.zeros(len(pool))
    learner = served.learner
    predicted = np.clip(predictor.predict_grid(
        theta=learner.theta, learner_answers=learner.answers, learner_correct=learner.correct,
        deviations=np.asarray([r.deviation for r in rows], dtype=np.float64)[grid], skill_answers=answers,
        skill_correct=np.asarray([float(r.correct) for r in rows], dtype=np.float64)[grid], present=present,
        difficulties=zeros if pool.item_difficulty is None else pool.item_difficulty,
        floors=zeros if pool.floors is None else pool.floors, weights=served.weights), 0.0, 1.0)
    shared = learner.answers / max(1, sum(1 for r in served.skills.values() if r.answers > 0))
    evidence = np.where(present, answers, 0.0).sum(axis=1) / np.maximum(present.sum(axis=1), 1) + shared
    if state is not None:
        item_b = np.zeros(len(pool)) if pool.item_difficulty is None else pool.item_difficulty
        on_skill = grid[present]
        totals = np.bincount(on_skill, weights=np.broadcast_to(item_b[:, None], grid.shape)[present],
                             minlength=len(distinct))
        mean_b = totals / np.maximum(np.bincount(on_skill, minlength=len(distinct)), 1)
        logits = predictor.skill_logits(learner=state.learner, skills=rows, difficulties=mean_b,
                                        weights=state.weights)
        skill_views_ = [replace(v, predictor_logit=float(logit), count=row.answers)
                        for v, logit, row in zip(skill_views_, logits, rows, strict=True)]
    weakness = _reference_weakness(skill_views_, grid, present)
    due = np.where(present, due_score, -np.inf).max(axis=1)
    readiness = np.where(present, prerequisite_mastery, np.inf).min(axis=1)
    since = np.where(np.isnan(pool.last_seen_epoch), np.inf, np.maximum(NOW.timestamp() - pool.last_seen_epoch, 0.0))
    return SelectionCandidates(
        question_ids=pool.question_ids, predicted_p=predicted, evidence=evidence,
        skill_weakness=np.clip(weakness, 0.0, 1.0), due_score=np.clip(due, 0.0, 1.0),
        prerequisite_readiness=np.where(np.isinf(readiness), 1.0, np.clip(readiness, 0.0, 1.0)),
        seconds_since_seen=since, exposure_count=pool.times_seen)


# --- random inputs ---------------------------------------------------------------------------------------------


def _skill_grid(rng: np.random.Generator, n: int, width: int, n_skills: int, *,
                offset: int = 1) -> npt.NDArray[np.int64]:
    grid = np.full((n, width), -1, dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(1, width + 1))
        grid[i, :k] = rng.choice(n_skills, size=k, replace=False) + offset
    return grid


def _pool(rng: np.random.Generator, n: int, width: int, n_skills: int) -> CandidatePool:
    skill_ids = _skill_grid(rng, n, width, n_skills)
    return CandidatePool(
        question_ids=np.sort(rng.choice(10 * n, size=n, replace=False)).astype(np.int64), skill_ids=skill_ids,
        difficulties=np.where(skill_ids >= 0, rng.normal(1200.0, 150.0, skill_ids.shape), np.nan),
        times_seen=rng.integers(0, 50, n).astype(np.float64),
        last_seen_epoch=np.where(rng.random(n) < 0.3, NOW.timestamp() - rng.uniform(-60.0, 1e6, n), np.nan),
        item_difficulty=None if rng.random() < 0.2 else rng.normal(0.0, 1.0, n),
        floors=None if rng.random() < 0.2 else rng.choice([0.0, 0.2, 0.25], n))


def _views(rng: np.random.Generator, n_skills: int, *, logits: bool) -> dict[int, SkillView]:
    return {int(s): SkillView(rating=float(rng.normal(1200.0, 200.0)), count=int(rng.integers(0, 60)),
                              mastery=float(rng.random()), due_score=float(rng.random() * (rng.random() < 0.3)),
                              predictor_logit=float(rng.normal(1.0, 2.0)) if logits and rng.random() < 0.5 else None)
            for s in rng.choice(np.arange(1, n_skills + 1), size=int(rng.integers(0, n_skills + 1)), replace=False)}


def _state(rng: np.random.Generator, n_skills: int) -> LearnerPredictor:
    skills = {}
    for s in rng.choice(np.arange(1, n_skills + 1), size=int(rng.integers(0, n_skills + 1)), replace=False):
        answers = int(rng.integers(0, 40))
        skills[int(s)] = predictor.SkillDeviation(deviation=float(rng.normal(0.0, 0.8)), answers=answers,
                                                  correct=int(rng.integers(0, answers + 1)))
    answers = sum(r.answers for r in skills.values()) + int(rng.integers(0, 5))
    return LearnerPredictor(
        learner=predictor.LearnerGlobal(theta=float(rng.normal(0.0, 1.0)), answers=answers,
                                        correct=int(rng.integers(0, answers + 1))),
        skills=skills, weights=predictor.Weights(tuple(float(v) for v in rng.normal(0.0, 0.5, 8))))


def _assert_same(a: SelectionCandidates, b: SelectionCandidates) -> None:
    for f in fields(SelectionCandidates):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name, strict=True)


# --- the tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_build_candidates_equals_the_per_skill_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_skills = int(rng.integers(10, 40))
    width = int(rng.integers(1, 4)) if seed % 5 else int(rng.integers(4, 10))  # 8 and up: numpy's own sums
    pool = _pool(rng, int(rng.integers(1, 300)), width, n_skills)
    with_state = seed % 4 != 0
    views = _views(rng, n_skills, logits=not with_state)
    prerequisites = {int(s): [int(p) for p in rng.choice(np.arange(1, n_skills + 1), size=2)]
                     for s in range(1, n_skills + 1) if rng.random() < 0.3}
    state = _state(rng, n_skills) if with_state else None
    _assert_same(build_candidates(pool=pool, views=views, prerequisites=prerequisites, now=NOW, state=state),
                 _reference(pool=pool, views=views, prerequisites=prerequisites, state=state))


@pytest.mark.parametrize("seed", range(20))
def test_not_mastered_equals_one_call_per_skill(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 60))
    views = [SkillView(rating=float(rng.normal(1200.0, 300.0)), count=int(rng.integers(0, 200)), mastery=0.5,
                       due_score=0.0, predictor_logit=float(rng.normal(1.0, 3.0)) if rng.random() < 0.6 else None)
             for _ in range(n)]
    grid = rng.integers(0, n, size=(int(rng.integers(1, 50)), 3))
    present = rng.random(grid.shape) < 0.7
    np.testing.assert_array_equal(skill_weakness(views=views, grid=grid, present=present),
                                  _reference_weakness(views, grid, present), strict=True)
    has_logit = np.ones(n, dtype=bool)
    logits = rng.normal(1.0, 3.0, n)
    counts = rng.integers(0, 200, n).astype(np.float64)
    shifted = practice_adjusted(estimates=logits, answers=counts, gain_per_answer=PRACTICE_GAIN_LOGITS,
                                cap=PRACTICE_GAIN_CAP_LOGITS)
    expected = [float(probability_below(estimates=logit, answers=count, target=PREDICTOR_MASTERY_LOGIT))
                for logit, count in zip(shifted.tolist(), counts.tolist(), strict=True)]
    assert not_mastered(has_logit=has_logit, logits=logits, counts=counts, ratings=np.zeros(n)).tolist() == expected


def test_not_mastered_refuses_negative_counts_as_before() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        not_mastered(has_logit=np.array([True, False]), logits=np.array([0.0, 0.0]), counts=np.array([-1.0, 2.0]),
                     ratings=np.array([1200.0, 1200.0]))


@pytest.mark.parametrize("seed", range(20))
def test_distinct_skills_equals_np_unique(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    offset = [1, 0, 10**6, 10**12][seed % 4]  # the last two ranges are too wide for the table: np.unique itself
    skill_ids = _skill_grid(rng, int(rng.integers(1, 200)), int(rng.integers(1, 5)), int(rng.integers(5, 50)),
                            offset=offset)
    if seed % 4 == 2:
        skill_ids[skill_ids >= 0] *= 3  # spread the ids (gaps in the table)
    distinct, grid = distinct_skills(skill_ids)
    expected, inverse = np.unique(skill_ids, return_inverse=True)
    np.testing.assert_array_equal(distinct, expected, strict=True)
    np.testing.assert_array_equal(grid, inverse.reshape(skill_ids.shape))
    assert grid.dtype == np.intp


def test_distinct_skills_of_an_empty_pool() -> None:
    distinct, grid = distinct_skills(np.zeros((0, 1), dtype=np.int64))
    assert distinct.shape == (0,) and grid.shape == (0, 1)


@pytest.mark.parametrize("seed", range(10))
def test_skill_logits_of_arrays_equals_skill_logits(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    state = _state(rng, 30)
    skills = list(state.skills.values()) or [predictor.SkillDeviation()]
    b = rng.normal(0.0, 1.0, len(skills))
    np.testing.assert_array_equal(
        predictor.skill_logits_of(learner=state.learner,
                                  deviations=np.array([s.deviation for s in skills]),
                                  answers=np.array([float(s.answers) for s in skills]),
                                  correct=np.array([float(s.correct) for s in skills]),
                                  difficulties=b, weights=state.weights),
        predictor.skill_logits(learner=state.learner, skills=skills, difficulties=b, weights=state.weights),
        strict=True)


def _reference_views(mastery_rows: Sequence[dict[str, Any]], now: datetime) -> dict[int, SkillView]:
    """R for every row, then due-ness where the review is due (as it was)."""
    if not mastery_rows:
        return {}
    recall = retrievability_at(mastery_rows, at=now)
    views = {}
    for row, r in zip(mastery_rows, recall, strict=True):
        due = parse_time(row.get("due"))
        overdue = row.get("last_review") is not None and due is not None and due <= now
        views[int(row["skill_id"])] = SkillView(
            rating=float(row["elo_rating"]), count=int(row["elo_count"]),
            mastery=float(row["effective_mastery"]), due_score=float(1.0 - r) if overdue else 0.0)
    return views


@pytest.mark.parametrize("seed", range(30))
def test_skill_views_equal_computing_recall_for_every_row(seed: int) -> None:
    rng = np.random.default_rng(400 + seed)
    rows = []
    for skill in rng.choice(np.arange(1, 60), size=int(rng.integers(0, 40)), replace=False):
        reviewed = rng.random() < 0.6
        last = NOW - timedelta(days=float(rng.uniform(-1.0, 90.0)))
        rows.append({
            "skill_id": int(skill), "elo_rating": float(rng.normal(1200.0, 150.0)),
            "elo_count": int(rng.integers(0, 80)),
            "effective_mastery": float(rng.random()), "stability": float(rng.uniform(0.1, 60.0)) if reviewed else None,
            "last_review": last.isoformat() if reviewed else None,
            "due": (NOW + timedelta(days=float(rng.uniform(-30.0, 30.0)))).isoformat() if rng.random() < 0.95 else None,
        })
    views = skill_views(mastery_rows=rows, now=NOW)
    assert views == _reference_views(rows, NOW)
    assert len(rows) < 10 or any(v.due_score > 0.0 for v in views.values())  # due reviews are exercised
