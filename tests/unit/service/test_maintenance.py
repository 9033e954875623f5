"""run_maintenance on an in-memory ServiceStore: exact payloads and counts, idempotency per date, refits."""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from postgrest.exceptions import APIError

from smartpractice.api.models import MaintenanceRequest, MaintenanceResponse
from smartpractice.errors import InvalidError, UnavailableError
from smartpractice.learner import bkt_em, irt
from smartpractice.learner import predictor_scores as pscores
from smartpractice.learner.bkt import BKTParams
from smartpractice.learner.memory import forgetting_curve
from smartpractice.service.deps import MaintenanceDeps
from smartpractice.service.maintenance import run_maintenance
from smartpractice.service.maintenance_io import AttemptLog, MaintenanceConfig
from smartpractice.service.maintenance_refits import SkillObservations, bkt_training_batches, skill_observations
from smartpractice_dev.simulation import simulate_bkt_sequences, simulate_irt_responses

Row = dict[str, Any]
RUN_DATE = date(2026, 11, 22)
DAY_START = datetime(2026, 11, 22, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
RETENTION_RESULT = {"cutoff": "2024-11-22T00:00:00+00:00", "dropped_partitions": ["learning_events_p202410"],
                    "events_deleted": 3, "created_partitions": ["learning_events_p202602", "learning_events_p202603"]}
AGGREGATE_COUNTS = {"daily_user_stats": 2, "weekly_user_stats": 2, "topic_daily_stats": 3,
                    "user_learning_metrics": 4, "knowledge_gaps_open": 1, "knowledge_gaps_resolved": 0}
PARTITIONS_RESULT = {"created_partitions": ["learning_events_p202711"], "future_months": 12}
COHORT_STATS_ROWS = 13


def user(n: int) -> str:
    return str(uuid.UUID(int=n))


def iso(moment: datetime) -> str:
    return moment.isoformat()


# --- the fake ---------------------------------------------------------------------------------------


def _comparable(column: str, value: Any) -> Any:
    if column.endswith("_at") and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _matches(row: Row, column: str, op: str, value: Any) -> bool:
    have = row.get(column)
    if op == "in_":
        return have in value
    if have is None:
        return False
    left, right = _comparable(column, have), _comparable(column, value)
    return bool({"eq": left == right, "gt": left > right, "gte": left >= right, "lt": left < right,
                 "lte": left <= right}[op])


class FakeServiceStore:
    """Dict-backed tables; the maintenance RPCs behave like the SQL (version check, upserts)."""

    def __init__(self, tables: dict[str, list[Row]], *, max_rows: int = 1000) -> None:
        self.tables = {name: [dict(r) for r in rows] for name, rows in tables.items()}
        self.max_rows = max_rows  # PostgREST db-max-rows: a longer page is silently cut
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.page_sizes: list[int] = []
        self.before_call: Callable[[str, dict[str, Any]], None] | None = None
        self.predictor_blocks: dict[str, Row] = {}  # snapshot_inputs' 'predictor' per learner (none: null)

    def select_page(self, table: str, columns: str, *, order: str, offset: int, limit: int,
                    filters: Sequence[tuple[str, str, Any]] = ()) -> list[Row]:
        rows = [r for r in self.tables.get(table, []) if all(_matches(r, *f) for f in filters)]
        keys = order.split(",")
        rows.sort(key=lambda r: tuple(_comparable(k, r[k]) for k in keys))
        page = rows[offset:offset + min(limit, self.max_rows)]
        self.page_sizes.append(len(page))
        return [{c: copy.deepcopy(r.get(c)) for c in columns.split(",")} for r in page]

    def call(self, name: str, args: dict[str, Any]) -> Any:
        self.calls.append((name, copy.deepcopy(args)))
        if self.before_call is not None:
            self.before_call(name, args)
        return getattr(self, f"_{name}")(**args)

    def rpc_calls(self, name: str) -> list[dict[str, Any]]:
        return [args for called, args in self.calls if called == name]

    def _maintenance_row(self, p_run_date: str, p_step: str) -> Row | None:
        runs = self.tables.setdefault("maintenance_runs", [])
        return next((r for r in runs if (r["run_date"], r["step"]) == (p_run_date, p_step)), None)

    def _begin_maintenance_step(self, p_run_date: str, p_step: str) -> Row:
        row = self._maintenance_row(p_run_date, p_step)
        if row is None:
            row = {"run_date": p_run_date, "step": p_step, "status": "running", "counts": {}, "progress": None,
                   "error_code": None, "runs": 1}
            self.tables["maintenance_runs"].append(row)
        elif row["status"] != "done":
            row.update(status="running", runs=row["runs"] + 1, error_code=None)
        return copy.deepcopy(row)

    def _save_maintenance_progress(self, p_run_date: str, p_step: str, p_progress: Row) -> None:
        row = self._maintenance_row(p_run_date, p_step)
        assert row is not None and row["status"] == "running"
        row["progress"] = copy.deepcopy(p_progress)

    def _finish_maintenance_step(self, p_run_date: str, p_step: str, p_status: str, p_counts: Row,
                                 p_seconds: float, p_error_code: str | None = None,
                                 p_error_message: str | None = None) -> Row:
        row = self._maintenance_row(p_run_date, p_step)
        assert row is not None
        if p_status == "done":
            row.update(status="done", counts=p_counts, progress=None, error_code=None)
        else:
            row.update(status="failed", error_code=p_error_code)
        return copy.deepcopy(row)

    def _snapshot_inputs(self, p_run_date: str, p_after_user: str | None, p_max_users: int) -> list[Row]:
        start = datetime.fromisoformat(p_run_date).replace(tzinfo=UTC)
        active: dict[str, list[int]] = {}
        for answer in self.tables.get("session_questions", []):
            at = datetime.fromisoformat(answer["answered_at"])
            if start <= at < start + timedelta(days=1) and (p_after_user is None or answer["user_id"] > p_after_user):
                counts = active.setdefault(answer["user_id"], [0, 0])
                counts[0] += 1
                counts[1] += int(answer["is_correct"])
        page = []
        for user_id in sorted(active)[:p_max_users]:
            rows = sorted((r for r in self.tables.get("user_skill_mastery", []) if r["user_id"] == user_id),
                          key=lambda r: r["skill_id"])
            page.append({"user_id": user_id, "answered": active[user_id][0], "correct": active[user_id][1],
                         "mastery": [[r["skill_id"], r["p_mastery"], r["stability"],
                                      None if r["last_review"] is None
                                      else datetime.fromisoformat(r["last_review"]).timestamp()] for r in rows],
                         "predictor": self.predictor_blocks.get(user_id)})
        return page

    def _attempt_log_page(self, p_from: str, p_to: str, p_after_user: str | None, p_max_rows: int) -> Row:
        window = sorted((a for a in self.tables.get("session_questions", [])
                         if datetime.fromisoformat(p_from) <= datetime.fromisoformat(a["answered_at"])
                         < datetime.fromisoformat(p_to) and (p_after_user is None or a["user_id"] > p_after_user)),
                        key=lambda a: (a["user_id"], datetime.fromisoformat(a["answered_at"])))
        scanned = window[:p_max_rows + 1]
        exhausted = len(scanned) <= p_max_rows
        users = sorted({a["user_id"] for a in scanned})
        kept = scanned if exhausted or len(users) == 1 else [a for a in scanned if a["user_id"] < users[-1]]
        kept = kept[:p_max_rows]
        ids = sorted({a["user_id"] for a in kept})
        return {"user_ids": ids, "learner": [ids.index(a["user_id"]) for a in kept],
                "question_id": [a["question_id"] for a in kept], "correct": [int(a["is_correct"]) for a in kept],
                "answered_epoch": [datetime.fromisoformat(a["answered_at"]).timestamp() for a in kept],
                "served_seconds": [self._served_seconds(a) for a in kept],
                "last_user_id": ids[-1] if ids else None, "exhausted": exhausted}

    @staticmethod
    def _served_seconds(answer: Row) -> float:
        # answered_at − served_at, as private.refit_answers; rows written without served_at took a minute
        if answer.get("served_at") is None:
            return 60.0
        served = datetime.fromisoformat(answer["served_at"])
        return (datetime.fromisoformat(answer["answered_at"]) - served).total_seconds()

    def _apply_decay(self, p_as_of: str, p_decay: float, p_factor: float, p_tolerance: float,
                     p_after_user: str | None, p_max_users: int) -> Row:
        # Mirrors the SQL: the next p_max_users learners after p_after_user, p_mastery × R(whole days).
        rows = sorted(self.tables.get("user_skill_mastery", []), key=lambda r: (r["user_id"], r["skill_id"]))
        users = sorted({r["user_id"] for r in rows if p_after_user is None or r["user_id"] > p_after_user})
        users = users[:p_max_users]
        as_of = datetime.fromisoformat(p_as_of)
        scanned = changed = 0
        for row in (r for r in rows if r["user_id"] in users):
            scanned += 1
            value = row["p_mastery"]
            if row["stability"] is not None and row["last_review"] is not None:
                days = max(math.floor((as_of - datetime.fromisoformat(row["last_review"])).total_seconds() / 86400), 0)
                value *= (1.0 + p_factor * days / row["stability"]) ** p_decay
            if abs(value - row["effective_mastery"]) > p_tolerance:
                row.update(effective_mastery=value, version=row["version"] + 1)
                changed += 1
        return {"users": len(users), "rows_scanned": scanned, "rows_changed": changed,
                "last_user_id": users[-1] if users else None}
    def _write_daily_snapshots(self, p_run_date: str, p_rows: list[Row]) -> int:
        snapshots = self.tables.setdefault("user_performance_snapshots", [])
        for item in p_rows:
            snapshots[:] = [s for s in snapshots if (s["user_id"], s["snapshot_date"]) != (item["user_id"], p_run_date)]
            snapshots.append({**item, "snapshot_date": p_run_date})
        return len(p_rows)

    def _refresh_aggregates_slice(self, p_run_date: str, p_after_user: str | None, p_max_users: int) -> Row:
        # Mirrors the SQL's slicing: the next p_max_users learners with mastery rows; fewer ends (open-ended).
        users = sorted({r["user_id"] for r in self.tables.get("user_skill_mastery", [])
                        if p_after_user is None or r["user_id"] > p_after_user})[:p_max_users]
        done = len(users) < p_max_users
        return {**AGGREGATE_COUNTS, "learners_recomputed": len(users), "incremental": 0,
                "last_user_id": None if done else users[-1], "done": done}

    def _cohort_bins_slice(self, p_release_date: str, p_after_user: str | None, p_max_users: int) -> Row:
        # Mirrors the SQL's slicing (as refresh_aggregates_slice): fewer than p_max_users learners ends.
        users = sorted({r["user_id"] for r in self.tables.get("user_skill_mastery", [])
                        if p_after_user is None or r["user_id"] > p_after_user})[:p_max_users]
        done = len(users) < p_max_users
        return {"cohort_learners": len(users), "last_user_id": None if done else users[-1], "done": done,
                "released": False}

    def _refresh_cohort_stats(self, p_release_date: str) -> Row:
        return {"cohort_stats_rows": COHORT_STATS_ROWS}

    def _abandon_idle_sessions(self, p_run_date: str, p_idle_hours: float, p_max_rows: int) -> Row:
        # Mirrors the SQL: at most p_max_rows idle active sessions per call; fewer means done.
        idle = [r for r in self.tables.get("practice_sessions", []) if r["status"] == "active" and r["idle"]]
        for row in idle[:p_max_rows]:
            row["status"] = "abandoned"
        return {"sessions_abandoned": min(len(idle), p_max_rows), "done": len(idle) < p_max_rows}

    def _upsert_bkt_params(self, p_rows: list[Row]) -> int:
        self.tables["bkt_params"] = [*self.tables.get("bkt_params", []), *p_rows]
        return len(p_rows)

    def _upsert_irt_params(self, p_rows: list[Row]) -> int:
        self.tables["question_difficulty_params"] = [*self.tables.get("question_difficulty_params", []), *p_rows]
        return len(p_rows)

    def _question_bank(self) -> Row:
        """question_bank(): the questions (every tagged one; active unless said otherwise), b 0 where unset; the
        Elo-row seed is a question's "seed", its label seed its "label_seed" (0 when not given)."""
        tags: dict[int, list[int]] = {}
        for r in self.tables.get("question_skills", []):
            tags.setdefault(int(r["question_id"]), []).append(int(r["skill_id"]))
        questions = {int(q["id"]): q for q in self.tables.get("questions", [])}
        stored = {int(r["question_id"]): r.get("predictor_difficulty")
                  for r in self.tables.get("question_difficulty_params", [])}
        ids = [q for q in sorted(tags) if questions.get(q, {}).get("is_active", True)]
        return {"id": ids, "skill_ids": [sorted(tags[q]) for q in ids],
                "predictor_difficulty": [stored.get(q) if stored.get(q) is not None
                                         else questions.get(q, {}).get("seed", 0.0) for q in ids],
                "seed_difficulty": [questions.get(q, {}).get("seed", 0.0) for q in ids],
                # private.predictor_label_seed_difficulty of the question's label: given as "label_seed" here
                "label_seed_difficulty": [questions.get(q, {}).get("label_seed", 0.0) for q in ids],
                "n_options": [len(questions.get(q, {}).get("options") or []) for q in ids]}

    def _set_predictor_difficulties(self, p_rows: list[Row]) -> int:
        by_id = {int(r["question_id"]): r for r in self.tables.setdefault("question_difficulty_params", [])}
        for row in p_rows:
            by_id.setdefault(int(row["question_id"]), {"question_id": int(row["question_id"])})
            by_id[int(row["question_id"])]["predictor_difficulty"] = row["difficulty"]
        self.tables["question_difficulty_params"] = list(by_id.values())
        return len(p_rows)

    def _insert_predictor_weights(self, p_row: Row) -> int:
        self.tables.setdefault("predictor_weights", []).append(dict(p_row))
        return len(self.tables["predictor_weights"])

    def _apply_retention(self, p_run_date: str) -> Row:
        return copy.deepcopy(RETENTION_RESULT)

    def _extend_learning_event_partitions(self, p_run_date: str) -> Row:
        return copy.deepcopy(PARTITIONS_RESULT)


def run(store: FakeServiceStore, *, steps: list[str] | None = None, batch_size: int = 5000,
        config: MaintenanceConfig | None = None, run_date: date | None = RUN_DATE,
        now: datetime = NOW) -> MaintenanceResponse:
    body = MaintenanceRequest(run_date=run_date, steps=steps, batch_size=batch_size)  # type: ignore[arg-type]
    deps = MaintenanceDeps(service=store, now=now)  # type: ignore[arg-type]
    if config is None:
        return run_maintenance(body=body, deps=deps)
    return run_maintenance(body=body, deps=deps, config=config)


def mastery_row(user_id: str, skill_id: int, *, p: float, effective: float | None = None,
                stability: float | None = None, last_review: datetime | None = None, version: int = 1) -> Row:
    return {"user_id": user_id, "skill_id": skill_id, "p_mastery": p,
            "effective_mastery": p if effective is None else effective, "stability": stability,
            "last_review": None if last_review is None else iso(last_review), "version": version}


def answer_row(user_id: str, question_id: int, *, correct: bool, at: datetime) -> Row:
    return {"id": str(uuid.uuid4()), "user_id": user_id, "question_id": question_id, "is_correct": correct,
            "answered_at": iso(at)}


# --- decay ------------------------------------------------------------------------------------------


def decay_table() -> list[Row]:
    # fsrs: R = 0.9 exactly when the whole days elapsed equal the stability.
    return [
        mastery_row(user(1), 1, p=0.8, stability=10.0, last_review=DAY_END - timedelta(days=10), version=3),
        mastery_row(user(1), 2, p=0.5, stability=4.0, last_review=DAY_END - timedelta(days=4.5)),  # 4 whole days
        mastery_row(user(1), 3, p=0.2),  # never reviewed: no trace to decay
        mastery_row(user(2), 1, p=0.6, effective=0.54 + 5e-7, stability=10.0,
                    last_review=DAY_END - timedelta(days=10)),  # already decayed (within 1e-6)
        mastery_row(user(2), 2, p=0.7, stability=2.0, last_review=DAY_END + timedelta(hours=3)),  # answered later
    ]


def test_decay_walks_the_learners_in_slices_with_the_memory_models_curve() -> None:
    rows = [mastery_row(user(u), k, p=0.9, stability=4.0, last_review=DAY_END - timedelta(days=4.5))
            for u in range(1, 8) for k in (1, 2, 3)]
    store = FakeServiceStore({"user_skill_mastery": rows})
    response = run(store, steps=["decay"], config=MaintenanceConfig(decay_users=3))
    calls = store.rpc_calls("apply_decay")
    assert [c["p_after_user"] for c in calls] == [None, user(3), user(6)]  # the last slice has 1 learner
    curve = forgetting_curve()
    assert {(c["p_decay"], c["p_factor"], c["p_as_of"], c["p_tolerance"], c["p_max_users"]) for c in calls} == {
        (curve.decay, curve.factor, DAY_END.isoformat(), 0.01, 3)}
    assert curve.decay < 0 and (1 + curve.factor) ** curve.decay == pytest.approx(0.9, abs=1e-12)  # R(S) = 0.9
    assert response.steps[0].counts == {"users": 7, "rows_scanned": 21, "rows_changed": 21}
    # 4 whole days at stability 4: R = 0.9 exactly
    assert [r["effective_mastery"] for r in store.tables["user_skill_mastery"]] == [pytest.approx(0.81, abs=1e-12)] * 21


def test_decay_stops_after_an_empty_slice_and_a_rerun_changes_nothing() -> None:
    rows = [mastery_row(user(u), 1, p=0.5, stability=2.0, last_review=DAY_END - timedelta(days=2.5))
            for u in range(1, 7)]
    store = FakeServiceStore({"user_skill_mastery": rows})
    run(store, steps=["decay"], config=MaintenanceConfig(decay_users=3))
    assert [c["p_after_user"] for c in store.rpc_calls("apply_decay")] == [None, user(3), user(6)]
    again = run(store, steps=["decay"], run_date=date(2026, 11, 23), now=NOW + timedelta(days=1))
    assert again.steps[0].counts["rows_changed"] == 6  # a day later: one more whole day (0.45 -> 0.435)
    store.tables.pop("maintenance_runs")
    repeat = run(store, steps=["decay"], run_date=date(2026, 11, 23), now=NOW + timedelta(days=1))
    assert repeat.steps[0].counts == {"users": 6, "rows_scanned": 6, "rows_changed": 0}


def test_decay_writes_a_row_only_once_it_drifted_past_the_tolerance() -> None:
    # p = 0.5, S = 2, nine whole days after the review: R falls ~0.01 a day, so p·R ~0.005 a day.
    row = mastery_row(user(1), 1, p=0.5, stability=2.0, last_review=DAY_END - timedelta(days=9.5))
    curve = forgetting_curve()

    def exact(days: int) -> float:
        return float(0.5 * (1 + curve.factor * days / 2.0) ** curve.decay)

    row["effective_mastery"] = exact(9)  # decayed last night
    store = FakeServiceStore({"user_skill_mastery": [row]})
    changed = []
    for offset in range(4):
        day = RUN_DATE + timedelta(days=offset)
        response = run(store, steps=["decay"], run_date=day, now=NOW + timedelta(days=offset))
        changed.append(response.steps[0].counts["rows_changed"])
    stored = store.tables["user_skill_mastery"][0]["effective_mastery"]
    assert changed == [0, 0, 0, 1]  # nights at 9, 10, 11, 12 whole days: written once the drift passed 0.01
    assert stored == pytest.approx(exact(12), abs=1e-12)
    assert exact(9) - exact(11) < 0.01 < exact(9) - exact(12) and exact(12) - exact(13) < 0.01


# --- snapshots --------------------------------------------------------------------------------------


CONTENT: dict[str, list[Row]] = {
    "subjects": [{"id": 100, "exam_section": "math"}, {"id": 101, "exam_section": "reading"}],
    "topics": [{"id": 10, "subject_id": 100, "exam_weight": "0.5000"},
               {"id": 11, "subject_id": 101, "exam_weight": "1.0000"}],
    "skills": [{"id": 1, "topic_id": 10}, {"id": 2, "topic_id": 10}, {"id": 3, "topic_id": 11}],
}


def _predictor_block(*, math_answers: int, reading_answers: int, information: float) -> Row:
    """A predictor_score_inputs block: curves linear in Δ around T(θ) = 0.55 (math) and 0.70 (reading)."""
    offsets = [float(d) for d in pscores.OFFSETS]
    return {"learner": {"theta": 0.3, "answers": math_answers + reading_answers, "correct": 5},
            "weights": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], "offsets": offsets, "information": information,
            "sections": [
                {"section": "math", "questions": 40, "answers": math_answers,
                 "curve": [min(0.99, max(0.01, 0.55 + 0.1 * d)) for d in offsets]},
                {"section": "reading_writing", "questions": 40, "answers": reading_answers,
                 "curve": [min(0.99, max(0.01, 0.70 + 0.1 * d)) for d in offsets]}]}


def test_daily_snapshots_for_learners_active_that_day() -> None:
    answers = [
        answer_row(user(1), 7, correct=True, at=DAY_START + timedelta(hours=1)),
        answer_row(user(1), 8, correct=False, at=DAY_START + timedelta(hours=2)),
        answer_row(user(1), 9, correct=True, at=DAY_END - timedelta(seconds=1)),
        answer_row(user(1), 6, correct=True, at=DAY_START - timedelta(seconds=1)),  # the day before
        answer_row(user(2), 7, correct=False, at=DAY_START),
        answer_row(user(3), 7, correct=True, at=DAY_END),  # the next day: user 3 is not active
        answer_row(user(4), 7, correct=True, at=DAY_START),
    ]
    mastery = [
        mastery_row(user(1), 1, p=0.8, effective=0.8, stability=10.0, last_review=DAY_END - timedelta(days=10)),
        mastery_row(user(1), 2, p=0.5),
        mastery_row(user(3), 1, p=0.9),
    ]
    store = FakeServiceStore({"session_questions": answers, "user_skill_mastery": mastery})
    store.predictor_blocks = {
        user(1): _predictor_block(math_answers=6, reading_answers=2, information=3.0),  # reading: too few answers
        user(4): _predictor_block(math_answers=6, reading_answers=9, information=3.0),
    }
    response = run(store, steps=["snapshots"])
    assert response.steps[0].counts == {"learners_active": 3, "answers": 5, "correct_answers": 3,
                                        "snapshots_written": 3}
    [payload] = store.rpc_calls("write_daily_snapshots")
    first, second, fourth = payload["p_rows"]
    assert first["user_id"] == user(1)
    assert first["avg_mastery"] == pytest.approx(0.61, abs=1e-12)  # decayed as of the end of the day
    # The predictor's route, as insights scores it: math T(θ) = 0.55 → 200 + 600 · 0.55 = 530; the interval is
    # the curve's image of θ ± 1.645 SE, SE = 1/sqrt(1 + 3) = 0.5: T = 0.55 ± 0.0822 → 480.7…579.3, outward to 10.
    # Reading has 2 answers (< 5): left out, so no total and no pass probability.
    assert first["predicted_section_scores"] == {"math": {"score": 530.0, "low": 480.0, "high": 580.0}}
    assert "predicted_score" not in first
    assert first["snapshot_data"] == {"questions_answered": 3, "correct_answers": 2, "score_source": "predictor"}
    # No predictor state: no scores (null with the reason insights gives), never the mastery route's.
    assert second["user_id"] == user(2) and second["avg_mastery"] is None
    assert second["predicted_section_scores"] == {} and "predicted_score" not in second
    assert second["snapshot_data"] == {"questions_answered": 1, "correct_answers": 0, "score_source": "predictor"}
    # Both sections scored: the total is their sum (530 + 620) on the summed curve 1150 + 120 Δ, whose interval is
    # 1150 ± 120 · 0.822 outward to 10; its pass probability against 1200 is P(θ_true ≥ θ + 50/120), SE 0.5.
    assert fourth["predicted_section_scores"] == {"math": {"score": 530.0, "low": 480.0, "high": 580.0},
                                                  "reading_writing": {"score": 620.0, "low": 570.0, "high": 670.0}}
    assert (fourth["predicted_score"], fourth["predicted_score_low"], fourth["predicted_score_high"]) == (
        1150.0, 1050.0, 1250.0)
    assert fourth["snapshot_data"]["cut_score"] == 1200.0
    assert fourth["snapshot_data"]["pass_probability"] == pytest.approx(
        NormalDist().cdf(-(1200.0 - 1150.0) / 120.0 / 0.5), abs=1e-9)


# --- orchestration ----------------------------------------------------------------------------------


AGGREGATES_DONE = AGGREGATE_COUNTS | {"learners_recomputed": 0, "incremental": 0, "cohort_learners_counted": 0,
                                      "cohort_stats_rows": COHORT_STATS_ROWS}


def test_steps_run_in_fixed_order_each_with_its_own_rpc() -> None:
    store = FakeServiceStore({})
    response = run(store, steps=["partitions", "retention", "aggregates"])
    assert [(s.step, s.status, s.counts) for s in response.steps] == [
        ("aggregates", "done", AGGREGATES_DONE),
        ("retention", "done", {"partitions_dropped": 1, "events_deleted": 3, "sessions_abandoned": 0}),
        ("partitions", "done", {"partitions_created": 1, "future_months": 12}),
    ]
    assert [name for name, _ in store.calls] == [
        "begin_maintenance_step", "refresh_aggregates_slice", "cohort_bins_slice", "refresh_cohort_stats",
        "finish_maintenance_step", "begin_maintenance_step", "apply_retention", "abandon_idle_sessions",
        "finish_maintenance_step",
        "begin_maintenance_step", "extend_learning_event_partitions", "finish_maintenance_step"]
    assert store.rpc_calls("extend_learning_event_partitions") == [{"p_run_date": "2026-11-22"}]


def test_retention_abandons_idle_sessions_in_slices_until_done() -> None:
    sessions = [{"status": status, "idle": idle} for status, idle in
                [("active", True)] * 5 + [("active", False), ("completed", True), ("abandoned", True)]]
    store = FakeServiceStore({"practice_sessions": sessions})
    response = run(store, steps=["retention"], config=MaintenanceConfig(abandon_sessions=2, session_idle_hours=36))
    assert response.steps[0].counts["sessions_abandoned"] == 5
    assert store.rpc_calls("abandon_idle_sessions") == [
        {"p_run_date": "2026-11-22", "p_idle_hours": 36, "p_max_rows": 2}] * 3
    assert [s["status"] for s in store.tables["practice_sessions"]] == \
        ["abandoned"] * 5 + ["active", "completed", "abandoned"]
    with pytest.raises(ValueError, match="session_idle_hours"):
        MaintenanceConfig(session_idle_hours=0)


def test_run_date_defaults_to_the_previous_utc_day() -> None:
    store = FakeServiceStore({})
    evening_in_utc = datetime.fromisoformat("2026-11-23T00:30:00+02:00")  # 22:30 UTC on the 22nd
    response = run(store, steps=["aggregates"], run_date=None, now=evening_in_utc)
    assert response.run_date == date(2026, 11, 21)
    assert store.rpc_calls("refresh_aggregates_slice") == [
        {"p_run_date": "2026-11-21", "p_after_user": None, "p_max_users": 2000}]


def full_world() -> dict[str, list[Row]]:
    rng = np.random.default_rng(5)
    answers = [answer_row(user(u), q, correct=bool(rng.random() < 0.6),
                          at=DAY_START + timedelta(minutes=7 * u + q)) for u in range(1, 13) for q in range(1, 5)]
    return {
        **CONTENT,
        "questions": [{"id": q, "question_type": "numeric", "exam_section": "math", "options": None}
                      for q in range(1, 5)],
        "question_skills": [{"question_id": q, "skill_id": 1 + q % 3} for q in range(1, 5)],
        "session_questions": answers,
        "user_skill_mastery": decay_table(),
    }


def test_a_second_run_for_the_same_date_changes_nothing() -> None:
    store = FakeServiceStore(full_world())
    first = run(store, config=MaintenanceConfig(bkt_min_observations=1, irt_min_responses=1))
    assert [s.status for s in first.steps] == ["done"] * 8
    assert {s.step: s.counts for s in first.steps}["decay"]["rows_changed"] == 2
    tables, calls = copy.deepcopy(store.tables), len(store.calls)
    second = run(store, config=MaintenanceConfig(bkt_min_observations=1, irt_min_responses=1))
    assert [(s.step, s.status, s.seconds) for s in second.steps] == [(s.step, "skipped", 0.0) for s in first.steps]
    assert [s.counts for s in second.steps] == [s.counts for s in first.steps]
    assert store.tables == tables
    assert [name for name, _ in store.calls[calls:]] == ["begin_maintenance_step"] * 8  # bookkeeping only


def test_only_the_steps_not_yet_recorded_run() -> None:
    store = FakeServiceStore({**full_world(), "maintenance_runs": [
        {"run_date": "2026-11-22", "step": "decay", "status": "done", "counts": {"rows_scanned": 9, "rows_changed": 1},
         "runs": 1},
        {"run_date": "2026-11-21", "step": "aggregates", "status": "done", "counts": {}, "runs": 1},  # another date
    ]})
    response = run(store, steps=["decay", "aggregates"])
    assert [(s.step, s.status, s.counts) for s in response.steps] == [
        ("decay", "skipped", {"rows_scanned": 9, "rows_changed": 1}),
        ("aggregates", "done", AGGREGATES_DONE | {"learners_recomputed": 2, "cohort_learners_counted": 2})]
    assert store.rpc_calls("apply_decay") == []


# --- BKT refit --------------------------------------------------------------------------------------


TRUE_BKT = BKTParams(p_init=0.3, p_learn=0.15, p_guess=0.2, p_slip=0.1, p_forget=0.02)


def bkt_world(*, n_learners: int, n_opportunities: int, seed: int) -> tuple[dict[str, list[Row]], Any]:
    """Learner i answers question 100 + t at opportunity t (all tagged with skill 1) on the run date."""
    simulation = simulate_bkt_sequences(params=[TRUE_BKT], n_learners=n_learners, n_opportunities=n_opportunities,
                                        rng=np.random.default_rng(seed))
    answers = [answer_row(user(i + 1), 100 + t, correct=bool(simulation.data.responses[i, t]),
                          at=DAY_START + timedelta(minutes=t)) for i in range(n_learners)
               for t in range(n_opportunities)]
    tags = [{"question_id": 100 + t, "skill_id": 1} for t in range(n_opportunities)]
    return {"session_questions": answers, "question_skills": tags}, simulation


def test_bkt_refit_fits_exactly_the_sequences_of_the_window() -> None:
    world, simulation = bkt_world(n_learners=300, n_opportunities=8, seed=3)
    world["session_questions"].append(answer_row(user(1), 100, correct=False, at=DAY_END - timedelta(days=91)))
    store = FakeServiceStore(world)
    response = run(store, steps=["bkt_refit"])
    [payload] = store.rpc_calls("upsert_bkt_params")
    [row] = payload["p_rows"]
    direct = bkt_em.fit_bkt(data=simulation.data, rng=np.random.default_rng(RUN_DATE.toordinal())).params[0]
    for name in ("p_init", "p_learn", "p_guess", "p_slip", "p_forget"):
        assert row[name] == pytest.approx(getattr(direct, name), abs=1e-6), name
        assert abs(row[name] - getattr(TRUE_BKT, name)) <= 0.08, name  # recovery from 2400 answers
    assert (row["skill_id"], row["n_obs"], row["fitted_at"]) == (1, 2400, NOW.isoformat())
    assert response.steps[0].counts == {"attempts_read": 2400, "learners": 300, "skills_fitted": 1,
                                        "skills_converged": 1, "observations": 2400, "read_capped": 0,
                                       "answers_without_evidence": 0}


def test_bkt_refit_attributes_each_skill_of_a_question_and_needs_enough_observations() -> None:
    answers = [answer_row(user(u), 1, correct=u % 2 == 0, at=DAY_START) for u in range(1, 151)]  # skills 2 and 3
    answers += [answer_row(user(u), 2, correct=u % 3 == 0, at=DAY_START + timedelta(hours=1))
                for u in range(1, 61)]  # skill 3 only
    tags = [{"question_id": 1, "skill_id": 2}, {"question_id": 1, "skill_id": 3}, {"question_id": 2, "skill_id": 3}]
    store = FakeServiceStore({"session_questions": answers, "question_skills": tags})
    response = run(store, steps=["bkt_refit"])
    [payload] = store.rpc_calls("upsert_bkt_params")
    assert [(r["skill_id"], r["n_obs"]) for r in payload["p_rows"]] == [(3, 210)]  # skill 2: 150 < 200
    assert response.steps[0].counts["observations"] == 210


def test_bkt_training_batches_split_skills_by_answer_budget_and_pack_without_padding() -> None:
    # skill 5: one learner with 4 answers; skill 7: two learners with 1 and 3; skill 9: one learner with 2.
    obs = SkillObservations(
        skill_id=np.array([5, 5, 5, 5, 7, 7, 7, 7, 9, 9]), correct=np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1], np.int8),
        position=np.array([0, 1, 2, 3, 0, 0, 1, 2, 0, 1]), sequence=np.array([0, 0, 0, 0, 1, 2, 2, 2, 3, 3]))
    batches = bkt_training_batches(obs, min_observations=2, cell_budget=9)  # 5+7 = 8 answers, +9 would be 10
    assert [(skills.tolist(), data.n_sequences, data.n_cells) for skills, data in batches] == [
        ([5, 7], 3, 8), ([9], 1, 2)]
    _, data = batches[0]
    # Longest first (skill 5's learner: 4, skill 7's second learner: 3, its first: 1), time-major, no padding.
    assert data.batch_sizes.tolist() == [3, 2, 2, 1] and data.skill_index.tolist() == [0, 1, 1]
    assert data.correct.astype(int).tolist() == [1, 1, 0, 0, 1, 1, 0, 1]
    assert data.source.tolist() == [0, 2, 1]
    budget_of_one = bkt_training_batches(obs, min_observations=2, cell_budget=1)  # too small: one skill per call
    assert [skills.tolist() for skills, _ in budget_of_one] == [[5], [7], [9]]


def test_skill_observations_order_by_time_per_learner_and_keep_the_first_opportunities() -> None:
    later, earlier = DAY_START + timedelta(hours=2), DAY_START
    attempts = AttemptLog(
        learner=np.array([0, 0, 0, 1]), question_id=np.array([1, 2, 1, 2]), correct=np.array([1, 0, 0, 1], np.int8),
        answered_epoch=np.array([t.timestamp() for t in (later, earlier, later + timedelta(hours=1), earlier)]),
        n_learners=2, capped=False)
    tags = [{"question_id": 1, "skill_id": 4}, {"question_id": 2, "skill_id": 4}, {"question_id": 2, "skill_id": 8}]
    obs = skill_observations(attempts=attempts, question_skills=tags, max_length=2)
    # skill 4, learner 0: q2 (wrong) then q1 (right) [q1 again is the 3rd: cut]; learner 1: q2; skill 8: q2 twice
    assert obs.skill_id.tolist() == [4, 4, 4, 8, 8]
    assert obs.correct.tolist() == [0, 1, 1, 0, 1]
    assert obs.position.tolist() == [0, 1, 0, 0, 0]
    assert obs.sequence.tolist() == [0, 0, 1, 2, 3]


def test_refit_reads_stop_at_the_row_cap() -> None:
    world, _ = bkt_world(n_learners=20, n_opportunities=5, seed=1)
    store = FakeServiceStore(world)
    response = run(store, steps=["bkt_refit"], config=MaintenanceConfig(max_attempt_rows=50, attempt_page_rows=7,
                                                                        bkt_min_observations=1))
    counts = response.steps[0].counts
    assert (counts["attempts_read"], counts["read_capped"], counts["observations"]) == (50, 1, 50)


def test_refits_without_answers_write_nothing() -> None:
    store = FakeServiceStore({"question_skills": [{"question_id": 1, "skill_id": 1}],
                              "questions": [{"id": 1, "question_type": "numeric", "exam_section": "math",
                                             "options": None}]})
    response = run(store, steps=["bkt_refit", "irt_calibration"])
    assert [s.counts for s in response.steps] == [
        {"attempts_read": 0, "learners": 0, "skills_fitted": 0, "skills_converged": 0, "observations": 0,
         "read_capped": 0, "answers_without_evidence": 0},
        {"attempts_read": 0, "responses": 0, "learners": 0, "items_calibrated": 0, "items_converged": 0,
         "read_capped": 0, "answers_without_evidence": 0}]
    assert [name for name, _ in store.calls] == [  # one read of the answers serves both refits
        "begin_maintenance_step", "attempt_log_page", "finish_maintenance_step",
        "begin_maintenance_step", "finish_maintenance_step"]


# --- IRT calibration --------------------------------------------------------------------------------


def test_irt_calibration_uses_first_attempts_with_evidence_and_fixes_guessing_for_multiple_choice() -> None:
    rng = np.random.default_rng(11)
    n_learners = 600
    a = np.array([1.0, 1.5, 0.8, 1.2, 1.0, 2.0])
    b = np.array([-1.0, 0.0, 1.0, -0.5, 0.5, 0.2])
    c = np.array([0.25, 0.25, 0.25, 0.0, 0.0, 0.0])  # items 1-3: four-option multiple choice
    theta = rng.normal(size=n_learners)
    responses = simulate_irt_responses(theta=theta, a=a, b=b, c=c, rng=rng)
    answers = [answer_row(user(i + 1), j + 1, correct=bool(responses[i, j]), at=DAY_START + timedelta(minutes=j))
               for i in range(n_learners) for j in range(6)]
    # Retries later the same day (always right) and an item seen by too few learners are ignored.
    answers += [answer_row(user(i + 1), 1, correct=True, at=DAY_START + timedelta(hours=5)) for i in range(100)]
    answers += [answer_row(user(i + 1), 7, correct=True, at=DAY_START) for i in range(40)]
    # A script answering every item right, a second after serving (a harvested key): no evidence, left out.
    answers += [{**answer_row(user(9999), j + 1, correct=True, at=DAY_START + timedelta(minutes=j)),
                 "served_at": iso(DAY_START + timedelta(minutes=j, seconds=-1))} for j in range(6)]
    options = [{"key": k, "text": k} for k in "ABCD"]
    questions = [{"id": q, "question_type": "multiple_choice" if q <= 3 else "numeric", "exam_section": "math",
                  "options": options if q <= 3 else None} for q in range(1, 8)]
    store = FakeServiceStore({"session_questions": answers, "questions": questions})
    response = run(store, steps=["irt_calibration"])
    [payload] = store.rpc_calls("upsert_irt_params")
    rows = payload["p_rows"]
    assert [r["question_id"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["guessing"] for r in rows] == [0.25, 0.25, 0.25, 0.0, 0.0, 0.0]
    direct = irt.calibrate_items(responses=responses.astype(np.float64), guessing=c)
    np.testing.assert_allclose([r["difficulty"] for r in rows], direct.items.difficulty, atol=1e-6)
    np.testing.assert_allclose([r["discrimination"] for r in rows], direct.items.discrimination, atol=1e-6)
    assert np.abs(np.array([r["difficulty"] for r in rows]) - b).max() < 0.45
    assert response.steps[0].counts == {"attempts_read": 3746, "responses": 3600, "learners": 600,
                                        "items_calibrated": 6, "items_converged": 6, "read_capped": 0,
                                        "answers_without_evidence": 106}  # the retries and the script


def test_irt_blocks_follow_sections_and_the_cell_budget() -> None:
    answers = [answer_row(user(u), q, correct=(u + q) % 2 == 0, at=DAY_START) for u in range(1, 61)
               for q in range(1, 6)]
    questions = [{"id": q, "question_type": "numeric", "exam_section": "math" if q <= 4 else "reading",
                  "options": None} for q in range(1, 6)]
    store = FakeServiceStore({"session_questions": answers, "questions": questions})
    run(store, steps=["irt_calibration"], config=MaintenanceConfig(irt_cell_budget=120))
    [payload] = store.rpc_calls("upsert_irt_params")
    assert [r["question_id"] for r in payload["p_rows"]] == [1, 2, 3, 4, 5]  # math in 2 blocks of 2, reading alone


def test_a_run_date_after_today_is_refused_and_touches_nothing() -> None:
    store = FakeServiceStore({"user_skill_mastery": decay_table()})
    with pytest.raises(InvalidError) as refused:
        run(store, run_date=NOW.date() + timedelta(days=1))
    assert [(f.field, f.message) for f in refused.value.fields] == [("run_date", "must not be after today (UTC)")]
    assert store.calls == []
    assert run(store, steps=["aggregates"], run_date=NOW.date()).steps[0].status == "done"  # today itself runs


# --- failures: reported per step, the rest still runs, a retry resumes -------------------------------


class FlakyDecay(FakeServiceStore):
    """apply_decay fails on its `fail_on`-th call (1-based) with a statement timeout, once."""

    def __init__(self, tables: dict[str, list[Row]], *, fail_on: int) -> None:
        super().__init__(tables)
        self.fail_on, self.decay_calls = fail_on, 0

    def _apply_decay(self, p_as_of: str, p_decay: float, p_factor: float, p_tolerance: float,
                     p_after_user: str | None, p_max_users: int) -> Row:
        self.decay_calls += 1
        if self.decay_calls == self.fail_on:
            raise APIError({"code": "57014", "message": "canceling statement due to statement timeout"})
        return super()._apply_decay(p_as_of, p_decay, p_factor, p_tolerance, p_after_user, p_max_users)


def test_a_failing_step_is_named_the_others_run_and_its_dependants_wait() -> None:
    rows = [mastery_row(user(u), 1, p=0.5, stability=2.0, last_review=DAY_END - timedelta(days=2.5))
            for u in range(1, 8)]
    store = FlakyDecay({**CONTENT, "user_skill_mastery": rows}, fail_on=2)
    with pytest.raises(UnavailableError) as failed:
        run(store, steps=["decay", "snapshots", "aggregates", "retention"], config=MaintenanceConfig(decay_users=3))
    error = failed.value
    assert (error.code, error.retryable, error.retry_after_seconds) == ("maintenance_incomplete", True, 60)
    assert [(f.field, f.message) for f in error.fields] == [
        ("steps.decay", "failed: statement_timeout"), ("steps.aggregates", "blocked: decay did not finish")]
    assert store.rpc_calls("refresh_aggregates_slice") == []  # blocked: it reads decayed mastery
    assert len(store.rpc_calls("apply_retention")) == 1  # independent steps still ran
    by_step = {r["step"]: r for r in store.tables["maintenance_runs"]}
    assert {step: r["status"] for step, r in by_step.items()} == {
        "decay": "failed", "snapshots": "done", "retention": "done"}
    assert by_step["decay"]["error_code"] == "statement_timeout"
    assert by_step["decay"]["progress"] == {"after_user": user(3), "counts": {
        "users": 3, "rows_scanned": 3, "rows_changed": 3}}

    retry = run(store, steps=["decay", "snapshots", "aggregates", "retention"], config=MaintenanceConfig(decay_users=3))
    assert [(s.step, s.status) for s in retry.steps] == [
        ("decay", "done"), ("snapshots", "skipped"), ("aggregates", "done"), ("retention", "skipped")]
    # resumed after the third learner, and the counts cover all seven learners once
    assert [c["p_after_user"] for c in store.rpc_calls("apply_decay")] == [None, user(3), user(3), user(6)]
    assert retry.steps[0].counts == {"users": 7, "rows_scanned": 7, "rows_changed": 7}
    assert [r["effective_mastery"] for r in store.tables["user_skill_mastery"]] == [
        pytest.approx(0.5 * (1 + forgetting_curve().factor * 2 / 2.0) ** forgetting_curve().decay, abs=1e-12)] * 7


class SlowAggregates(FakeServiceStore):
    """refresh_aggregates_slice outlives the statement timeout whenever a slice has more than `fits` learners
    (a busy database): the call fails whole, as a rolled-back transaction does."""

    def __init__(self, tables: dict[str, list[Row]], *, fits: int) -> None:
        super().__init__(tables)
        self.fits = fits

    def _refresh_aggregates_slice(self, p_run_date: str, p_after_user: str | None, p_max_users: int) -> Row:
        if p_max_users > self.fits:
            raise APIError({"code": "57014", "message": "canceling statement due to statement timeout"})
        return super()._refresh_aggregates_slice(p_run_date, p_after_user, p_max_users)


def test_an_aggregates_slice_that_times_out_is_tried_again_at_half_the_size() -> None:
    rows = [mastery_row(user(u), 1, p=0.5, stability=2.0, last_review=DAY_END) for u in range(1, 251)]
    store = SlowAggregates({**CONTENT, "user_skill_mastery": rows}, fits=70)
    result = run(store, steps=["aggregates"], config=MaintenanceConfig(aggregate_users=400))
    assert [(s.step, s.status) for s in result.steps] == [("aggregates", "done")]
    sizes = [c["p_max_users"] for c in store.rpc_calls("refresh_aggregates_slice")]
    # 400 → 200 → 100 → 50 (fits), then the 250 learners in slices of 50: 5 full slices and an empty last one
    assert sizes == [400, 200, 100, 50, 50, 50, 50, 50, 50]
    assert result.steps[0].counts["learners_recomputed"] == 250


def test_an_aggregates_slice_that_times_out_at_the_smallest_size_fails_the_step() -> None:
    rows = [mastery_row(user(u), 1, p=0.5, stability=2.0, last_review=DAY_END) for u in range(1, 11)]
    store = SlowAggregates({**CONTENT, "user_skill_mastery": rows}, fits=10)
    with pytest.raises(UnavailableError) as failed:
        run(store, steps=["aggregates"], config=MaintenanceConfig(aggregate_users=200))
    assert [(f.field, f.message) for f in failed.value.fields] == [("steps.aggregates", "failed: statement_timeout")]
    assert [c["p_max_users"] for c in store.rpc_calls("refresh_aggregates_slice")] == [200, 100, 50]
