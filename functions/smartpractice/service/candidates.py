"""Selection features for a learner's candidate pool (pure: rows in, arrays out).

Per candidate question (over its skills k):
- predicted P(correct) = Elo Π_k E_k with the learner's per-skill ratings (1200 when unseen);
- evidence = the learner's answers on the question's skills (mean elo_count), concentrating the Beta;
- weakness = Σ_k P(skill k not yet mastered) / the widest question's skill count: how much not-yet-mastered
  practice the question delivers (a question on two weak skills practises both). P comes from the production
  predictor's per-skill logit where the view carries one (`SkillView.predictor_logit`; see `skill_weakness`),
  else from the Elo rating and its evidence (elo.probability_not_mastered): BKT's P(known) saturates long
  before a skill is secure, so 1 − mastery stopped telling weak from strong skills (measured in
  benchmarks/bench_selection_efficiency.py);
- due = max_k (1 − R_k(now)) over reviewed skills whose review is due, else 0;
- prerequisite readiness = min over the skills' prerequisites of effective mastery (1 without any);
- seconds since this learner last saw the question (inf if never), and global exposure (times_seen).

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from smartpractice.learner.elo import expected_scores, probability_not_mastered
from smartpractice.learner.irt import FloatArray
from smartpractice.learner.selection import SelectionCandidates, probability_below, question_weakness
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


# Mastery bar for `predictor_logit`, in its logits (σ(1.5) ≈ 0.82 on a typical question of the skill): chosen
# in benchmarks/bench_selection_efficiency.py among 0, 0.5, 1, 1.5, 2 (questions to true mastery).
PREDICTOR_MASTERY_LOGIT = 1.5


def skill_weakness(*, views: Sequence[SkillView], grid: npt.NDArray[np.intp],
                   present: npt.NDArray[np.bool_]) -> FloatArray:
    """Question weakness from per-distinct-skill views; `grid` maps the pool's (question, slot) to a view.

    Per skill, P(not mastered) from the predictor's logit when the view has one, else from the Elo rating;
    then Σ over the question's skills / the widest question (selection.question_weakness).
    """
    per_skill = np.array([
        float(probability_below(estimates=v.predictor_logit, answers=v.count, target=PREDICTOR_MASTERY_LOGIT))
        if v.predictor_logit is not None else float(probability_not_mastered(ratings=v.rating, answers=v.count))
        for v in views], dtype=np.float64)
    return question_weakness(per_skill=per_skill[grid], present=present)


def skill_views(*, mastery_rows: Sequence[Row], now: datetime) -> dict[int, SkillView]:
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

    def __len__(self) -> int:
        return int(self.question_ids.shape[0])

    def skills_of(self, index: int) -> list[int]:
        return [int(s) for s in self.skill_ids[index] if s >= 0]


def build_candidates(
    *,
    pool: CandidatePool,
    views: Mapping[int, SkillView],
    prerequisites: Mapping[int, Sequence[int]],
    now: datetime,
) -> SelectionCandidates:
    """Vectorised over the pool: per distinct skill once, then gathered into the question × skill grid."""
    unseen = SkillView(INITIAL_RATING, 0, UNPRACTISED_MASTERY, 0.0)
    present = pool.skill_ids >= 0
    distinct, position = np.unique(pool.skill_ids, return_inverse=True)
    grid = position.reshape(pool.skill_ids.shape)
    skill_views_ = [views.get(int(s), unseen) for s in distinct]

    def per_skill(values: list[float]) -> FloatArray:
        gathered: FloatArray = np.asarray(values, dtype=np.float64)[grid]
        return gathered

    rating = per_skill([v.rating for v in skill_views_])
    count = per_skill([float(v.count) for v in skill_views_])
    due_score = per_skill([v.due_score for v in skill_views_])
    # Readiness of a skill = the lowest mastery among its prerequisites (+inf without any).
    prerequisite_mastery = per_skill([
        min((views.get(p, unseen).mastery for p in prerequisites.get(int(s), ())), default=np.inf)
        for s in distinct])
    n_skills = present.sum(axis=1)
    expected = expected_scores(learner_ratings=rating, difficulties=np.nan_to_num(pool.difficulties))
    predicted = np.prod(np.where(present, expected, 1.0), axis=1)
    evidence = np.where(present, count, 0.0).sum(axis=1) / n_skills
    weakness = skill_weakness(views=skill_views_, grid=grid, present=present)
    due = np.where(present, due_score, -np.inf).max(axis=1)
    readiness = np.where(present, prerequisite_mastery, np.inf).min(axis=1)
    since = np.where(np.isnan(pool.last_seen_epoch), np.inf, np.maximum(now.timestamp() - pool.last_seen_epoch, 0.0))
    return SelectionCandidates(
        question_ids=pool.question_ids,
        predicted_p=np.clip(predicted, 0.0, 1.0), evidence=evidence, skill_weakness=np.clip(weakness, 0.0, 1.0),
        due_score=np.clip(due, 0.0, 1.0), prerequisite_readiness=np.where(np.isinf(readiness), 1.0,
                                                                          np.clip(readiness, 0.0, 1.0)),
        seconds_since_seen=since, exposure_count=pool.times_seen,
    )
