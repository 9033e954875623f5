"""The scheduled maintenance run: decay, daily snapshots, aggregates, refits, retention, partitions.

Steps run in a fixed order and each keeps its own row in maintenance_runs (status, counts, seconds, error,
resume point): begin_maintenance_step before, finish_maintenance_step after. A step already done for the
date is reported `skipped` with its stored counts and touches nothing, so a retried schedule changes
nothing. A step that raises is recorded `failed` with an error code, logged by name, and the steps that do
not read its output still run (aggregates read decayed mastery, so they wait for decay; nothing else
depends on another step). The run then answers 503 `maintenance_incomplete` naming each failed or blocked
step, so the scheduler retries, and the retry resumes: done steps are skipped, batched steps (decay,
snapshots) continue after their saved resume point. Every step is itself idempotent.

The steps live in maintenance_mastery (decay, snapshots) and maintenance_refits (BKT, IRT); the SQL does
decay (with the memory model's curve constants), aggregates and retention set-based.
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
    int_counts,
    log,
    log_event,
)
from smartpractice.service.maintenance_mastery import run_decay, run_snapshots
from smartpractice.service.maintenance_refits import run_bkt_refit, run_irt_calibration
from smartpractice.service.models_requests import MAINTENANCE_STEPS, MaintenanceRequest, MaintenanceStep
from smartpractice.service.models_responses import MaintenanceResponse, MaintenanceStepResult

DEFAULT_CONFIG = MaintenanceConfig()
RETRY_AFTER_SECONDS = 60


def _aggregates(ctx: StepContext) -> dict[str, int]:
    counts = int_counts(ctx.store.call("refresh_aggregates", {"p_run_date": ctx.run_date_iso}) or {})
    # The cohort percentiles insights compares against, computed once here rather than per request.
    return counts | int_counts(ctx.store.call("refresh_cohort_stats", {}) or {})


def _retention(ctx: StepContext) -> dict[str, int]:
    result = ctx.retention()
    return {"partitions_dropped": len(result.get("dropped_partitions") or []),
            "events_deleted": int(result.get("events_deleted") or 0)}


def _partitions(ctx: StepContext) -> dict[str, int]:
    # apply_retention also creates the coming months' partitions; one call serves both steps.
    return {"partitions_created": len(ctx.retention().get("created_partitions") or [])}


STEPS: dict[MaintenanceStep, Callable[[StepContext], dict[str, int]]] = {
    "decay": run_decay,
    "snapshots": run_snapshots,
    "aggregates": _aggregates,
    "bkt_refit": run_bkt_refit,
    "irt_calibration": run_irt_calibration,
    "retention": _retention,
    "partitions": _partitions,
}
# A step reads what these wrote for the same date: it does not run after they failed.
DEPENDS_ON: Mapping[MaintenanceStep, tuple[MaintenanceStep, ...]] = {"aggregates": ("decay",)}


def default_run_date(now: datetime) -> date:
    """The previous UTC day: a run shortly after midnight processes the day that just ended."""
    return now.astimezone(UTC).date() - timedelta(days=1)


def _once(store: MaintenanceStore, run_date: date) -> Callable[[], dict[str, Any]]:
    result: list[dict[str, Any]] = []

    def apply_retention() -> dict[str, Any]:
        if not result:
            result.append(dict(store.call("apply_retention", {"p_run_date": run_date.isoformat()}) or {}))
        return result[0]

    return apply_retention


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
    ctx = StepContext(store=deps.service, run_date=run_date, day_start=day_start,
                      day_end=day_start + timedelta(days=1), now=deps.now, batch_size=body.batch_size,
                      config=config, retention=_once(deps.service, run_date))
    requested = set(body.steps or MAINTENANCE_STEPS)
    run = _Run(ctx)
    for step in MAINTENANCE_STEPS:
        if step in requested:
            run.step(step)
    if run.failed:
        done = len(run.results)
        raise UnavailableError(
            f"maintenance for {run_date.isoformat()} is incomplete: {len(run.failed)} step(s) did not finish, "
            f"{done} did; a retry resumes them",
            code="maintenance_incomplete", retry_after_seconds=RETRY_AFTER_SECONDS,
            fields=[FieldError(f"steps.{step}", reason) for step, reason in run.failed.items()])
    return MaintenanceResponse(run_date=run_date, steps=run.results)
