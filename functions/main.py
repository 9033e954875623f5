"""Cloud Functions entry points (deploy each with --entry-point=<name>). Handlers only parse, call a
service and return its response model; `endpoint` does methods, CORS, errors and the request log."""

from __future__ import annotations

import functions_framework
from pydantic import BaseModel

from smartpractice.api.http import RequestContext, endpoint
from smartpractice.api.models import (
    CompleteSessionRequest,
    InsightsRequest,
    MaintenanceRequest,
    NextQuestionRequest,
    StartSessionRequest,
    SubmitAnswerRequest,
)
from smartpractice.service import answers, selection, sessions
from smartpractice.service import insights as insights_service
from smartpractice.service.deps import learner_deps, maintenance_deps


@functions_framework.http
@endpoint("start_session")
def start_session(ctx: RequestContext) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.json_body(StartSessionRequest, allow_empty=True)
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return sessions.start_session(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint("next_question")
def next_question(ctx: RequestContext) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.json_body(NextQuestionRequest)
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return selection.next_question(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint("submit_answer")
def submit_answer(ctx: RequestContext) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.json_body(SubmitAnswerRequest)
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return answers.submit_answer(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint("complete_session")
def complete_session(ctx: RequestContext) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.json_body(CompleteSessionRequest)
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return sessions.complete_session(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint("insights")
def insights(ctx: RequestContext) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.params(InsightsRequest)
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return insights_service.insights(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint("run_maintenance")
def run_maintenance(ctx: RequestContext) -> BaseModel:
    ctx.authenticate_maintenance()
    body = ctx.json_body(MaintenanceRequest, allow_empty=True)
    # Imported here: the refit code (EM, IRT) is heavy and only this entry point needs it.
    from smartpractice.service import maintenance

    return maintenance.run_maintenance(body=body, deps=maintenance_deps(settings=ctx.settings))

