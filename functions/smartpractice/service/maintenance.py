"""The scheduled maintenance run: decay, daily snapshots, aggregates, refits, retention, partitions.

Steps run in a fixed order and each keeps its own row in maintenance_runs (status, counts, seconds, error,
resume point): begin_maintenance_step before, finish_maintenance_step after. A step already done for the
date is reported `skipped` with its stored counts and touches nothing, so a retried schedule changes
nothing. A step that raises is recorded `failed` with an error code, logged by name, and the steps that do
not read its output still run (aggregates read decayed mastery, so they wait for decay; nothing else
depends on another step). The run then answers 503 `maintenance_incomplete` naming each failed or blocked
step, so the scheduler retries, and the retry resumes: done steps are skipped, batched steps (decay,
snapshots, aggregates) continue after their saved resume point. Every step is itself idempotent.

Hosted limits: every RPC runs under the API roles' 8 s statement_timeout, so every step that touches all
learners calls its RPC per slice of learners; the run logs each RPC's longest call ("maintenance calls").

The steps live in maintenance_mastery (decay, snapshots), maintenance_refits (BKT, IRT) and maintenance_predictor
(the served predictor's difficulties and weights); the SQL does
decay (with the memory model's curve constants), aggregates, retention and partitions set-based.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from smartpractice.db.failures import failure_code
from smartpractice.errors import FieldError, InvalidError, UnavailableError
from smartpractice.service.deps import MaintenanceDeps
from smartpractice.service.maintenance_io import (
    MaintenanceConfig,
    MaintenanceStore,
    StepContext,
    TimedStore,
    int_counts,
    log,
    log_event,
)
from smartpractice.service.maintenance_mastery import run_decay, run_snapshots
from smartpractice.service.maintenance_predictor import run_predictor_fit
from smartpractice.service.maintenance_refits import run_bkt_refit, run_irt_calibration
from smartpractice.service.models_requests import MAINTENANCE_STEPS, MaintenanceRequest, MaintenanceStep
from smartpractice.service.models_responses import MaintenanceResponse, MaintenanceStepResult

DEFAULT_CONFIG = MaintenanceConfig()
RETRY_AFTER_SECONDS = 60


AGGREGATE_SUMS = ("daily_user_stats", "weekly_user_stats", "topic_daily_stats", "user_learning_metrics",
                  "knowledge_gaps_open", "knowledge_gaps_resolved", "learners_recomputed")


def _aggregates(ctx: StepContext) -> dict[str, int]:
    """refresh_aggregates_slice over `aggregate_users` learners per call (each far inside hosted's 8 s), from
    the saved resume point; the slices' counts add up to the one-call counts ("incremental": every slice was)."""
    after, counts = ctx.resume((*AGGREGATE_SUMS, "incremental"))
    if ctx.progress is None:
        counts["incremental"] = 1
    max_users = ctx.config.aggregate_users
    while True:
        try:
            result = ctx.store.call("refresh_aggregates_slice", {
                "p_run_date": ctx.run_date_iso, "p_after_user": after, "p_max_users": max_users})
        except Exception as exc:
            max_users = _halved_after_timeout(exc, size=max_users, step="aggregates", run_date=ctx.run_date_iso)
            continue
        for key in AGGREGATE_SUMS:
            counts[key] += int(result[key])
        counts["incremental"] = min(counts["incremental"], int(result["incremental"]))
        log_event("maintenance aggregates batch", step="aggregates", run_date=ctx.run_date_iso, **counts)
        if result["done"]:
            break
        after = str(result["last_user_id"])
        ctx.save_progress({"after_user": after, "counts": counts})
    # The cohort percentiles insights compares against, computed once here rather than per request.
    # Once per run date: a re-run keeps that night's noised release (see the cohort_release_noise migration).
    return counts | _cohort_release(ctx)


def _cohort_release(ctx: StepContext) -> dict[str, int]:
    """Bins counted per slice of learners (cohort_bins_slice; the first slice restarts the date's count), then
    the noised release from the staged counts (refresh_cohort_stats): no call reads every learner at once."""
    after: str | None = None
    max_users = ctx.config.cohort_users
    learners = 0
    while True:
        try:
            result = ctx.store.call("cohort_bins_slice", {
                "p_release_date": ctx.run_date_iso, "p_after_user": after, "p_max_users": max_users})
        except Exception as exc:
            max_users = _halved_after_timeout(exc, size=max_users, step="aggregates", run_date=ctx.run_date_iso)
            continue
        learners += int(result["cohort_learners"])
        if result["done"]:
            break
        after = str(result["last_user_id"])
    released = int_counts(ctx.store.call("refresh_cohort_stats", {"p_release_date": ctx.run_date_iso}) or {})
    return {"cohort_learners_counted": learners} | released


MIN_SLICE_USERS = 50


def _halved_after_timeout(exc: Exception, *, size: int, step: str, run_date: str) -> int:
    """The slice size to try again with after `exc`, or `exc` itself. A slice that outlived the statement
    timeout (a busy or small database: hosted's 8 s) rolled back whole, so the same slice is simply tried again
    at half the size, down to MIN_SLICE_USERS; any other failure, or a timeout at that size, fails the step."""
    if failure_code(exc) != "statement_timeout" or size <= MIN_SLICE_USERS:
        raise exc
    smaller = max(MIN_SLICE_USERS, size // 2)
    log_event("maintenance slice halved after a statement timeout", step=step, run_date=run_date,
              slice_from=size, slice_to=smaller)
    return smaller


def _retention(ctx: StepContext) -> dict[str, int]:
    """Old raw events dropped, and sessions idle for `session_idle_hours` marked abandoned (per slice of
    `abandon_sessions` rows, each call far inside hosted's 8 s; a re-run finds nothing left to mark)."""
    result = ctx.store.call("apply_retention", {"p_run_date": ctx.run_date_iso}) or {}
    abandoned = 0
    while True:
        batch = ctx.store.call("abandon_idle_sessions", {
            "p_run_date": ctx.run_date_iso, "p_idle_hours": ctx.config.session_idle_hours,
            "p_max_rows": ctx.config.abandon_sessions}) or {}
        abandoned += int(batch.get("sessions_abandoned") or 0)
        if batch.get("done", True):
            break
    return {"partitions_dropped": len(result.get("dropped_partitions") or []),
            "events_deleted": int(result.get("events_deleted") or 0), "sessions_abandoned": abandoned}


def _partitions(ctx: StepContext) -> dict[str, int]:
    """learning_events' monthly partitions through 12 months ahead (no default partition: a missing month
    fails every answer), every night, so they never depend on pg_cron or any other scheduler."""
    result = ctx.store.call("extend_learning_event_partitions", {"p_run_date": ctx.run_date_iso}) or {}
    return {"partitions_created": len(result.get("created_partitions") or []),
            "future_months": int(result.get("future_months") or 0)}


STEPS: dict[MaintenanceStep, Callable[[StepContext], dict[str, int]]] = {
    "decay": run_decay,
    "snapshots": run_snapshots,
    "aggregates": _aggregates,
    "bkt_refit": run_bkt_refit,
    "irt_calibration": run_irt_calibration,
    "predictor_fit": run_predictor_fit,
    "retention": _retention,
    "partitions": _partitions,
}
# A step reads what these wrote for the same date: it does not run after they failed.
DEPENDS_ON: Mapping[MaintenanceStep, tuple[MaintenanceStep, ...]] = {"aggregates": ("decay",)}


def default_run_date(now: datetime) -> date:
    """The previous UTC day: a run shortly after midnight processes the day that just ended."""
    return now.astimezone(UTC).date() - timedelta(days=1)


def _progress_saver(store: MaintenanceStore, run_date: date, step: str) -> Callable[[dict[str, Any]], None]:
    def save(progress: dict[str, Any]) -> None:
        store.call("save_maintenance_progress", {"p_run_date": run_date.isoformat(), "p_step": step,
                                                 "p_progress": progress})
    return save


class _Run:
    """One call's walk over the requested steps, collecting results and the failures to report."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.results: list[MaintenanceStepResult] = []
        self.failed: dict[MaintenanceStep, str] = {}  # step -> "failed: <code>" or "blocked: ..."

    def step(self, step: MaintenanceStep) -> None:
        ctx, iso = self.ctx, self.ctx.run_date_iso
        blockers = [d for d in DEPENDS_ON.get(step, ()) if d in self.failed]
        if blockers:
            self.failed[step] = f"blocked: {blockers[0]} did not finish"
            log.warning("maintenance step blocked", extra={"json_fields": {
                "step": step, "run_date": iso, "blocked_by": blockers}})
            return
        started = time.perf_counter()
        try:
            begun = ctx.store.call("begin_maintenance_step", {"p_run_date": iso, "p_step": step}) or {}
            if begun.get("status") == "done":
                counts = int_counts(begun.get("counts") or {})
                self.results.append(MaintenanceStepResult(step=step, status="skipped", counts=counts, seconds=0.0))
                log_event("maintenance step skipped", step=step, run_date=iso, counts=counts)
                return
            log_event("maintenance step started", step=step, run_date=iso, attempt=begun.get("runs"),
                      resumes_from=begun.get("progress"))
            step_ctx = dataclasses.replace(ctx, progress=begun.get("progress"),
                                           save_progress=_progress_saver(ctx.store, ctx.run_date, step))
            counts = STEPS[step](step_ctx)
            seconds = time.perf_counter() - started
            ctx.store.call("finish_maintenance_step", {"p_run_date": iso, "p_step": step, "p_status": "done",
                                                       "p_counts": counts, "p_seconds": seconds})
        except Exception as exc:  # a failing step is reported; the others still run
            self._fail(step, exc, time.perf_counter() - started)
            return
        self.results.append(MaintenanceStepResult(step=step, status="done", counts=counts, seconds=seconds))
        log_event("maintenance step done", step=step, run_date=iso, counts=counts, seconds=round(seconds, 3))

    def _fail(self, step: MaintenanceStep, exc: Exception, seconds: float) -> None:
        code = failure_code(exc)
        self.failed[step] = f"failed: {code}"
        log.error("maintenance step failed", exc_info=exc, extra={"json_fields": {
            "step": step, "run_date": self.ctx.run_date_iso, "error_code": code, "seconds": round(seconds, 3)}})
        try:
            self.ctx.store.call("finish_maintenance_step", {
                "p_run_date": self.ctx.run_date_iso, "p_step": step, "p_status": "failed", "p_counts": {},
                "p_seconds": seconds, "p_error_code": code, "p_error_message": f"{type(exc).__name__}: {exc}"[:2000]})
        except Exception:  # the bookkeeping may be what is down; the log has the failure
            log.exception("maintenance step failure not recorded", extra={"json_fields": {"step": step}})


def run_maintenance(*, body: MaintenanceRequest, deps: MaintenanceDeps,
                    config: MaintenanceConfig = DEFAULT_CONFIG) -> MaintenanceResponse:
    run_date = body.run_date or default_run_date(deps.now)
    if run_date > deps.now.astimezone(UTC).date():
        # A day that has not begun has nothing to process, and retention would count 24 months back from
        # it: a far-future date would drop every current partition.
        raise InvalidError(fields=[FieldError("run_date", "must not be after today (UTC)")])
    day_start = datetime(run_date.year, run_date.month, run_date.day, tzinfo=UTC)
    store = TimedStore(deps.service)
    ctx = StepContext(store=store, run_date=run_date, day_start=day_start, day_end=day_start + timedelta(days=1),
                      now=deps.now, batch_size=body.batch_size, config=config)
    requested = set(body.steps or MAINTENANCE_STEPS)
    run = _Run(ctx)
    try:
        for step in MAINTENANCE_STEPS:
            if step in requested:
                run.step(step)
    finally:
        # Hosted cancels a statement after 8 s: the longest call per RPC shows how close each one runs.
        log_event("maintenance calls", run_date=run_date.isoformat(), calls=store.summary())
    if run.failed:
        done = len(run.results)
        raise UnavailableError(
            f"maintenance for {run_date.isoformat()} is incomplete: {len(run.failed)} step(s) did not finish, "
            f"{done} did; a retry resumes them",
            code="maintenance_incomplete", retry_after_seconds=RETRY_AFTER_SECONDS,
            fields=[FieldError(f"steps.{step}", reason) for step, reason in run.failed.items()])
    return MaintenanceResponse(run_date=run_date, steps=run.results)
