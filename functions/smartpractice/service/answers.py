"""submit_answer: grade against the hidden key, update every skill of the question, write once.

Read → compute → write with optimistic versions: record_answer refuses the write when a mastery row
moved since it was read (PT409 mastery_version_conflict); we then re-read and recompute, a bounded
number of times. A retried request with the same idempotency key replays the stored response.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from postgrest.exceptions import APIError

from smartpractice.api.errors import NotFound
from smartpractice.api.models import (
    AnswerProgress,
    SkillUpdate,
    SubmitAnswerRequest,
    SubmitAnswerResponse,
)
from smartpractice.api.upstream import RETRYABLE_CONFLICTS
from smartpractice.learner import knowledge
from smartpractice.service import states
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.grading import AnswerKey, grade
from smartpractice.service.sessions import active_session


def _replay(stored: dict[str, Any]) -> SubmitAnswerResponse:
    return SubmitAnswerResponse.model_validate({**stored, "replayed": True})


def _question_skills(catalog_row: dict[str, Any]) -> list[knowledge.QuestionSkill]:
    return [knowledge.QuestionSkill(skill_id=int(s["skill_id"]), elo_difficulty=float(s["elo_difficulty"]),
                                    attempts=int(s["attempts"])) for s in catalog_row["skills"]]


def submit_answer(*, user_id: UUID, body: SubmitAnswerRequest, deps: LearnerDeps) -> SubmitAnswerResponse:
    earlier = deps.learner.answer_by_key(body.idempotency_key)
    if earlier is not None and earlier.get("answered_at") is not None and earlier.get("response"):
        return _replay(earlier["response"])

    active_session(deps.learner, body.session_id)
    catalog = deps.learner.catalog(question_ids=[body.question_id])
    key_row = deps.service.answer_key(body.question_id) if catalog else None
    if key_row is None:
        raise NotFound("question not found", code="question_not_found")
    key = AnswerKey(question_type=str(catalog[0]["question_type"]),
                    correct=tuple(str(v) for v in key_row["correct_answer"]),
                    tolerance=key_row.get("numeric_tolerance"))
    graded = grade(key=key, answer=tuple(body.user_answer))

    answered = [r for r in deps.learner.session_questions(body.session_id)
                if r.get("answered_at") is not None and int(r["question_id"]) != body.question_id]
    attempts = deps.retry.max_conflict_retries + 1
    for attempt in range(attempts):
        try:
            return _compute_and_record(user_id=user_id, body=body, deps=deps, catalog=catalog[0],
                                       answered=answered, is_correct=graded.is_correct, key=key,
                                       explanation=key_row.get("explanation"))
        except APIError as exc:
            # A version conflict means a mastery row moved since it was read: re-read and recompute.
            # Anything else, or the last conflict, goes to the endpoint's upstream-error mapping
            # (a version conflict becomes a retryable 409 there).
            if exc.message not in RETRYABLE_CONFLICTS or attempt + 1 == attempts:
                raise
            # Jittered linear backoff so colliding requests do not collide again in lockstep.
            time.sleep(deps.retry.backoff_ms * (attempt + 1) * (0.5 + float(deps.rng.random())) / 1000.0)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _compute_and_record(*, user_id: UUID, body: SubmitAnswerRequest, deps: LearnerDeps, catalog: dict[str, Any],
                        answered: list[dict[str, Any]], is_correct: bool, key: AnswerKey,
                        explanation: str | None) -> SubmitAnswerResponse:
    # Mastery rows are re-read on every try: they are what the version check protects. Question
    # difficulties change only by additive increments, so the first read stays valid.
    question_skills = _question_skills(catalog)
    skill_ids = [q.skill_id for q in question_skills]
    names = {int(s["skill_id"]): str(s["name"]) for s in catalog["skills"]}
    params_by_skill = {int(r["skill_id"]): r for r in deps.learner.bkt_params(skill_ids)}
    mastery_by_skill = {int(r["skill_id"]): r for r in deps.learner.mastery(skill_ids)}
    params = [states.bkt_params(params_by_skill.get(s)) for s in skill_ids]
    skill_states = [states.skill_state(skill_id=s, row=mastery_by_skill.get(s), params=p, now=deps.now)
                    for s, p in zip(skill_ids, params, strict=True)]

    update = knowledge.update_on_answer(
        states=skill_states, question_skills=question_skills, params=params,
        observation=knowledge.Observation(
            is_correct=is_correct, confidence=body.confidence_score, time_spent_seconds=body.time_spent_seconds,
            expected_time_seconds=float(catalog["expected_time_seconds"]), hint_used=body.hint_used,
            solution_viewed=body.solution_viewed),
        now=deps.now,
    )
    n_answered = len(answered) + 1
    n_correct = sum(1 for r in answered if r.get("is_correct")) + int(is_correct)
    response = SubmitAnswerResponse(
        is_correct=is_correct,
        correct_answer=list(key.correct),
        explanation=explanation,
        skills=[SkillUpdate(
            skill_id=c.after.skill_id, skill_name=names[c.after.skill_id],
            mastery_before=c.before.p_mastery, mastery_after=c.after.p_mastery,
            elo_before=c.before.elo_rating, elo_after=c.after.elo_rating,
            next_review_at=c.after.memory.due) for c in update.changes],
        session_progress=AnswerProgress(answered=n_answered, correct=n_correct, accuracy=n_correct / n_answered),
        replayed=False,
    )
    result = deps.service.record_answer(
        user_id=user_id,
        answer={
            "session_id": str(body.session_id), "question_id": body.question_id,
            "idempotency_key": body.idempotency_key, "user_answer": list(body.user_answer),
            "is_correct": is_correct, "confidence_score": body.confidence_score,
            "time_spent_seconds": body.time_spent_seconds, "hint_used": body.hint_used,
            "solution_viewed": body.solution_viewed, "answered_at": deps.now.isoformat(),
        },
        mastery=[states.mastery_payload(c) for c in update.changes],
        difficulty_deltas=[{"skill_id": c.after.skill_id, "delta": c.difficulty_delta} for c in update.changes],
        response=response.model_dump(mode="json", exclude={"replayed"}),
    )
    if result.get("status") == "duplicate":
        return _replay(result["response"])
    return response
