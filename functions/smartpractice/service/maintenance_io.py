"""What the maintenance steps share: settings, the per-step context, the bounded reads, the call timings.

No request grows with the data: small content tables are read by offset pages of at most `read_page`
rows; learner data is read through RPCs that take a cursor and a page size in their POST body
(attempt_log_page, snapshot_inputs), so no URL ever carries a list of ids, and a page costs the same at
row 10 and at row 10 million. Those RPCs return one JSON value, which PostgREST's `db-max-rows` does not
cut; a table read is cut at it (1000 on Supabase, configurable lower), so no reader takes a page shorter
than it asked for as the end: only an empty page ends a table read, and the cursor RPCs end on their own
"exhausted" flag or an empty page.

Every call is timed per RPC (TimedStore): hosted Supabase cancels a statement after 8 s, so the run logs
its longest call per RPC, and each batched RPC is sized by learners to stay far inside that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from smartpractice.learner import evidence

Row = dict[str, Any]
Filter = tuple[str, str, Any]

log = logging.getLogger("smartpractice.maintenance")


class MaintenanceStore(Protocol):
    """The two service-role calls the batch jobs need (db.repository.ServiceStore provides them)."""

    def call(self, name: str, args: dict[str, Any]) -> Any: ...

    def select_page(self, table: str, columns: str, *, order: str, offset: int, limit: int,
                    filters: Sequence[Filter] = ()) -> list[Row]: ...


@dataclass(frozen=True, slots=True)
class MaintenanceConfig:
    read_page: int = 1000  # a shorter page (a lower db-max-rows) only costs more requests
    # Stored effective_mastery is refreshed when it is more than this away from the exact value as of the
    # end of the run date: one percentage point, the resolution of a whole-percent display. Learner-facing
    # numbers never read it (functions evaluate the curve at request time); analysts and aggregates do.
    decay_tolerance: float = 0.01
    decay_users: int = 5_000  # learners per apply_decay call (one transaction of ~100,000 rows)
    aggregate_users: int = 2_000  # learners per refresh_aggregates_slice call (~2.3 s at 100k, full recompute)
    cohort_users: int = 10_000  # learners per cohort_bins_slice call (~1-2 s at 20 skills each: 200k rows)
    # Active learners per snapshot_inputs page: each carries its predictor block (predictor_score_inputs_of, ~5 ms
    # of database time a learner over a 720-question bank, ~2x that on a loaded machine), so 200 keep a page near
    # 1-2 s, inside the 8 s statement_timeout of hosted Supabase's API roles (2,000 timed out at 500 learners).
    snapshot_users: int = 200
    bkt_window_days: int = 90
    bkt_min_observations: int = 200
    bkt_max_sequence_length: int = 200  # first N opportunities of a learner × skill in the window
    bkt_cell_budget: int = 1_500_000  # answers per EM call (length-packed; EM peak memory ≈ 140 B per answer)
    irt_window_days: int = 180
    irt_min_responses: int = 50
    irt_cell_budget: int = 20_000_000  # learners × items cells per calibration call
    irt_warm_tolerance: float = 1e-3  # logits: EM stops a warm-started calibration below this change per round
    # Answers a refit reads, at most: whole histories of the learners with the lowest (random) uuids, a
    # random sample of learners. 500k answers give every skill and item thousands of observations.
    max_attempt_rows: int = 500_000
    attempt_page_rows: int = 50_000  # answers per attempt_log_page call (~2 MB of JSON)
    progress_every_rows: int = 100_000
    # A session with no activity (start or answer) for this long before the end of the run date is abandoned.
    session_idle_hours: float = 24.0
    abandon_sessions: int = 5_000  # sessions per abandon_idle_sessions call (one indexed update)

    def __post_init__(self) -> None:
        if min(self.read_page, self.max_attempt_rows, self.decay_users, self.aggregate_users, self.cohort_users,
               self.snapshot_users, self.attempt_page_rows, self.abandon_sessions) < 1 \
                or not self.session_idle_hours > 0:
            raise ValueError("read_page, max_attempt_rows, decay_users, aggregate_users, cohort_users, "
                             "snapshot_users, attempt_page_rows and abandon_sessions must be >= 1, "
                             "session_idle_hours > 0")
        if self.decay_tolerance < 0:
            raise ValueError("decay_tolerance must be >= 0")


def _no_progress(progress: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class StepContext:
    store: MaintenanceStore
    run_date: date
    day_start: datetime  # run_date 00:00 UTC
    day_end: datetime  # run_date + 1 00:00 UTC: "as of the end of the day"
    now: datetime
    batch_size: int
    config: MaintenanceConfig
    # A batched step's saved resume point from an earlier, unfinished attempt (None: start afresh) ...
    progress: Mapping[str, Any] | None = None
    # ... and how it saves one after each batch.
    save_progress: Callable[[dict[str, Any]], None] = field(default=_no_progress, repr=False)
    # What one run reads once for several steps (the refits' answers); shared by the steps' contexts.
    shared: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def run_date_iso(self) -> str:
        return self.run_date.isoformat()

    def resume(self, keys: Sequence[str]) -> tuple[str | None, dict[str, int]]:
        """A batched step's cursor (the last learner done) and its counts so far: zeros when starting afresh."""
        progress = self.progress or {}
        return progress.get("after_user"), dict.fromkeys(keys, 0) | int_counts(progress.get("counts") or {})


@dataclass(slots=True)
class CallTimes:
    calls: int = 0
    seconds: float = 0.0
    longest: float = 0.0


class TimedStore:
    """A MaintenanceStore that times every call, per RPC (reads per table): the run logs the longest."""

    def __init__(self, store: MaintenanceStore) -> None:
        self._store = store
        self.times: dict[str, CallTimes] = {}

    def _timed(self, key: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        times = self.times.setdefault(key, CallTimes())
        times.calls, times.seconds, times.longest = times.calls + 1, times.seconds + elapsed, max(times.longest,
                                                                                                   elapsed)

    def call(self, name: str, args: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return self._store.call(name, args)
        finally:
            self._timed(name, started)

    def select_page(self, table: str, columns: str, *, order: str, offset: int, limit: int,
                    filters: Sequence[Filter] = ()) -> list[Row]:
        started = time.perf_counter()
        try:
            return self._store.select_page(table, columns, order=order, offset=offset, limit=limit, filters=filters)
        finally:
            self._timed(f"select {table}", started)

    def summary(self) -> dict[str, dict[str, float | int]]:
        """{rpc: {"calls", "seconds", "longest_seconds"}}, slowest first."""
        ranked = sorted(self.times.items(), key=lambda item: -item[1].longest)
        return {key: {"calls": t.calls, "seconds": round(t.seconds, 3), "longest_seconds": round(t.longest, 3)}
                for key, t in ranked}


def int_counts(values: Mapping[str, Any]) -> dict[str, int]:
    """The integer entries of an RPC's counts object (booleans and other values dropped)."""
    return {k: int(v) for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)}


def log_event(message: str, **fields: Any) -> None:
    log.info(message, extra={"json_fields": fields})


def read_table(store: MaintenanceStore, table: str, columns: str, *, order: str, page: int,
               filters: Sequence[Filter] = ()) -> list[Row]:
    """A whole small table (content: skills, topics, question_skills...), by offset pages until an empty one.

    PostgREST returns at most db-max-rows rows whatever the range asked ("db-max-rows", PostgREST docs,
    Configuration), so a short page may be a cut one: the next page starts after the rows received.
    """
    rows: list[Row] = []
    while True:
        chunk = store.select_page(table, columns, order=order, offset=len(rows), limit=page, filters=filters)
        if not chunk:
            return rows
        rows.extend(chunk)


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """Answered attempts as parallel arrays (row order: learner, then answer time)."""

    learner: NDArray[np.int64]  # 0..n_learners-1
    question_id: NDArray[np.int64]
    correct: NDArray[np.int8]
    answered_epoch: NDArray[np.float64]  # seconds since 1970 (ordering within a learner)
    n_learners: int
    capped: bool  # the read stopped at max_attempt_rows
    # Seconds from serving to answering (the server's): the evidence weight of the answer's online step
    # (learner/evidence.py). None: not read.
    served_seconds: NDArray[np.float64] | None = None

    def subset(self, keep: NDArray[np.bool_], *, n_learners: int) -> AttemptLog:
        """The answers where `keep` is True (same learner indices)."""
        return AttemptLog(learner=self.learner[keep], question_id=self.question_id[keep], correct=self.correct[keep],
                          answered_epoch=self.answered_epoch[keep], n_learners=n_learners, capped=self.capped,
                          served_seconds=None if self.served_seconds is None else self.served_seconds[keep])

    @property
    def size(self) -> int:
        return int(self.learner.size)


def served_evidence(log: AttemptLog, *, question_types: Mapping[int, str]) -> evidence.ReplayedEvidence:
    """Each answer's evidence when served (evidence.replayed_evidence; weight 1 and none too fast when the read
    carries no serving times): the refits learn only from answers that moved the online state."""
    if log.served_seconds is None:
        return evidence.ReplayedEvidence(weight=np.ones(log.size), too_fast=np.zeros(log.size, dtype=bool))
    ids, inverse = np.unique(log.question_id, return_inverse=True)
    minimum = np.array([evidence.MIN_SECONDS.get(question_types.get(int(q), ""), evidence.DEFAULT_MIN_SECONDS)
                        for q in ids], dtype=np.float64)
    return evidence.replayed_evidence(learner=log.learner, question_id=log.question_id,
                                      answered_epoch=log.answered_epoch, served_seconds=log.served_seconds,
                                      min_seconds=minimum[inverse])


def read_attempts(ctx: StepContext, *, since: datetime, step: str) -> AttemptLog:
    """Answers with answered_at in [since, end of run_date), from the run's one read of the refits' window.

    The BKT and IRT refits read the same learners' answers over different windows: the run reads the wider
    window once (refit_window_start) and each refit takes its part.
    """
    if "attempts" not in ctx.shared:
        ctx.shared["attempts"] = _read_attempt_log(ctx, since=refit_window_start(ctx), step=step)
    log_: AttemptLog = ctx.shared["attempts"]
    keep = log_.answered_epoch >= since.timestamp()
    if keep.all():
        return log_
    return log_.subset(keep, n_learners=int(np.unique(log_.learner[keep]).size))


def refit_window_start(ctx: StepContext) -> datetime:
    return ctx.day_end - timedelta(days=max(ctx.config.bkt_window_days, ctx.config.irt_window_days))


def _read_attempt_log(ctx: StepContext, *, since: datetime, step: str) -> AttemptLog:
    """Answers with answered_at in [since, end of run_date), at most config.max_attempt_rows of them.

    Read learner by learner in user order (attempt_log_page), so a capped read keeps whole histories of the
    learners with the lowest (random) uuids, a random sample of learners, rather than a time-biased slice.
    """
    config = ctx.config
    learners: dict[str, int] = {}
    columns: list[list[NDArray[Any]]] = [[], [], [], [], []]
    total, next_log, after, exhausted = 0, config.progress_every_rows, None, False
    while not exhausted and total < config.max_attempt_rows:
        page = ctx.store.call("attempt_log_page", {
            "p_from": since.isoformat(), "p_to": ctx.day_end.isoformat(), "p_after_user": after,
            "p_max_rows": min(config.attempt_page_rows, config.max_attempt_rows - total)})
        exhausted = bool(page["exhausted"])
        if not page["user_ids"]:
            break
        index = np.array([learners.setdefault(str(u), len(learners)) for u in page["user_ids"]], dtype=np.int64)
        columns[0].append(index[np.asarray(page["learner"], dtype=np.int64)])
        columns[1].append(np.asarray(page["question_id"], dtype=np.int64))
        columns[2].append(np.asarray(page["correct"], dtype=np.int8))
        columns[3].append(np.asarray(page["answered_epoch"], dtype=np.float64))
        columns[4].append(np.asarray(page["served_seconds"], dtype=np.float64))
        total += len(page["question_id"])
        after = str(page["last_user_id"])
        if total >= next_log:
            log_event("maintenance attempts read", step=step, rows_read=total, learners=len(learners))
            next_log += config.progress_every_rows
    capped = not exhausted
    if capped:
        log.warning("maintenance attempt read capped", extra={"json_fields": {"step": step, "rows_read": total}})
    return AttemptLog(
        learner=_joined(columns[0], np.int64), question_id=_joined(columns[1], np.int64),
        correct=_joined(columns[2], np.int8), answered_epoch=_joined(columns[3], np.float64),
        n_learners=len(learners), capped=capped, served_seconds=_joined(columns[4], np.float64),
    )


def _joined(parts: list[NDArray[Any]], dtype: type[np.generic]) -> NDArray[Any]:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype=dtype)
