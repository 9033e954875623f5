"""The scheduled maintenance run: decay, daily snapshots, aggregates, refits, retention, partitions.

Steps run in a fixed order (decay first: snapshots and knowledge gaps read decayed mastery). Each step
is recorded in maintenance_runs once it completes (record_maintenance_run); a step already recorded
for the run date is reported `skipped` with its stored counts and touches nothing, so a second run
for the same date — a retried schedule — changes nothing. A step that fails is not recorded and runs
again next time (every step is itself idempotent, so a partial first attempt does no harm).

The steps live in maintenance_mastery (decay, snapshots) and maintenance_refits (BKT, IRT); the SQL
does decay (with the memory model's curve constants), aggregates and retention set-based.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from smartpractice.api.errors import FieldError, ValidationFailed
from smartpractice.api.models import (
    MAINTENANCE_STEPS,
    MaintenanceRequest,
    MaintenanceResponse,
    MaintenanceStep,
    MaintenanceStepResult,
)
from smartpractice.service.deps import MaintenanceDeps
from smartpractice.service.maintenance_io import (
    MaintenanceConfig,
    MaintenanceStore,
    StepContext,
    log_event,
)
from smartpractice.service.maintenance_mastery import run_decay, run_snapshots
from smartpractice.service.maintenance_refits import run_bkt_refit, run_irt_calibration

DEFAULT_CONFIG = MaintenanceConfig()


def _int_counts(values: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)}


def _aggregates(ctx: StepContext) -> dict[str, int]:
    counts = _int_counts(ctx.store.call("refresh_aggregates", {"p_run_date": ctx.run_date_iso}) or {})
    # The cohort percentiles insights compares against, computed once here rather than per request.
    return counts | _int_counts(ctx.store.call("refresh_cohort_stats", {}) or {})


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


def recorded_steps(store: MaintenanceStore, run_date: date) -> dict[str, dict[str, int]]:
    """Steps already completed for the date, with their stored counts."""
    rows = store.select_page("maintenance_runs", "step,counts", order="step", offset=0, limit=100,
                             filters=[("run_date", "eq", run_date.isoformat())])
    return {str(r["step"]): _int_counts(r.get("counts") or {}) for r in rows}


def run_maintenance(*, body: MaintenanceRequest, deps: MaintenanceDeps,
                    config: MaintenanceConfig = DEFAULT_CONFIG) -> MaintenanceResponse:
    run_date = body.run_date or default_run_date(deps.now)
    if run_date > deps.now.astimezone(UTC).date():
        # A day that has not begun has nothing to process, and retention would count 24 months back from
        # it: a far-future date would drop every current partition.
        raise ValidationFailed(fields=[FieldError("run_date", "must not be after today (UTC)")])
    day_start = datetime(run_date.year, run_date.month, run_date.day, tzinfo=UTC)
    ctx = StepContext(store=deps.service, run_date=run_date, day_start=day_start,
                      day_end=day_start + timedelta(days=1), now=deps.now, batch_size=body.batch_size,
                      config=config, retention=_once(deps.service, run_date))
    requested = set(body.steps or MAINTENANCE_STEPS)
    done = recorded_steps(ctx.store, run_date)
    results: list[MaintenanceStepResult] = []
    for step in MAINTENANCE_STEPS:
        if step not in requested:
            continue
        if step in done:
            results.append(MaintenanceStepResult(step=step, status="skipped", counts=done[step], seconds=0.0))
            log_event("maintenance step skipped", step=step, run_date=ctx.run_date_iso, counts=done[step])
            continue
        log_event("maintenance step started", step=step, run_date=ctx.run_date_iso)
        started = time.perf_counter()
        counts = STEPS[step](ctx)
        ctx.store.call("record_maintenance_run", {"p_run_date": ctx.run_date_iso, "p_step": step, "p_counts": counts})
        seconds = time.perf_counter() - started
        results.append(MaintenanceStepResult(step=step, status="done", counts=counts, seconds=seconds))
        log_event("maintenance step done", step=step, run_date=ctx.run_date_iso, counts=counts,
                  seconds=round(seconds, 3))
    return MaintenanceResponse(run_date=run_date, steps=results)
