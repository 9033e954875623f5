"""Selection features for a learner's candidate pool (pure: rows in, arrays out).

Per candidate question (over its skills k):
- predicted P(correct) = Elo Π_k E_k with the learner's per-skill ratings (1200 when unseen);
- evidence = the learner's answers on the question's skills (mean elo_count), concentrating the Beta;
- weakness = 1 − mean effective mastery (unpractised skills at their BKT prior);
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

from smartpractice.learner.elo import expected_scores
from smartpractice.learner.selection import SelectionCandidates
from smartpractice.service.states import INITIAL_RATING, UNPRACTISED_MASTERY, parse_time, retrievability_at

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SkillView:
    rating: float
    count: int
    mastery: float
    due_score: float


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


def build_candidates(
    *,
    catalog: Sequence[Row],
    views: Mapping[int, SkillView],
    prerequisites: Mapping[int, Sequence[int]],
    last_seen: Mapping[int, datetime],
    now: datetime,
) -> SelectionCandidates:
    n = len(catalog)
    predicted = np.empty(n)
    evidence = np.empty(n)
    weakness = np.empty(n)
    due = np.empty(n)
    readiness = np.empty(n)
    since = np.full(n, np.inf)
    exposure = np.empty(n)
    unseen = SkillView(INITIAL_RATING, 0, UNPRACTISED_MASTERY, 0.0)
    for i, question in enumerate(catalog):
        skills = question["skills"]
        mine = [views.get(int(s["skill_id"]), unseen) for s in skills]
        per_skill = expected_scores(learner_ratings=[v.rating for v in mine],
                                    difficulties=[float(s["elo_difficulty"]) for s in skills])
        predicted[i] = float(np.prod(per_skill))
        evidence[i] = float(np.mean([v.count for v in mine]))
        weakness[i] = 1.0 - float(np.mean([v.mastery for v in mine]))
        due[i] = max(v.due_score for v in mine)
        prereq = [views.get(p, unseen).mastery for s in skills for p in prerequisites.get(int(s["skill_id"]), ())]
        readiness[i] = min(prereq) if prereq else 1.0
        seen_at = last_seen.get(int(question["id"]))
        if seen_at is not None:
            since[i] = max((now - seen_at).total_seconds(), 0.0)
        exposure[i] = float(question.get("times_seen") or 0)
    return SelectionCandidates(
        question_ids=np.array([int(q["id"]) for q in catalog], dtype=np.int64),
        predicted_p=np.clip(predicted, 0.0, 1.0), evidence=evidence, skill_weakness=np.clip(weakness, 0.0, 1.0),
        due_score=np.clip(due, 0.0, 1.0), prerequisite_readiness=np.clip(readiness, 0.0, 1.0),
        seconds_since_seen=since, exposure_count=exposure,
    )
