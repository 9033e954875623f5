"""Selection features for a learner's candidate pool (pure: rows in, arrays out).

Per candidate question (over its skills k):
- predicted P(correct) = the served predictor (learner.predictor.predict_grid): the learner's global ability θ,
  the skills' deviations δ_k and counts, the question's difficulty b and guessing floor 1/options, the latest
  nightly weights;
- evidence = the effective number of answers behind that prediction: the learner's answers on the question's
  skills (mean over k, they move δ_k) plus their answers over all skills shared among the skills practised
  (they move θ, which every skill uses), concentrating the Beta;
- weakness = Σ_k P(skill k not yet mastered) / the widest question's skill count: how much not-yet-mastered
  practice the question delivers (a question on two weak skills practises both). P comes from the production
  predictor's per-skill logit where the view carries one (`SkillView.predictor_logit`; see `skill_weakness`),
  shifted by the learner's relative practice on the skill (the learning curve: where two-skill answers cannot
  tell skills apart, the less practised one is the likelier below the bar; selection.practice_adjusted), else
  from the Elo rating and its evidence (elo.probability_not_mastered): BKT's P(known) saturates long
  before a skill is secure, so 1 − mastery stopped telling weak from strong skills (measured in
  benchmarks/bench_selection_efficiency.py);
- due = max_k (1 − R_k(now)) over reviewed skills whose review is due, else 0;
- prerequisite readiness = min over the skills' prerequisites of effective mastery (1 without any);
- seconds since this learner last saw the question (inf if never), and global exposure (times_seen).

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from smartpractice.learner import predictor
from smartpractice.learner.arrays import row_max, row_min, row_sums
from smartpractice.learner.elo import probability_not_mastered
from smartpractice.learner.irt import FloatArray
from smartpractice.learner.selection import SelectionCandidates
from smartpractice.learner.weakness import practice_adjusted, probability_below, question_weakness
from smartpractice.service.states import INITIAL_RATING, UNPRACTISED_MASTERY, parse_time, retrievability_at

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SkillView:
    rating: float
    count: int
    mastery: float
    due_score: float
    # The predictor's calibrated logit of success on a typical question of this skill alone (w · x at the
    # skill's mean difficulty: ability, deviation and practice counts); None until the predictor state is read.
    predictor_logit: float | None = None


# Mastery bar for `predictor_logit`, in its logits (σ(0.75) ≈ 0.68 on a typical question of the skill, the top of
# the default success band): chosen in benchmarks/bench_selection_efficiency.py among 0.5, 0.75, 1, 1.25, 1.5
# (questions to true mastery; README "Selection"). At 1.5 (until 2026-12-07 19:50) every skill of a learner read
# P(below) ≈ 0.97-0.99 once practised, so weakness no longer told skills apart: 0.815× random at 0.75's 0.762×.
PREDICTOR_MASTERY_LOGIT = 0.75
# The learning curve's share in the weakness estimate (selection.practice_adjusted): 0.2 logit per answer above
# or below the learner's mean over the pool's practised skills, at most 1 logit either way. Chosen in
# benchmarks/bench_selection_efficiency.py (README "Selection"); 0 turns it off.
PRACTICE_GAIN_LOGITS = 0.2
PRACTICE_GAIN_CAP_LOGITS = 1.0


def predictor_not_mastered(*, logits: FloatArray, counts: FloatArray) -> FloatArray:
    """P(not mastered) per skill from the predictor's per-skill logits and the answers behind them: each logit
    shifted by the learner's relative practice (selection.practice_adjusted, over these skills), then
    `probability_below` the mastery bar."""
    shifted = practice_adjusted(estimates=logits, answers=counts, gain_per_answer=PRACTICE_GAIN_LOGITS,
                                cap=PRACTICE_GAIN_CAP_LOGITS)
    return probability_below(estimates=shifted, answers=counts, target=PREDICTOR_MASTERY_LOGIT)


def not_mastered(*, has_logit: npt.NDArray[np.bool_], logits: FloatArray, counts: FloatArray,
                 ratings: FloatArray) -> FloatArray:
    """Per skill, P(not mastered): from the predictor's logit (`predictor_not_mastered`) where `has_logit`, else
    from the Elo rating (`probability_not_mastered`); `counts` are the answers behind each estimate. Aligned 1-D
    arrays; each formula runs once over the skills it applies to."""
    if has_logit.all():
        return predictor_not_mastered(logits=logits, counts=counts)
    per_skill = np.empty(logits.shape, dtype=np.float64)
    elo = ~has_logit
    per_skill[has_logit] = predictor_not_mastered(logits=logits[has_logit], counts=counts[has_logit])
    per_skill[elo] = probability_not_mastered(ratings=ratings[elo], answers=counts[elo])
    return per_skill


def _view_columns(views: Sequence[SkillView]) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray, FloatArray]:
    """(has_logit, logits, counts, ratings) of the views, for `not_mastered`."""
    has_logit = np.array([v.predictor_logit is not None for v in views], dtype=bool)
    logits = np.array([0.0 if v.predictor_logit is None else v.predictor_logit for v in views], dtype=np.float64)
    counts = np.array([v.count for v in views], dtype=np.float64)
    ratings = np.array([v.rating for v in views], dtype=np.float64)
    return has_logit, logits, counts, ratings


def skill_weakness(*, views: Sequence[SkillView], grid: npt.NDArray[np.intp],
                   present: npt.NDArray[np.bool_]) -> FloatArray:
    """Question weakness from per-distinct-skill views; `grid` maps the pool's (question, slot) to a view.

    Per skill, P(not mastered) from the predictor's logit when the view has one (shifted by the learner's
    relative practice on the skills that have one), else from the Elo rating; then Σ over the question's
    skills / the widest question (selection.question_weakness).
    """
    has_logit, logits, counts, ratings = _view_columns(views)
    per_skill = not_mastered(has_logit=has_logit, logits=logits, counts=counts, ratings=ratings)
    return question_weakness(per_skill=per_skill[grid], present=present)


@dataclass(frozen=True, slots=True)
class SkillDeviations:
    """The learner's predictor state over the pool's distinct skills, as aligned arrays (the prior where none)."""

    deviation: FloatArray
    answers: FloatArray
    correct: FloatArray

    @classmethod
    def of(cls, state: LearnerPredictor, distinct: npt.NDArray[np.int64]) -> SkillDeviations:
        prior = predictor.SkillDeviation()
        rows = [state.skills.get(s, prior) for s in distinct.tolist()]
        return cls(deviation=np.array([r.deviation for r in rows], dtype=np.float64),
                   answers=np.array([r.answers for r in rows], dtype=np.float64),
                   correct=np.array([r.correct for r in rows], dtype=np.float64))


def _predictor_logits(*, state: LearnerPredictor, pool: CandidatePool, grid: npt.NDArray[np.intp],
                      present: npt.NDArray[np.bool_], skills: SkillDeviations) -> FloatArray:
    """The predictor's per-skill logit at the mean b of the pool's questions on the skill, which skill_weakness
    reads (with the predictor's answer count on the skill) instead of the Elo rating: measured in
    benchmarks/bench_selection_efficiency.py, Elo weakness beside the predictor's P needed 0.92x random's
    questions to mastery, the predictor's per-skill logit 0.85x, and 0.70x once shifted by relative practice."""
    n_skills = skills.deviation.shape[0]
    item_b = np.zeros(len(pool)) if pool.item_difficulty is None else pool.item_difficulty
    on_skill = grid[present]
    totals = np.bincount(on_skill, weights=np.broadcast_to(item_b[:, None], grid.shape)[present], minlength=n_skills)
    mean_b = totals / np.maximum(np.bincount(on_skill, minlength=n_skills), 1)
    return predictor.skill_logits_of(learner=state.learner, deviations=skills.deviation, answers=skills.answers,
                                     correct=skills.correct, difficulties=mean_b, weights=state.weights)


def skill_views(*, mastery_rows: Sequence[Row], now: datetime) -> dict[int, SkillView]:
    """Per skill, its view; due-ness 1 − R(now) where the review is due (reviewed, due <= now), else 0. R is
    computed for those rows only (it is element-wise, so each row's value is the same as over all rows)."""
    overdue = [i for i, row in enumerate(mastery_rows)
               if row.get("last_review") is not None
               and (due_at := parse_time(row.get("due"))) is not None and due_at <= now]
    due_scores = [0.0] * len(mastery_rows)
    if overdue:
        recall = retrievability_at([mastery_rows[i] for i in overdue], at=now)
        for i, r in zip(overdue, recall, strict=True):
            due_scores[i] = float(1.0 - r)
    return {int(row["skill_id"]): SkillView(rating=float(row["elo_rating"]), count=int(row["elo_count"]),
                                            mastery=float(row["effective_mastery"]), due_score=due)
            for row, due in zip(mastery_rows, due_scores, strict=True)}


@dataclass(frozen=True, slots=True)
class LearnerPredictor:
    """The learner's predictor state and the weights it is served with (the prior: a new learner)."""

    learner: predictor.LearnerGlobal = field(default_factory=predictor.LearnerGlobal)
    skills: Mapping[int, predictor.SkillDeviation] = field(default_factory=dict)
    weights: predictor.Weights = field(default_factory=predictor.Weights)


@dataclass(frozen=True, slots=True)
class CandidatePool:
    """The questions a learner may be served next (a filtered QuestionBank), as aligned arrays.

    Skills are padded to the widest question: skill_ids −1 and difficulties NaN where a question has fewer.
    """

    question_ids: npt.NDArray[np.int64]  # (n,)
    skill_ids: npt.NDArray[np.int64]  # (n, k)
    difficulties: FloatArray  # (n, k) Elo difficulty per question × skill
    times_seen: FloatArray  # (n,) global exposure
    last_seen_epoch: FloatArray  # (n,) when this learner last saw it, NaN = never
    item_difficulty: FloatArray | None = None  # (n,) predictor b in logits (None: all 0)
    floors: FloatArray | None = None  # (n,) guessing floor 1/options, 0 for open answers (None: all 0)

    def __len__(self) -> int:
        return int(self.question_ids.shape[0])

    def subset(self, keep: npt.NDArray[np.bool_]) -> CandidatePool:
        return CandidatePool(
            question_ids=self.question_ids[keep], skill_ids=self.skill_ids[keep], difficulties=self.difficulties[keep],
            times_seen=self.times_seen[keep], last_seen_epoch=self.last_seen_epoch[keep],
            item_difficulty=None if self.item_difficulty is None else self.item_difficulty[keep],
            floors=None if self.floors is None else self.floors[keep])

    def skills_of(self, index: int) -> list[int]:
        return [int(s) for s in self.skill_ids[index] if s >= 0]


def distinct_skills(skill_ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """(distinct ids ascending, each entry's index among them, shaped like `skill_ids`): what
    np.unique(skill_ids, return_inverse=True) gives, by a table over the id range instead of a sort when the
    range is small (skill ids and the −1 padding)."""
    flat = skill_ids.ravel()
    if flat.size == 0:
        distinct, inverse = np.unique(skill_ids, return_inverse=True)
        return distinct, inverse.reshape(skill_ids.shape)
    low, high = int(flat.min()), int(flat.max())
    if high - low > max(4 * flat.size, 1 << 12):
        distinct, inverse = np.unique(skill_ids, return_inverse=True)
        return distinct, inverse.reshape(skill_ids.shape)
    offsets = flat - low
    present = np.zeros(high - low + 1, dtype=bool)
    present[offsets] = True
    rank = np.cumsum(present) - 1
    ids: npt.NDArray[np.int64] = (np.flatnonzero(present) + low).astype(skill_ids.dtype, copy=False)
    return ids, rank[offsets].reshape(skill_ids.shape)


def build_candidates(
    *,
    pool: CandidatePool,
    views: Mapping[int, SkillView],
    prerequisites: Mapping[int, Sequence[int]],
    now: datetime,
    state: LearnerPredictor | None = None,
) -> SelectionCandidates:
    """Vectorised over the pool: per distinct skill once, then gathered into the question × skill grid."""
    unseen = SkillView(INITIAL_RATING, 0, UNPRACTISED_MASTERY, 0.0)
    present = pool.skill_ids >= 0
    distinct, grid = distinct_skills(pool.skill_ids)
    skill_ids = distinct.tolist()
    skill_views_ = [views.get(s, unseen) for s in skill_ids]

    def per_skill(values: list[float]) -> FloatArray:
        gathered: FloatArray = np.asarray(values, dtype=np.float64)[grid]
        return gathered

    def lowest_prerequisite(skill: int) -> float:
        required = prerequisites.get(skill)
        if not required:
            return np.inf
        return min([views[p].mastery if p in views else unseen.mastery for p in required])

    due_score = per_skill([v.due_score for v in skill_views_])
    # Readiness of a skill = the lowest mastery among its prerequisites (+inf without any).
    prerequisite_mastery = per_skill([lowest_prerequisite(s) for s in skill_ids])
    served = state or LearnerPredictor()
    skills = SkillDeviations.of(served, distinct)
    predicted, evidence = _predict(pool=pool, state=served, grid=grid, present=present, skills=skills)
    if state is None:
        weakness = skill_weakness(views=skill_views_, grid=grid, present=present)
    else:  # every skill gets the predictor's logit and answer count (the Elo ratings go unused)
        logits = _predictor_logits(state=state, pool=pool, grid=grid, present=present, skills=skills)
        weakness = question_weakness(per_skill=predictor_not_mastered(logits=logits, counts=skills.answers)[grid],
                                     present=present)
    due = row_max(np.where(present, due_score, -np.inf))
    readiness = row_min(np.where(present, prerequisite_mastery, np.inf))
    since = np.where(np.isnan(pool.last_seen_epoch), np.inf, np.maximum(now.timestamp() - pool.last_seen_epoch, 0.0))
    return SelectionCandidates(
        question_ids=pool.question_ids,
        predicted_p=np.clip(predicted, 0.0, 1.0), evidence=evidence, skill_weakness=np.clip(weakness, 0.0, 1.0),
        due_score=np.clip(due, 0.0, 1.0), prerequisite_readiness=np.where(np.isinf(readiness), 1.0,
                                                                          np.clip(readiness, 0.0, 1.0)),
        seconds_since_seen=since, exposure_count=pool.times_seen,
    )


def _predict(*, pool: CandidatePool, state: LearnerPredictor, grid: npt.NDArray[np.intp],
             present: npt.NDArray[np.bool_], skills: SkillDeviations) -> tuple[FloatArray, FloatArray]:
    """(P(correct), evidence) per candidate from the predictor state; `grid` indexes `skills`' distinct skills."""
    answers = skills.answers[grid]
    zeros = np.zeros(len(pool))
    learner = state.learner
    p = predictor.predict_grid(
        theta=learner.theta, learner_answers=learner.answers, learner_correct=learner.correct,
        deviations=skills.deviation[grid], skill_answers=answers, skill_correct=skills.correct[grid],
        present=present, difficulties=zeros if pool.item_difficulty is None else pool.item_difficulty,
        floors=zeros if pool.floors is None else pool.floors, weights=state.weights)
    shared = learner.answers / max(1, sum(1 for r in state.skills.values() if r.answers > 0))
    evidence = row_sums(np.where(present, answers, 0.0)) / np.maximum(row_sums(present), 1) + shared
    return np.clip(p, 0.0, 1.0), evidence
