"""submit_answer: grade against the hidden key, update every skill of the question, write once.

Read → compute → write with optimistic versions: record_answer refuses the write when a mastery row
moved since it was read (PT409 mastery_version_conflict); we then re-read and recompute, a bounded
number of times. A retried request with the same idempotency key and the same body replays the stored response; the key
with another body is refused (409 idempotency_key_reused), as record_answer refuses it. Only a question this session
served and that is not answered yet is accepted: record_answer (the source of truth) refuses anything else
with 409 question_not_served / question_already_answered / session_target_reached before writing, so no
key leaves for it.
An anonymous learner's answer updates their own skills only: no question difficulty step is sent
(record_answer skips it for them too).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import wait
from dataclasses import replace
from typing import Any
from uuid import UUID

from postgrest.exceptions import APIError

from smartpractice.db.contexts import AnswerContext, AnswerQuestion
from smartpractice.db.upstream import is_retryable_conflict
from smartpractice.errors import ConflictError, NotFoundError
from smartpractice.learner import breakdown, knowledge, predictor
from smartpractice.learner.evidence import credited_seconds, evidence_weight, weighted
from smartpractice.service import predictor_state, states
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.grading import AnswerKey, grade
from smartpractice.service.models_requests import SubmitAnswerRequest
from smartpractice.service.models_responses import AnswerProgress, SkillUpdate, SubmitAnswerResponse
from smartpractice.service.modes import withhold_results
from smartpractice.service.sessions import require_active_session


def _replay(stored: dict[str, Any]) -> SubmitAnswerResponse:
    return SubmitAnswerResponse.model_validate({**stored, "replayed": True})


def canonical_request(body: SubmitAnswerRequest) -> dict[str, Any]:
    """The fields that make a submission "the same request" (as private.answer_request builds them in SQL)."""
    return {"session_id": str(body.session_id).lower(), "question_id": body.question_id,
            "user_answer": list(body.user_answer), "confidence_score": body.confidence_score,
            "time_spent_seconds": body.time_spent_seconds, "hint_used": body.hint_used,
            "solution_viewed": body.solution_viewed}


def _require_same_request(stored: dict[str, Any] | None, body: SubmitAnswerRequest) -> None:
    if stored is not None and stored != canonical_request(body):
        raise ConflictError("this idempotency key was used for another answer; send a fresh key",
                            code="idempotency_key_reused", retryable=False)


def _question_skills(question: AnswerQuestion) -> list[knowledge.QuestionSkill]:
    return [knowledge.QuestionSkill(skill_id=s.skill_id, elo_difficulty=s.elo_difficulty, attempts=s.attempts)
            for s in question.skills]


def _answer_context(*, body: SubmitAnswerRequest,
                    deps: LearnerDeps) -> tuple[AnswerContext, AnswerQuestion] | SubmitAnswerResponse:
    """The learner context of this answer, checked (own active session, known question); or, when the
    idempotency key was already answered, the stored response to replay."""
    context = deps.learner.answer_context(session_id=body.session_id, question_id=body.question_id,
                                          idempotency_key=body.idempotency_key)
    earlier = context.earlier
    if earlier is not None and earlier.answered_at is not None and earlier.response:
        _require_same_request(earlier.request, body)
        return _replay(earlier.response)
    require_active_session(context.session)
    if context.question is None:
        raise NotFoundError("question not found", code="question_not_found")
    return context, context.question


def submit_answer(*, user_id: UUID, body: SubmitAnswerRequest, deps: LearnerDeps,
                  anonymous: bool = False) -> SubmitAnswerResponse:
    key_soon = deps.service.answer_key_soon(body.question_id)  # nothing of it is returned before the checks
    try:
        read = _answer_context(body=body, deps=deps)
    finally:
        # The prefetch ends inside this request, also when the request ends early (a replay, a refused check): its
        # REST call and CPU are counted in this request's log line, and no read outlives the request.
        wait([key_soon])
    if isinstance(read, SubmitAnswerResponse):
        return read
    context, question = read
    key_row = key_soon.result()
    if key_row is None:
        raise NotFoundError("question not found", code="question_not_found")
    key = AnswerKey(question_type=question.question_type,
                    correct=tuple(str(v) for v in key_row["correct_answer"]),
                    tolerance=key_row.get("numeric_tolerance"))
    is_correct = grade(key=key, answer=tuple(body.user_answer)).is_correct

    attempts = deps.retry.max_conflict_retries + 1
    for attempt in range(attempts):
        try:
            return _compute_and_record(user_id=user_id, body=body, deps=deps, context=context, question=question,
                                       is_correct=is_correct, key=key, explanation=key_row.get("explanation"),
                                       moves_difficulty=not anonymous)
        except APIError as exc:
            # A conflict (a mastery row moved since it was read, a deadlock or serialization failure, a
            # concurrent duplicate) is answered by re-reading and recomputing. Anything else, or the last
            # conflict, goes to the endpoint's upstream-error mapping (a conflict becomes a retryable 409).
            if not is_retryable_conflict(exc) or attempt + 1 == attempts:
                raise
            # Jittered linear backoff so colliding requests do not collide again in lockstep.
            time.sleep(deps.retry.backoff_ms * (attempt + 1) * (0.5 + float(deps.rng.random())) / 1000.0)
            read = _answer_context(body=body, deps=deps)
            if isinstance(read, SubmitAnswerResponse):
                return read
            context, question = read
    raise AssertionError("unreachable: the last attempt returns or raises")


def _compute_and_record(*, user_id: UUID, body: SubmitAnswerRequest, deps: LearnerDeps, context: AnswerContext,
                        question: AnswerQuestion, is_correct: bool, key: AnswerKey,
                        explanation: str | None, moves_difficulty: bool) -> SubmitAnswerResponse:
    # Mastery rows are what record_answer's version check protects; question difficulties change only
    # by additive increments, so reading them with the rest is enough.
    question_skills = _question_skills(question)
    skill_ids = [q.skill_id for q in question_skills]
    names = {s.skill_id: s.name for s in question.skills}
    params_by_skill = {r.skill_id: r for r in context.bkt_params}
    mastery_by_skill = {int(r["skill_id"]): r for r in context.mastery}
    params = [states.bkt_params(params_by_skill.get(s)) for s in skill_ids]
    skill_states = [states.skill_state(skill_id=s, row=mastery_by_skill.get(s), params=p, now=deps.now)
                    for s, p in zip(skill_ids, params, strict=True)]

    # Time is the server's: from serving to now (the client's claim may only lower credit).
    server_seconds = None if context.served_at is None else max(0.0, (deps.now - context.served_at).total_seconds())
    update = knowledge.update_on_answer(
        states=skill_states, question_skills=question_skills, params=params,
        observation=knowledge.Observation(
            is_correct=is_correct, confidence=body.confidence_score,
            time_spent_seconds=credited_seconds(claimed=body.time_spent_seconds, server_seconds=server_seconds),
            expected_time_seconds=question.expected_time_seconds, hint_used=body.hint_used,
            solution_viewed=body.solution_viewed),
        now=deps.now,
    )
    weight = evidence_weight(server_seconds=server_seconds, question_type=question.question_type)
    changes = tuple(weighted(c, weight) for c in update.changes)
    if context.repeat:
        # A question answered in another session within the cooling period is graded and stored, but is no
        # new evidence: mastery, Elo and memory stay as they were (record_answer refuses items for it).
        changes = tuple(replace(c, after=c.before, effective_mastery=c.before.p_mastery, difficulty_delta=0.0)
                        for c in changes)
    predictor_step = None if context.repeat else _predictor_step(context=context, skill_ids=skill_ids,
                                                                  is_correct=is_correct, weight=weight,
                                                                  moves_difficulty=moves_difficulty)
    n_answered = context.answered + 1
    n_correct = context.correct + int(is_correct)
    response = SubmitAnswerResponse(
        is_correct=is_correct,
        correct_answer=list(key.correct),
        explanation=explanation,
        skills=[SkillUpdate(
            skill_id=c.after.skill_id, skill_name=names[c.after.skill_id],
            mastery_before=c.before.p_mastery, mastery_after=c.after.p_mastery,
            elo_before=c.before.elo_rating, elo_after=c.after.elo_rating,
            next_review_at=c.after.memory.due) for c in changes],
        session_progress=AnswerProgress(answered=n_answered, correct=n_correct, accuracy=n_correct / n_answered),
        feedback=_feedback(changes, names=names, is_correct=is_correct, body=body, question=question),
        replayed=False,
    )
    if context.session is not None and context.session.mode == "exam":
        response = withhold_results(response)  # stored that way too: a replay or a REST read shows no key
    result = deps.service.record_answer(
        user_id=user_id,
        answer={
            "session_id": str(body.session_id), "question_id": body.question_id,
            "idempotency_key": body.idempotency_key, "user_answer": list(body.user_answer),
            "is_correct": is_correct, "confidence_score": body.confidence_score,
            "time_spent_seconds": body.time_spent_seconds, "hint_used": body.hint_used,
            "solution_viewed": body.solution_viewed, "answered_at": deps.now.isoformat(),
            "predictor": predictor_step,
        },
        mastery=[] if context.repeat else [states.mastery_payload(c) for c in changes],
        difficulty_deltas=[{"skill_id": c.after.skill_id, "delta": c.difficulty_delta} for c in changes
                           if moves_difficulty and not context.repeat and weight > 0.0],
        response=response.model_dump(mode="json", exclude={"replayed"}),
    )
    if result.status == "duplicate":
        return _replay(result.response)
    return response


def _predictor_step(*, context: AnswerContext, skill_ids: list[int], is_correct: bool, weight: float,
                    moves_difficulty: bool) -> dict[str, object] | None:
    """The served predictor's online step for this answer (record_answer bounds and applies it)."""
    read = context.predictor
    learner = predictor_state.learner_of(read)
    skills = predictor_state.skills_of(read, skill_ids)
    item, floor = predictor_state.item_of(read)
    step = predictor.update(learner=learner, skills=skills, item=item, is_correct=is_correct,
                            weights=predictor_state.weights_of(read), floor=floor)
    return predictor_state.update_payload(before=learner, before_skills=skills, skill_ids=skill_ids, step=step,
                                          weight=weight, moves_difficulty=moves_difficulty)


def _feedback(changes: Sequence[knowledge.SkillChange], *, names: dict[int, str], is_correct: bool,
              body: SubmitAnswerRequest, question: AnswerQuestion) -> str:
    """The feedback line talks about the skill whose mastery moved most."""
    main = max(changes, key=lambda c: abs(c.after.p_mastery - c.before.p_mastery))
    return breakdown.answer_feedback(
        is_correct=is_correct, skill_name=names[main.after.skill_id], mastery_before=main.before.p_mastery,
        mastery_after=main.after.p_mastery, seconds_taken=body.time_spent_seconds,
        expected_seconds=question.expected_time_seconds)
