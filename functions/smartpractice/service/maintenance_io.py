"""What the maintenance steps share: settings, the per-run context and the paged reads.

Reads never rely on a page coming back full: PostgREST caps every response at its `db-max-rows`
(1000 on Supabase), so pages are requested at `read_page` ≤ that cap. Large tables are read by keyset
on a (major, minor) key — two plain filters per page instead of an `or=(...)`, and no OFFSET, so a
page costs the same at row 10 and at row 10 million, and rows inserted meanwhile shift nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

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
    read_page: int = 1000  # must not exceed PostgREST's db-max-rows
    ids_per_filter: int = 100  # uuids per `in.(...)` filter: keeps request URLs ~4 kB
    decay_tolerance: float = 1e-6  # smaller changes are not written (no history row for noise)
    decay_users: int = 5_000  # learners per apply_decay call (one transaction of ~100,000 rows)
    bkt_window_days: int = 90
    bkt_min_observations: int = 200
    bkt_max_sequence_length: int = 200  # first N opportunities of a learner × skill in the window
    bkt_cell_budget: int = 1_500_000  # answers per EM call (length-packed; EM peak memory ≈ 140 B per answer)
    irt_window_days: int = 180
    irt_min_responses: int = 50
    irt_cell_budget: int = 20_000_000  # learners × items cells per calibration call
    max_attempt_rows: int = 2_000_000  # answers read by a refit, at most
    progress_every_rows: int = 100_000

    def __post_init__(self) -> None:
        if min(self.read_page, self.ids_per_filter, self.max_attempt_rows, self.decay_users) < 1:
            raise ValueError("read_page, ids_per_filter, max_attempt_rows and decay_users must be >= 1")


@dataclass(frozen=True, slots=True)
class StepContext:
    store: MaintenanceStore
    run_date: date
    day_start: datetime  # run_date 00:00 UTC
    day_end: datetime  # run_date + 1 00:00 UTC: "as of the end of the day"
    now: datetime
    batch_size: int
    config: MaintenanceConfig
    retention: Callable[[], dict[str, Any]] = field(repr=False)  # apply_retention, called at most once per run

    @property
    def run_date_iso(self) -> str:
        return self.run_date.isoformat()


def log_event(message: str, **fields: Any) -> None:
    log.info(message, extra={"json_fields": fields})


def read_table(store: MaintenanceStore, table: str, columns: str, *, order: str, page: int,
               filters: Sequence[Filter] = ()) -> list[Row]:
    """A whole small table (content: skills, topics, question_skills...), by offset pages."""
    rows: list[Row] = []
    while True:
        chunk = store.select_page(table, columns, order=order, offset=len(rows), limit=page, filters=filters)
        rows.extend(chunk)
        if len(chunk) < page:
            return rows


class KeysetReader:
    """Rows of `table` in (major, minor) order, page by page, resuming after the last row returned."""

    def __init__(self, store: MaintenanceStore, table: str, columns: str, *, major: str, minor: str,
                 filters: Sequence[Filter] = ()) -> None:
        self._store, self._table, self._columns = store, table, columns
        self._major, self._minor = major, minor
        self._filters = list(filters)
        self._cursor: tuple[Any, Any] | None = None
        self.exhausted = False

    def _page(self, limit: int, extra: list[Filter]) -> list[Row]:
        return self._store.select_page(self._table, self._columns, order=f"{self._major},{self._minor}",
                                       offset=0, limit=limit, filters=[*self._filters, *extra])

    def next_page(self, limit: int) -> list[Row]:
        """Up to `limit` rows ([] once exhausted): the rest of the current major key, then the next ones."""
        if self.exhausted:
            return []
        rows: list[Row] = []
        if self._cursor is not None:
            major, minor = self._cursor
            rows = self._page(limit, [(self._major, "eq", major), (self._minor, "gt", minor)])
        if len(rows) < limit:
            after = [] if self._cursor is None else [(self._major, "gt", self._cursor[0])]
            following = self._page(limit - len(rows), after)
            self.exhausted = len(following) < limit - len(rows)
            rows.extend(following)
        if rows:
            self._cursor = (rows[-1][self._major], rows[-1][self._minor])
        return rows


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass(frozen=True, slots=True)
class AttemptLog:
    """Answered attempts as parallel arrays (row order: learner, then attempt id)."""

    learner: NDArray[np.int64]  # 0..n_learners-1
    question_id: NDArray[np.int64]
    correct: NDArray[np.int8]
    answered_epoch: NDArray[np.float64]  # seconds since 1970 (ordering within a learner)
    n_learners: int
    capped: bool  # the read stopped at max_attempt_rows

    @property
    def size(self) -> int:
        return int(self.learner.size)


ATTEMPT_COLUMNS = "user_id,id,question_id,is_correct,answered_at"


def read_attempts(ctx: StepContext, *, since: datetime, step: str) -> AttemptLog:
    """Answers with answered_at in [since, end of run_date), at most config.max_attempt_rows of them.

    Read in (user_id, id) order, so a capped read keeps whole histories of the learners with the lowest
    (random) uuids — a random sample of learners — rather than a time-biased slice of everyone.
    """
    config = ctx.config
    reader = KeysetReader(ctx.store, "session_questions", ATTEMPT_COLUMNS, major="user_id", minor="id",
                          filters=[("answered_at", "gte", since.isoformat()),
                                   ("answered_at", "lt", ctx.day_end.isoformat())])
    learners: dict[str, int] = {}
    columns: list[list[NDArray[Any]]] = [[], [], [], []]  # numpy per page: ~25 B per attempt, not ~150
    total, next_log = 0, config.progress_every_rows
    while not reader.exhausted and total < config.max_attempt_rows:
        rows = reader.next_page(min(config.read_page, config.max_attempt_rows - total))
        columns[0].append(np.array([learners.setdefault(str(r["user_id"]), len(learners)) for r in rows],
                                   dtype=np.int64))
        columns[1].append(np.array([int(r["question_id"]) for r in rows], dtype=np.int64))
        columns[2].append(np.array([bool(r["is_correct"]) for r in rows], dtype=np.int8))
        columns[3].append(np.array([datetime.fromisoformat(r["answered_at"]).timestamp() for r in rows],
                                   dtype=np.float64))
        total += len(rows)
        if total >= next_log:
            log_event("maintenance attempts read", step=step, rows_read=total, learners=len(learners))
            next_log += config.progress_every_rows
    capped = not reader.exhausted
    if capped:
        log.warning("maintenance attempt read capped", extra={"json_fields": {"step": step, "rows_read": total}})
    return AttemptLog(
        learner=_joined(columns[0], np.int64), question_id=_joined(columns[1], np.int64),
        correct=_joined(columns[2], np.int8), answered_epoch=_joined(columns[3], np.float64),
        n_learners=len(learners), capped=capped,
    )


def _joined(parts: list[NDArray[Any]], dtype: type[np.generic]) -> NDArray[Any]:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype=dtype)
