"""next_question: Thompson-sampling choice over the learner's candidate pool, recorded as served."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from smartpractice.learner.band import SessionSuccess
from smartpractice.learner.selection import COMPONENTS, SelectionPolicy, select_next_question, select_uniformly
from smartpractice.service import predictor_state
from smartpractice.service.candidates import build_candidates, skill_views
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.exposure_rates import exposure_picker
from smartpractice.service.models_requests import NextQuestionRequest
from smartpractice.service.models_responses import (
    NextQuestionProgress,
    NextQuestionResponse,
    QuestionOption,
    QuestionOut,
    SelectionReason,
    SkillRef,
)
from smartpractice.service.modes import due_first
from smartpractice.service.question_bank import PoolFilter
from smartpractice.service.sessions import require_active_session, target_questions
from smartpractice.service.states import UNPRACTISED_MASTERY


def _options(raw: Any) -> list[QuestionOption]:
    return [QuestionOption(label=str(o.get("key") or o.get("label")), text=str(o["text"])) for o in raw or []]


def next_question(*, user_id: UUID, body: NextQuestionRequest, deps: LearnerDeps) -> NextQuestionResponse:
    context = deps.learner.next_question_context(body.session_id)
    session = require_active_session(context.session)
    answered = context.answered_ids
    progress = NextQuestionProgress(answered=len(answered), correct=context.correct,
                                    target=target_questions(session))
    if len(answered) >= target_questions(session):
        # record_answer and serve_question enforce the cap too (PT409 session_target_reached).
        return NextQuestionResponse(session_id=body.session_id, status="exhausted", session_progress=progress,
                                    exhausted_reason="the session reached its target number of questions")
    where = PoolFilter.merged(session_filters=session.filters or {}, topic_ids=body.topic_ids,
                              skill_ids=body.skill_ids, exam_section=body.exam_section)
    bank = deps.question_bank.get(deps.learner.question_bank)
    pool = bank.pool(where=where, exclude=answered, seen_ids=context.seen.question_id,
                     seen_epochs=context.seen.epoch)
    if not len(pool):
        return NextQuestionResponse(session_id=body.session_id, status="exhausted", session_progress=progress,
                                    exhausted_reason="every question matching the session's filters is answered")

    prerequisites: dict[int, list[int]] = defaultdict(list)
    for skill_id, prerequisite_id in context.prerequisites:
        prerequisites[skill_id].append(prerequisite_id)
    views = skill_views(mastery_rows=context.mastery, now=deps.now)
    if session.mode == "review":
        pool = due_first(pool, views)
    candidates = build_candidates(pool=pool, views=views, prerequisites=prerequisites, now=deps.now,
                                  state=predictor_state.served_state(context.predictor))
    policy = SelectionPolicy(band_low=body.target_low, band_high=body.target_high)
    if body.strategy == "random":
        choice = select_uniformly(candidates=candidates, rng=deps.rng, policy=policy)
    else:
        choice = select_next_question(candidates=candidates, rng=deps.rng, policy=policy,
                                      pick=exposure_picker(deps=deps, bank=bank, pool=pool),
                                      session=SessionSuccess(answered=len(answered), correct=context.correct))
    # The skill the choice is "about": the weakest of the question's skills.
    skill_ids = pool.skills_of(choice.index)
    focus = min(skill_ids, key=lambda s: views[s].mastery if s in views else UNPRACTISED_MASTERY)
    r = choice.reason
    component_scores = {k: float(getattr(r.component_scores, k)) for k in COMPONENTS}
    served = deps.service.serve_question(
        user_id=user_id, session_id=body.session_id, question_id=int(choice.question_id),
        reason={"predicted_p_correct": r.predicted_p, "sampled_p_correct": r.sampled_p,
                "target_band": [r.band_low, r.band_high], "skill_id": focus, "dominant_factor": r.dominant_component,
                "why": r.why_now, "strategy": body.strategy,
                "component_scores": component_scores})
    question = served.question
    names = {s.skill_id: s.name for s in question.skills}
    reason = SelectionReason(
        predicted_p_correct=r.predicted_p, sampled_p_correct=r.sampled_p, target_band=(r.band_low, r.band_high),
        skill_id=focus, skill_name=names.get(focus, str(focus)), dominant_factor=r.dominant_component,
        why=r.why_now, component_scores=component_scores,
    )
    return NextQuestionResponse(
        session_id=body.session_id, status="served", reason=reason, served_at=served.served_at,
        session_progress=progress,
        question=QuestionOut(
            id=question.id, stem=question.stem, question_type=question.question_type,
            options=_options(question.options), exam_section=question.exam_section,
            difficulty_label=question.difficulty_label,
            skills=[SkillRef(skill_id=s.skill_id, name=s.name) for s in question.skills]),
    )
