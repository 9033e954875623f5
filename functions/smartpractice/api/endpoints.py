"""The six entry points in one table, read by both the runtime wrapper and the OpenAPI generator,
so methods, success statuses and models cannot drift apart between the code and the document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from smartpractice.api.models import (
    CompleteSessionRequest,
    InsightsRequest,
    InsightsResponse,
    MaintenanceRequest,
    MaintenanceResponse,
    NextQuestionRequest,
    NextQuestionResponse,
    SessionSnapshotResponse,
    StartSessionRequest,
    StartSessionResponse,
    SubmitAnswerRequest,
    SubmitAnswerResponse,
)

CallerKind = Literal["learner", "maintenance"]
Req = TypeVar("Req", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class EndpointSpec(Generic[Req]):
    """One endpoint; typed by its request model, so a handler declared for another model fails mypy."""

    name: str
    summary: str
    description: str
    methods: tuple[str, ...]
    request_model: type[Req]
    response_model: type[BaseModel]
    success_status: int
    caller: CallerKind
    # Error statuses beyond the ones every endpoint can return (400, 401, 413, 415, 500, 503).
    extra_error_statuses: tuple[int, ...] = ()
    body_optional: bool = False  # an empty POST body means "all defaults"


START_SESSION: EndpointSpec[StartSessionRequest] = EndpointSpec(
    name="start_session",
    summary="Start a practice session",
    description="Creates a session for the signed-in learner with the given mode and filters; "
    "then call next_question.",
    methods=("POST",),
    request_model=StartSessionRequest,
    response_model=StartSessionResponse,
    success_status=201,
    caller="learner",
    extra_error_statuses=(404, 429),
    body_optional=True,
)

NEXT_QUESTION: EndpointSpec[NextQuestionRequest] = EndpointSpec(
    name="next_question",
    summary="Pick the next question",
    description="Thompson-sampling selection around the target success band; says why it chose. "
    "Returns status 'exhausted' when nothing is left for the filters.",
    methods=("POST",),
    request_model=NextQuestionRequest,
    response_model=NextQuestionResponse,
    success_status=200,
    caller="learner",
    extra_error_statuses=(404, 409),
)

SUBMIT_ANSWER: EndpointSpec[SubmitAnswerRequest] = EndpointSpec(
    name="submit_answer",
    summary="Submit an answer",
    description="Grades server-side and updates the learner's skills. Only a question next_question served "
    "in this session and not yet answered is accepted (409 question_not_served). Idempotent per "
    "idempotency_key: a retry with the same body returns the stored result with replayed=true; another body "
    "gets 409 idempotency_key_reused. A 409 with retryable=true may be retried; 429: after Retry-After.",
    methods=("POST",),
    request_model=SubmitAnswerRequest,
    response_model=SubmitAnswerResponse,
    success_status=200,
    caller="learner",
    extra_error_statuses=(404, 409, 429),
)

COMPLETE_SESSION: EndpointSpec[CompleteSessionRequest] = EndpointSpec(
    name="complete_session",
    summary="Complete a session",
    description="Closes the session and stores one snapshot; repeated calls return the same snapshot.",
    methods=("POST",),
    request_model=CompleteSessionRequest,
    response_model=SessionSnapshotResponse,
    success_status=200,
    caller="learner",
    extra_error_statuses=(404, 409),
)

INSIGHTS: EndpointSpec[InsightsRequest] = EndpointSpec(
    name="insights",
    summary="Learning insights",
    description="Mastery, trends, gaps, calibration, readiness and peer percentile for the learner. "
    "GET takes the parameters in the query string, POST as a JSON body.",
    methods=("GET", "POST"),
    request_model=InsightsRequest,
    response_model=InsightsResponse,
    success_status=200,
    caller="learner",
    body_optional=True,
)

RUN_MAINTENANCE: EndpointSpec[MaintenanceRequest] = EndpointSpec(
    name="run_maintenance",
    summary="Nightly maintenance",
    description="Decay, snapshots, aggregates, model refits, retention and partitions for a date; "
    "each step runs at most once per date. For the scheduler only.",
    methods=("POST",),
    request_model=MaintenanceRequest,
    response_model=MaintenanceResponse,
    success_status=200,
    caller="maintenance",
    extra_error_statuses=(403, 409),
    body_optional=True,
)

_SPECS: tuple[EndpointSpec[Any], ...] = (
    START_SESSION, NEXT_QUESTION, SUBMIT_ANSWER, COMPLETE_SESSION, INSIGHTS, RUN_MAINTENANCE,
)

ENDPOINTS: Mapping[str, EndpointSpec[Any]] = MappingProxyType({spec.name: spec for spec in _SPECS})
