"""start_session and complete_session, and the ownership/status check every session call shares."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from uuid import UUID

from smartpractice.db.contexts import SessionRef, SnapshotRow, SummaryAnswer
from smartpractice.errors import ConflictError, NotFoundError
from smartpractice.service import insights_numbers as numbers
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.goals import goals_from_profile
from smartpractice.service.models_requests import CompleteSessionRequest, StartSessionRequest
from smartpractice.service.models_responses import (
    ExamAnswer,
    SessionFilters,
    SessionSnapshot,
    SessionSnapshotResponse,
    StartSessionResponse,
)

DEFAULT_TARGET_QUESTIONS = 20


def require_active_session(session: SessionRef | None) -> SessionRef:
    """The learner's own active session (as read under RLS); someone else's reads as none: 404."""
    if session is None:
        raise NotFoundError("practice session not found", code="session_not_found")
    if session.status != "active":
        raise ConflictError("the practice session is no longer active", code="session_not_active", retryable=False)
    return session


def target_questions(session: SessionRef) -> int:
    return int((session.filters or {}).get("target_questions") or DEFAULT_TARGET_QUESTIONS)


def start_session(*, user_id: UUID, body: StartSessionRequest, deps: LearnerDeps) -> StartSessionResponse:
    filters = body.model_dump(exclude={"mode"}, exclude_none=True)
    filters.setdefault("target_questions", DEFAULT_TARGET_QUESTIONS)
    if body.subject_id is not None and not deps.learner.subject_has_questions(body.subject_id):
        raise NotFoundError("subject not found or has no questions", code="subject_not_found")
    row = deps.service.start_session(user_id=user_id, mode=body.mode, filters=filters)
    return StartSessionResponse(
        session_id=row.id, mode=row.mode, status="active", started_at=row.started_at,
        target_questions=filters["target_questions"],
        filters=SessionFilters.model_validate({k: v for k, v in filters.items() if k != "target_questions"}),
    )


def _mastery_gained(answers: list[SummaryAnswer]) -> dict[str, float]:
    gained: dict[str, float] = defaultdict(float)
    for answer in answers:
        for skill in (answer.response or {}).get("skills", []):
            gained[str(skill["skill_id"])] += float(skill["mastery_after"]) - float(skill["mastery_before"])
    return dict(gained)


def _snapshot_out(row: SnapshotRow, session_id: UUID, *, already: bool) -> SessionSnapshotResponse:
    data = row.snapshot_data or {}
    answered = row.questions_answered
    correct = row.correct_answers
    return SessionSnapshotResponse(
        session_id=session_id, status="completed", already_completed=already,
        snapshot=SessionSnapshot(
            avg_mastery=row.avg_mastery or 0.0,
            predicted_score=row.predicted_score,
            predicted_score_low=row.predicted_score_low,
            predicted_score_high=row.predicted_score_high,
            pass_probability=data.get("pass_probability"),
            predicted_scores=data.get("predicted_scores"),
            total_answered=answered, total_correct=correct,
            accuracy=(correct / answered) if answered else None,
            time_spent_seconds=float(data.get("time_spent_seconds") or 0.0),
            mastery_gained=data.get("mastery_gained") or {},
            created_at=datetime.fromisoformat(row.created_at),
        ),
    )


def complete_session(*, user_id: UUID, body: CompleteSessionRequest, deps: LearnerDeps) -> SessionSnapshotResponse:
    # Ownership and status are checked under the session lock inside complete_session (PT404/PT409).
    context = deps.learner.session_summary_context(body.session_id)
    answers = context.answers
    mastery = {r.skill_id: r.effective_mastery for r in context.mastery}
    goals = goals_from_profile(context.profile)
    scores = numbers.predictor_section_scores(read=context.predictor_scores, sections=goals.sections)
    scope = numbers.scoped_predictor(scores, goals)
    readiness = numbers.readiness_out(scope=scope, points_per_day=None, goals=goals, now=deps.now, reason=None)
    gained = _mastery_gained(answers)
    # predicted_score/low/high: the score readiness is about (the total, or the one prepared section).
    snapshot = {
        "avg_mastery": (sum(mastery.values()) / len(mastery)) if mastery else 0.0,
        "predicted_score": scope.score,
        "predicted_score_low": scope.low,
        "predicted_score_high": scope.high,
        "predicted_section_scores": numbers.stored_section_scores(scores),
        "mastery_gained": gained,
        "total_interactions": len(answers),
        "snapshot_data": {
            "pass_probability": readiness.pass_probability,
            "time_spent_seconds": sum(a.time_spent_seconds or 0.0 for a in answers),
            "mastery_gained": gained,
            "target_score": scope.target,
            "target_scope": scope.scope,
            "score_source": scope.source,
            "predicted_scores": numbers.predictor_scores_out(scores).model_dump(mode="json"),
        },
    }
    result = deps.service.complete_session(user_id=user_id, session_id=body.session_id, snapshot=snapshot)
    out = _snapshot_out(result.snapshot, body.session_id, already=result.status == "already_completed")
    if any((a.response or {}).get("withheld") for a in answers):
        # An exam's results were withheld answer by answer; the session is completed now, so they all come back.
        results = deps.service.exam_results(user_id=user_id, session_id=body.session_id)
        out = out.model_copy(update={"exam_results": [ExamAnswer.model_validate(r) for r in results]})
    return out
