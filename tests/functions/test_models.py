"""Request validation (exact field messages, as the client will see them) and response-model guards."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError

from smartpractice.api.errors import ValidationFailed
from smartpractice.api.http import validate_payload
from smartpractice.api.models import (
    AnswerProgress,
    InsightsRequest,
    MaintenanceRequest,
    NextQuestionProgress,
    NextQuestionRequest,
    NextQuestionResponse,
    QuestionOut,
    SelectionReason,
    SessionSnapshot,
    SkillRef,
    SkillUpdate,
    StartSessionRequest,
    SubmitAnswerRequest,
    SubmitAnswerResponse,
)

SESSION = "6f1d4c3e-0000-4000-8000-000000000001"


def field_errors(model: type[BaseModel], body: dict[str, Any] | bytes) -> list[tuple[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ValidationFailed) as caught:
        validate_payload(model, raw)
    return [(f.field, f.message) for f in caught.value.fields]


def answer(**overrides: Any) -> dict[str, Any]:
    body = {"session_id": SESSION, "question_id": 3, "user_answer": ["B"], "time_spent_seconds": 12,
            "idempotency_key": "attempt:1_a-b"}
    body.update(overrides)
    return body


# --- submit_answer --------------------------------------------------------------------------------


def test_submit_answer_valid_with_defaults() -> None:
    parsed = validate_payload(SubmitAnswerRequest, json.dumps(answer()).encode())
    assert parsed == SubmitAnswerRequest(
        session_id=UUID(SESSION), question_id=3, user_answer=["B"], confidence_score=3,
        time_spent_seconds=12.0, hint_used=False, solution_viewed=False, idempotency_key="attempt:1_a-b")


def test_submit_answer_range_errors_and_no_user_id_in_body() -> None:
    body = {"session_id": "nope", "question_id": 0, "user_answer": [], "confidence_score": 6,
            "time_spent_seconds": -1, "idempotency_key": "short", "user_id": SESSION}
    assert field_errors(SubmitAnswerRequest, body) == [
        ("session_id", "Input should be a valid UUID, invalid character: found `n` at 0"),
        ("question_id", "Input should be greater than 0"),
        ("user_answer", "List should have at least 1 item after validation, not 0"),
        ("confidence_score", "Input should be less than or equal to 5"),
        ("time_spent_seconds", "Input should be greater than or equal to 0"),
        ("idempotency_key", "String should have at least 8 characters"),
        ("user_id", "Extra inputs are not permitted"),
    ]


def test_submit_answer_item_and_type_errors_are_strict() -> None:
    body = answer(user_answer=["", "x" * 501], confidence_score=3.0, time_spent_seconds=86_401,
                  hint_used="true", idempotency_key="has a space")
    assert field_errors(SubmitAnswerRequest, body) == [
        ("user_answer.0", "String should have at least 1 character"),
        ("user_answer.1", "String should have at most 500 characters"),
        ("confidence_score", "Input should be a valid integer"),
        ("time_spent_seconds", "Input should be less than or equal to 86400"),
        ("hint_used", "Input should be a valid boolean"),
        ("idempotency_key", "String should match pattern '^[A-Za-z0-9_:\\-]+$'"),
    ]


def test_submit_answer_sizes_and_non_finite_numbers() -> None:
    assert field_errors(SubmitAnswerRequest, answer(user_answer=["a"] * 11, idempotency_key="k" * 129)) == [
        ("user_answer", "List should have at most 10 items after validation, not 11"),
        ("idempotency_key", "String should have at most 128 characters"),
    ]
    raw = json.dumps(answer()).replace('"time_spent_seconds": 12', '"time_spent_seconds": NaN').encode()
    assert field_errors(SubmitAnswerRequest, raw) == [
        ("time_spent_seconds", "Input should be a finite number")]


# --- start_session / next_question ------------------------------------------------------------------


def test_topic_mode_needs_topics_and_ids_are_deduplicated() -> None:
    assert field_errors(StartSessionRequest, {"mode": "topic"}) == [
        ("topic_ids", "required when mode is 'topic'")]
    parsed = validate_payload(StartSessionRequest, b'{"mode": "topic", "topic_ids": [3, 1, 3]}')
    assert (parsed.mode, parsed.topic_ids, parsed.target_questions) == ("topic", [3, 1], None)
    assert validate_payload(StartSessionRequest, b"{}").mode == "adaptive"


def test_start_session_errors() -> None:
    body = {"mode": "bogus", "target_questions": 0, "topic_ids": ["1"]}
    assert field_errors(StartSessionRequest, body) == [
        ("mode", "Input should be 'adaptive', 'review', 'exam' or 'topic'"),
        ("topic_ids.0", "Input should be a valid integer"),
        ("target_questions", "Input should be greater than or equal to 1"),
    ]


@pytest.mark.parametrize(
    ("band", "errors"),
    [({"target_low": 0.7, "target_high": 0.6}, [("target_high", "must be greater than target_low")]),
     ({"target_low": 0.8}, [("target_high", "must be greater than target_low")]),  # against the default 0.70
     ({"target_low": 0, "target_high": 1}, [("target_low", "Input should be greater than 0"),
                                             ("target_high", "Input should be less than 1")])],
    ids=["inverted", "low above default high", "closed interval"],
)
def test_target_band_validation(band: dict[str, float], errors: list[tuple[str, str]]) -> None:
    assert field_errors(NextQuestionRequest, {"session_id": SESSION, **band}) == errors


def test_target_band_defaults() -> None:
    parsed = validate_payload(NextQuestionRequest, json.dumps({"session_id": SESSION}).encode())
    assert (parsed.target_low, parsed.target_high) == (0.60, 0.70)


# --- insights / maintenance ------------------------------------------------------------------------


def test_maintenance_request() -> None:
    raw = b'{"run_date": "2025-02-28", "steps": ["decay", "decay", "retention"]}'
    parsed = validate_payload(MaintenanceRequest, raw)
    assert (parsed.run_date, parsed.steps, parsed.batch_size) == (
        date(2025, 2, 28), ["decay", "retention"], 5000)
    assert field_errors(MaintenanceRequest, {"run_date": "2025-02-30", "steps": ["decay", "vacuum"],
                                             "batch_size": 99}) == [
        ("run_date",
         "Input should be a valid date in the format YYYY-MM-DD, day value is outside expected range"),
        ("steps.1", "Input should be 'decay', 'snapshots', 'aggregates', 'bkt_refit', 'irt_calibration', "
                    "'predictor_fit', 'retention' or 'partitions'"),
        ("batch_size", "Input should be greater than or equal to 100"),
    ]


def test_insights_window() -> None:
    assert validate_payload(InsightsRequest, b"{}").days == 30
    assert field_errors(InsightsRequest, {"days": 366}) == [
        ("days", "Input should be less than or equal to 365")]


def test_requests_are_frozen() -> None:
    parsed = validate_payload(InsightsRequest, b'{"days": 7}')
    with pytest.raises(ValidationError, match="frozen"):
        parsed.days = 8


# --- responses ------------------------------------------------------------------------------------

QUESTION = {"id": 7, "stem": "2 + 2 = ?", "question_type": "multiple_choice",
            "options": [{"label": "A", "text": "3"}, {"label": "B", "text": "4"}],
            "skills": [{"skill_id": 1, "name": "Addition"}]}
REASON = SelectionReason(predicted_p_correct=0.64, sampled_p_correct=0.66, target_band=(0.6, 0.7), skill_id=1,
                         skill_name="Addition", dominant_factor="band", why="Right at your level.",
                         component_scores={"band": 1.0, "weakness": 0.2})
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_question_never_carries_an_answer_key() -> None:
    with pytest.raises(ValidationError, match="correct_answer"):
        QuestionOut.model_validate({**QUESTION, "correct_answer": ["B"]})


def test_next_question_variants() -> None:
    progress = NextQuestionProgress(answered=2, correct=1, target=20)
    question = QuestionOut.model_validate(QUESTION)
    served = NextQuestionResponse(session_id=UUID(SESSION), status="served", question=question,
                                  reason=REASON, served_at=NOW, session_progress=progress)
    assert served.model_dump(mode="json")["question"]["options"][1] == {"label": "B", "text": "4"}
    exhausted = NextQuestionResponse(session_id=UUID(SESSION), status="exhausted",
                                     exhausted_reason="no questions left for these topics",
                                     session_progress=progress)
    assert exhausted.question is None
    with pytest.raises(ValidationError, match="status 'served' needs question"):
        NextQuestionResponse(session_id=UUID(SESSION), status="served", session_progress=progress)
    with pytest.raises(ValidationError, match="exhausted session has no question"):
        NextQuestionResponse(session_id=UUID(SESSION), status="exhausted", question=question,
                             exhausted_reason="x", session_progress=progress)


def test_submit_answer_response_serialises_exactly() -> None:
    response = SubmitAnswerResponse(
        is_correct=True, correct_answer=["B"],
        skills=[SkillUpdate(skill_id=1, skill_name="Addition", mastery_before=0.5, mastery_after=0.625,
                            elo_before=1200.0, elo_after=1212.5, next_review_at=NOW)],
        session_progress=AnswerProgress(answered=3, correct=2, accuracy=2 / 3))
    assert json.loads(response.model_dump_json()) == {
        "is_correct": True, "correct_answer": ["B"], "explanation": None,
        "skills": [{"skill_id": 1, "skill_name": "Addition", "mastery_before": 0.5, "mastery_after": 0.625,
                    "elo_before": 1200.0, "elo_after": 1212.5, "next_review_at": "2025-03-01T12:00:00Z"}],
        "session_progress": {"answered": 3, "correct": 2, "accuracy": 2 / 3},
        "withheld": False,
        "feedback": None,
        "replayed": False,
    }


def test_responses_reject_nan_and_out_of_range_values() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        AnswerProgress(answered=1, correct=1, accuracy=float("nan"))
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        SkillUpdate(skill_id=1, skill_name="x", mastery_before=0.2, mastery_after=1.2, elo_before=0,
                    elo_after=0)
    with pytest.raises(ValidationError, match="should match pattern"):
        SessionSnapshot(avg_mastery=0.5, total_answered=1, total_correct=1, time_spent_seconds=3.0,
                        mastery_gained={"addition": 0.1}, created_at=NOW)
    assert SkillRef(skill_id=3, name="Fractions").skill_id == 3
