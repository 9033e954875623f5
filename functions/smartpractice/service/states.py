"""Conversions between database rows (JSON) and the learner dataclasses, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from smartpractice.db.contexts import BktParamsRow
from smartpractice.learner import knowledge, memory
from smartpractice.learner.bkt import DEFAULT_BKT_PARAMS, BKTParams, FloatArray
from smartpractice.learner.elo import EloConfig
from smartpractice.learner.memory import MemoryState, new_memory_state

Row = dict[str, Any]
# A skill the learner never practised: its BKT prior and the initial Elo rating.
UNPRACTISED_MASTERY = DEFAULT_BKT_PARAMS.p_init
INITIAL_RATING = EloConfig().initial_rating


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _stability(rows: Sequence[Row]) -> FloatArray:
    return np.array([np.nan if r.get("stability") is None else float(r["stability"]) for r in rows], dtype=np.float64)


def _elapsed_days(rows: Sequence[Row], at: datetime) -> FloatArray:
    return memory.elapsed_days(last_reviews=[parse_time(r.get("last_review")) for r in rows], now=at)


def retrievability_at(rows: Sequence[Row], *, at: datetime) -> FloatArray:
    """fsrs retrievability of each mastery row at `at` (1 for a never-reviewed skill)."""
    return memory.retrievability_array(stability=_stability(rows), elapsed_days=_elapsed_days(rows, at))


def effective_mastery_at(rows: Sequence[Row], *, at: datetime) -> FloatArray:
    """Effective mastery of each mastery row at `at`, always from the undecayed BKT value."""
    return memory.effective_mastery_array(p_known=[float(r["p_mastery"]) for r in rows], stability=_stability(rows),
                                          elapsed_days=_elapsed_days(rows, at))


def bkt_params(row: BktParamsRow | None) -> BKTParams:
    if row is None:
        return DEFAULT_BKT_PARAMS
    return BKTParams(p_init=row.p_init, p_learn=row.p_learn, p_guess=row.p_guess, p_slip=row.p_slip,
                     p_forget=row.p_forget)


def memory_state(row: Row, *, now: datetime) -> MemoryState:
    due = parse_time(row.get("due"))
    if due is None:
        return new_memory_state(now=now)
    return MemoryState(
        due=due,
        state=int(row["memory_state"]) if row.get("memory_state") is not None else 1,
        step=row.get("memory_step"),
        stability=row.get("stability"),
        difficulty=row.get("difficulty"),
        last_review=parse_time(row.get("last_review")),
        reps=int(row.get("reps") or 0),
        lapses=int(row.get("lapses") or 0),
    )


def skill_state(*, skill_id: int, row: Row | None, params: BKTParams, now: datetime) -> knowledge.SkillState:
    if row is None:
        return knowledge.initial_state(skill_id=skill_id, params=params, now=now)
    return knowledge.SkillState(
        skill_id=skill_id,
        p_mastery=float(row["p_mastery"]),
        elo_rating=float(row["elo_rating"]),
        elo_count=int(row["elo_count"]),
        memory=memory_state(row, now=now),
        total_attempts=int(row["total_attempts"]),
        correct_attempts=int(row["correct_attempts"]),
        learning_velocity=float(row["learning_velocity"]),
        plateau_flag=bool(row["plateau_flag"]),
        version=int(row["version"]),
    )


def mastery_payload(change: knowledge.SkillChange) -> Row:
    """One item of record_answer's p_mastery: the new state plus the version it was computed from."""
    after = change.after
    mem = after.memory
    return {
        "skill_id": after.skill_id,
        "expected_version": change.before.version,
        "p_mastery": after.p_mastery,
        "effective_mastery": change.effective_mastery,
        "elo_rating": after.elo_rating,
        "elo_uncertainty": change.elo_uncertainty,
        "elo_count": after.elo_count,
        "stability": mem.stability,
        "difficulty": mem.difficulty,
        "memory_state": mem.state,
        "memory_step": mem.step,
        "last_review": None if mem.last_review is None else mem.last_review.isoformat(),
        "due": mem.due.isoformat(),
        "reps": mem.reps,
        "lapses": mem.lapses,
        "learning_velocity": after.learning_velocity,
        "plateau_flag": after.plateau_flag,
    }
