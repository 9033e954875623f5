"""run_maintenance within hosted limits, on the in-memory store: a row cap below the page size changes no count,
aggregates go in resumable learner slices, and every call is timed per RPC."""

from __future__ import annotations

import copy
import json
import logging
import time
from datetime import timedelta
from typing import Any

import pytest
from postgrest.exceptions import APIError

from smartpractice.errors import UnavailableError
from smartpractice.service.maintenance_io import MaintenanceConfig, TimedStore, read_table
from tests.unit.service.test_maintenance import (
    AGGREGATE_COUNTS,
    CONTENT,
    DAY_END,
    FakeServiceStore,
    Row,
    full_world,
    mastery_row,
    run,
    user,
)

LENIENT = MaintenanceConfig(bkt_min_observations=1, irt_min_responses=1)


def test_a_table_read_goes_on_past_pages_cut_by_the_row_cap() -> None:
    rows = [{"id": n, "topic_id": n % 7} for n in range(1, 251)]
    store = FakeServiceStore({"skills": rows}, max_rows=100)
    assert read_table(store, "skills", "id,topic_id", order="id", page=1000) == rows
    assert store.page_sizes == [100, 100, 50, 0]  # only the empty page ends the read


def test_a_table_read_of_exactly_whole_pages_ends_on_the_empty_page() -> None:
    rows = [{"id": n} for n in range(1, 201)]
    store = FakeServiceStore({"skills": rows}, max_rows=100)
    assert read_table(store, "skills", "id", order="id", page=100) == rows
    assert store.page_sizes == [100, 100, 0]


def big_world() -> dict[str, list[Row]]:
    """full_world with content tables longer than the cap used below (12 rows)."""
    world = full_world()
    world["question_skills"] = [*world["question_skills"],
                                *({"question_id": q, "skill_id": 1 + q % 3} for q in range(5, 40))]
    world["questions"] = [*world["questions"], *({"id": q, "question_type": "numeric", "exam_section": "math",
                                                  "options": None} for q in range(5, 40))]
    return world


def test_a_row_cap_below_every_page_changes_no_step_and_no_count() -> None:
    uncapped = FakeServiceStore(big_world())
    capped = FakeServiceStore(big_world(), max_rows=12)
    expected = run(uncapped, config=LENIENT)
    got = run(capped, config=LENIENT)
    assert [(s.step, s.status, s.counts) for s in got.steps] == [(s.step, s.status, s.counts) for s in expected.steps]
    assert max(capped.page_sizes) == 12 and 12 in capped.page_sizes  # the cap did cut pages
    for table in ("bkt_params", "question_difficulty_params", "user_performance_snapshots", "user_skill_mastery"):
        assert _without_times(capped.tables[table]) == _without_times(uncapped.tables[table]), table


def _without_times(rows: list[Row]) -> list[Row]:
    return [{k: v for k, v in r.items() if k not in ("fitted_at", "calibrated_at")} for r in rows]


def seven_learners() -> dict[str, list[Row]]:
    return {**CONTENT, "user_skill_mastery": [
        mastery_row(user(u), 1, p=0.5, stability=2.0, last_review=DAY_END - timedelta(days=2.5)) for u in range(1, 8)]}


class FlakyAggregates(FakeServiceStore):
    """refresh_aggregates_slice times out on its `fail_on`-th call (1-based), once."""

    def __init__(self, tables: dict[str, list[Row]], *, fail_on: int) -> None:
        super().__init__(tables)
        self.fail_on, self.slices = fail_on, 0

    def _refresh_aggregates_slice(self, p_run_date: str, p_after_user: str | None, p_max_users: int) -> Row:
        self.slices += 1
        if self.slices == self.fail_on:
            raise APIError({"code": "57014", "message": "canceling statement due to statement timeout"})
        return super()._refresh_aggregates_slice(p_run_date, p_after_user, p_max_users)


def test_aggregates_go_in_learner_slices_and_add_up() -> None:
    store = FakeServiceStore(seven_learners())
    response = run(store, steps=["aggregates"], config=MaintenanceConfig(aggregate_users=3))
    calls = store.rpc_calls("refresh_aggregates_slice")
    assert [(c["p_after_user"], c["p_max_users"]) for c in calls] == [(None, 3), (user(3), 3), (user(6), 3)]
    assert response.steps[0].counts == {**{k: 3 * v for k, v in AGGREGATE_COUNTS.items()},
                                        "learners_recomputed": 7, "incremental": 0, "cohort_learners_counted": 7,
                                        "cohort_stats_rows": 13}


def test_a_timed_out_slice_is_resumed_after_the_last_slice_done() -> None:
    store = FlakyAggregates(seven_learners(), fail_on=2)
    config = MaintenanceConfig(aggregate_users=3)
    with pytest.raises(UnavailableError) as failed:
        run(store, steps=["aggregates"], config=config)
    assert [(f.field, f.message) for f in failed.value.fields] == [("steps.aggregates", "failed: statement_timeout")]
    [row] = store.tables["maintenance_runs"]
    assert row["progress"]["after_user"] == user(3)
    retry = run(store, steps=["aggregates"], config=config)
    assert [c["p_after_user"] for c in store.rpc_calls("refresh_aggregates_slice")] == [
        None, user(3), user(3), user(6)]  # the failed slice again, then on: no learner twice
    expected = run(FakeServiceStore(seven_learners()), steps=["aggregates"], config=config)
    assert retry.steps[0].counts == expected.steps[0].counts


def test_snapshots_take_no_short_page_as_the_last() -> None:
    class ShortPages(FakeServiceStore):
        """snapshot_inputs answering at most 2 learners whatever was asked (as a capped read would)."""

        def _snapshot_inputs(self, p_run_date: str, p_after_user: str | None, p_max_users: int) -> list[Row]:
            return super()._snapshot_inputs(p_run_date, p_after_user, min(p_max_users, 2))

    world = full_world()
    expected = run(FakeServiceStore(copy.deepcopy(world)), steps=["snapshots"])
    store = ShortPages(world)
    got = run(store, steps=["snapshots"])
    assert got.steps[0].counts == expected.steps[0].counts
    assert got.steps[0].counts["learners_active"] == 12
    assert len(store.rpc_calls("snapshot_inputs")) == 7  # 6 pages of 2, then the empty one


def test_every_call_is_timed_per_rpc_and_the_run_logs_the_longest(caplog: pytest.LogCaptureFixture) -> None:
    store = FakeServiceStore(seven_learners())
    with caplog.at_level(logging.INFO, logger="smartpractice.maintenance"):
        run(store, steps=["decay", "aggregates"], config=MaintenanceConfig(decay_users=3, aggregate_users=3))
    [record] = [r for r in caplog.records if r.getMessage() == "maintenance calls"]
    calls = record.json_fields["calls"]  # type: ignore[attr-defined]
    assert {name: entry["calls"] for name, entry in calls.items()} == {
        "begin_maintenance_step": 2, "apply_decay": 3, "save_maintenance_progress": 4,
        "finish_maintenance_step": 2, "refresh_aggregates_slice": 3, "cohort_bins_slice": 1,
        "refresh_cohort_stats": 1}
    assert all(0 <= e["longest_seconds"] <= e["seconds"] for e in calls.values())
    longest = [e["longest_seconds"] for e in calls.values()]
    assert longest == sorted(longest, reverse=True)  # slowest first
    json.dumps(record.json_fields)  # type: ignore[attr-defined]  # one JSON log line


def test_timed_store_keeps_the_longest_call_and_times_failures() -> None:
    class Slow:
        def __init__(self) -> None:
            self.delays = iter([0.0, 0.03, 0.01])

        def call(self, name: str, args: dict[str, Any]) -> Any:
            delay = next(self.delays)
            time.sleep(delay)
            if delay == 0.01:
                raise RuntimeError("boom")
            return delay

        def select_page(self, table: str, columns: str, *, order: str, offset: int, limit: int,
                        filters: Any = ()) -> list[Row]:
            return []

    timed = TimedStore(Slow())
    timed.call("a", {})
    timed.call("a", {})
    with pytest.raises(RuntimeError):
        timed.call("a", {})
    timed.select_page("skills", "id", order="id", offset=0, limit=10)
    summary = timed.summary()
    assert list(summary) == ["a", "select skills"]
    assert summary["a"]["calls"] == 3 and 0.03 <= summary["a"]["longest_seconds"] < 0.2
