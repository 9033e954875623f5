"""next_question: Thompson-sampling choice over the learner's candidate pool, recorded as served."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from smartpractice.api.models import (
    NextQuestionProgress,
    NextQuestionRequest,
    NextQuestionResponse,
    QuestionOption,
    QuestionOut,
    SelectionReason,
    SkillRef,
)
from smartpractice.learner.selection import SelectionPolicy, select_next_question
from smartpractice.service.candidates import build_candidates, skill_views
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.sessions import active_session, target_questions
from smartpractice.service.states import UNPRACTISED_MASTERY


def _pool(*, session: dict[str, Any], body: NextQuestionRequest, deps: LearnerDeps) -> list[dict[str, Any]]:
    filters = session.get("filters") or {}
    topic_ids = body.topic_ids or filters.get("topic_ids")
    skill_ids = set(body.skill_ids or filters.get("skill_ids") or [])
    catalog = deps.learner.catalog(topic_ids=topic_ids, subject_id=filters.get("subject_id"),
                                   exam_section=body.exam_section or filters.get("exam_section"))
    if skill_ids:
        catalog = [q for q in catalog if skill_ids.intersection(int(s) for s in q["skill_ids"])]
    return catalog


def _options(raw: Any) -> list[QuestionOption]:
    return [QuestionOption(label=str(o.get("key") or o.get("label")), text=str(o["text"])) for o in raw or []]


def next_question(*, user_id: UUID, body: NextQuestionRequest, deps: LearnerDeps) -> NextQuestionResponse:
    session = active_session(deps.learner, body.session_id)
    in_session = deps.learner.session_questions(body.session_id)
    answered_ids = {int(r["question_id"]) for r in in_session if r.get("answered_at")}
    progress = NextQuestionProgress(answered=len(answered_ids),
                                    correct=sum(1 for r in in_session if r.get("is_correct")),
                                    target=target_questions(session))
    pool = [q for q in _pool(session=session, body=body, deps=deps) if int(q["id"]) not in answered_ids]
    if not pool:
        return NextQuestionResponse(session_id=body.session_id, status="exhausted", session_progress=progress,
                                    exhausted_reason="every question matching the session's filters is answered")

    last_seen: dict[int, datetime] = {}
    for row in deps.learner.exposure():
        seen = datetime.fromisoformat(row["served_at"])
        qid = int(row["question_id"])
        last_seen[qid] = max(seen, last_seen.get(qid, seen))
    prerequisites: dict[int, list[int]] = defaultdict(list)
    for row in deps.learner.prerequisites():
        prerequisites[int(row["skill_id"])].append(int(row["prerequisite_skill_id"]))
    views = skill_views(mastery_rows=deps.learner.mastery(), now=deps.now)
    candidates = build_candidates(catalog=pool, views=views, prerequisites=prerequisites, last_seen=last_seen,
                                  now=deps.now)
    policy = SelectionPolicy(band_low=body.target_low, band_high=body.target_high)
    choice = select_next_question(candidates=candidates, rng=deps.rng, policy=policy)
    chosen = pool[choice.index]
    # The skill the choice is "about": the weakest of the question's skills.
    skills = chosen["skills"]
    focus = min(skills, key=lambda s: views[int(s["skill_id"])].mastery if int(s["skill_id"]) in views
                else UNPRACTISED_MASTERY)
    r = choice.reason
    reason = SelectionReason(
        predicted_p_correct=r.predicted_p, sampled_p_correct=r.sampled_p, target_band=(r.band_low, r.band_high),
        skill_id=int(focus["skill_id"]), skill_name=str(focus["name"]), dominant_factor=r.dominant_component,
        why=r.why_now, component_scores={k: float(getattr(r.component_scores, k)) for k in
                                         ("band", "weakness", "due", "prerequisite", "recency", "exposure")},
    )
    served = deps.service.serve_question(user_id=user_id, session_id=body.session_id, question_id=int(chosen["id"]),
                                         reason=reason.model_dump(mode="json"))
    question = deps.learner.question(int(chosen["id"]))
    assert question is not None  # it was in the learner's catalog a moment ago
    return NextQuestionResponse(
        session_id=body.session_id, status="served", reason=reason, served_at=served["served_at"],
        session_progress=progress,
        question=QuestionOut(
            id=int(question["id"]), stem=str(question["stem"]), question_type=str(question["question_type"]),
            options=_options(question.get("options")), exam_section=question.get("exam_section"),
            difficulty_label=question.get("difficulty_label"),
            skills=[SkillRef(skill_id=int(s["skill_id"]), name=str(s["name"])) for s in skills]),
    )
