"""Cloud Functions entry points (deploy each with --entry-point=<name>). Handlers only authenticate, parse
the body their endpoint spec names (`ctx.body()`), call a service and return its response model;
`endpoint` does methods, CORS, errors and the request log."""

from __future__ import annotations

import gc

import functions_framework
import numpy.ma  # warmed at instance start: see the end of this module
import numpy.random  # noqa: F401
from pydantic import BaseModel

from smartpractice.api.endpoints import (
    COMPLETE_SESSION,
    INSIGHTS,
    NEXT_QUESTION,
    RUN_MAINTENANCE,
    START_SESSION,
    SUBMIT_ANSWER,
)
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
@endpoint(START_SESSION)
def start_session(ctx: RequestContext[StartSessionRequest]) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.body()
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return sessions.start_session(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint(NEXT_QUESTION)
def next_question(ctx: RequestContext[NextQuestionRequest]) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.body()
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return selection.next_question(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint(SUBMIT_ANSWER)
def submit_answer(ctx: RequestContext[SubmitAnswerRequest]) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.body()
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return answers.submit_answer(user_id=user.user_id, body=body, deps=deps, anonymous=user.is_anonymous)


@functions_framework.http
@endpoint(COMPLETE_SESSION)
def complete_session(ctx: RequestContext[CompleteSessionRequest]) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.body()
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return sessions.complete_session(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint(INSIGHTS)
def insights(ctx: RequestContext[InsightsRequest]) -> BaseModel:
    user = ctx.authenticate_learner()
    body = ctx.body()
    deps = learner_deps(settings=ctx.settings, jwt=user.access_token)
    return insights_service.insights(user_id=user.user_id, body=body, deps=deps)


@functions_framework.http
@endpoint(RUN_MAINTENANCE)
def run_maintenance(ctx: RequestContext[MaintenanceRequest]) -> BaseModel:
    ctx.authenticate_maintenance()
    body = ctx.body()
    # Imported here: the refit code (EM, IRT) is heavy and only this entry point needs it.
    from smartpractice.service import maintenance

    return maintenance.run_maintenance(body=body, deps=maintenance_deps(settings=ctx.settings))


# Work moved from the first requests to instance start. numpy imports numpy.ma lazily on the first np.unique
# (np.percentile, insights' levels, the predictor's score groups: ~15 ms of the first insights call) and
# numpy.random on the first generator (~9 ms of the first request); both are imported above. Then the objects
# the imports created (~80k: numpy, pydantic, supabase, ...) are moved out of the cyclic garbage collector's
# reach (gc.freeze): they live as long as the instance, and a full collection, which otherwise walks all of
# them (~35 ms), runs inside whichever request allocates past its threshold (a latency tail of every endpoint).
gc.freeze()
