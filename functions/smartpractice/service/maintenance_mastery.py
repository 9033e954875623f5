"""Maintenance steps over learners' mastery rows: decay and the daily snapshots.

Both evaluate effective mastery "as of the end of run_date" (learner.memory: p_mastery × R(elapsed)),
always from the undecayed BKT value, so the result does not depend on whether decay already ran. The
snapshots' predicted scores are the production predictor's (`snapshot_row`), as insights reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from smartpractice.db.contexts import PredictorScoresRead
from smartpractice.learner import predictor_scores as pscores
from smartpractice.learner.memory import effective_mastery_array, forgetting_curve
from smartpractice.service import insights_numbers as numbers
from smartpractice.service.goals import DEFAULT_SECTION_TARGET
from smartpractice.service.maintenance_io import Row, StepContext, log_event

# The default goal's total (goals.py: both sections at their default target), what a snapshot's pass probability
# is against.
TOTAL_TARGET = float(DEFAULT_SECTION_TARGET * len(pscores.SAT_SECTIONS))


def run_decay(ctx: StepContext) -> dict[str, int]:
    """Forgetting as of the end of run_date, set-based in SQL (apply_decay), `decay_users` learners per call.

    The curve's constants come from learner.memory (the fsrs scheduler's parameters), so the SQL and
    the request-time numpy evaluation (states.effective_mastery_at) use the same curve. After each call
    the resume point is saved: a retry after a failure continues with the next learners.
    """
    curve = forgetting_curve()
    after, counts = ctx.resume(("users", "rows_scanned", "rows_changed"))
    while True:
        result = ctx.store.call("apply_decay", {
            "p_as_of": ctx.day_end.isoformat(), "p_decay": curve.decay,
            "p_factor": curve.factor, "p_tolerance": ctx.config.decay_tolerance, "p_after_user": after,
            "p_max_users": ctx.config.decay_users})
        for key in counts:
            counts[key] += int(result[key])
        log_event("maintenance decay batch", step="decay", run_date=ctx.run_date_iso, **counts)
        if int(result["users"]) < ctx.config.decay_users:
            return counts
        after = str(result["last_user_id"])
        ctx.save_progress({"after_user": after, "counts": counts})


# --- daily snapshots --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayActivity:
    answered: int
    correct: int


def snapshot_row(*, user_id: str, mastery: dict[int, float], predictor_block: Row | None, day: DayActivity) -> Row:
    """One write_daily_snapshots item (the SQL recounts the day's answers itself; ours go in snapshot_data).

    The predicted scores are the production predictor's, computed by insights' own code
    (`insights_numbers.predictor_section_scores`) from the learner's predictor block (snapshot_inputs ->
    private.predictor_score_inputs_of, the body insights_context reads): the growth series and readiness beside it
    show one model's numbers. Every section of the bank is scored (the learner's goal is not the snapshot's
    business; insights picks the prepared ones); a section without a score (under MIN_SECTION_ANSWERS answers, no
    predictor state) is left out; the total (SAT 400–1600) and its pass probability against the default target
    (600 a section) only when both sections are scored. `avg_mastery` stays BKT's mean effective mastery, its
    own number.
    """
    read = PredictorScoresRead.model_validate(predictor_block or {})
    sections = tuple(sorted({s.section for s in read.sections}))
    row: Row = {
        "user_id": user_id,
        "avg_mastery": (sum(mastery.values()) / len(mastery)) if mastery else None,
        "snapshot_data": {"questions_answered": day.answered, "correct_answers": day.correct,
                          "score_source": "predictor"},
        "predicted_section_scores": {},
    }
    if not sections:
        return row
    scores = numbers.predictor_section_scores(read=read, sections=sections)
    row["predicted_section_scores"] = numbers.stored_section_scores(scores)
    if scores.total is not None and scores.total_curve is not None:
        row |= {"predicted_score": scores.total, "predicted_score_low": scores.total_lower,
                "predicted_score_high": scores.total_upper}
        row["snapshot_data"] |= {"cut_score": TOTAL_TARGET, "pass_probability": pscores.pass_probability(
            curve=scores.total_curve, target=TOTAL_TARGET)}
    return row


def _mastery_at_day_end(ctx: StepContext, rows: list[list[Any]]) -> dict[int, float]:
    """Effective mastery per skill as of the end of run_date, from [skill_id, p_mastery, stability, epoch]."""
    if not rows:
        return {}
    skills = [int(r[0]) for r in rows]
    last_review = np.array([np.nan if r[3] is None else float(r[3]) for r in rows], dtype=np.float64)
    values = effective_mastery_array(
        p_known=[float(r[1]) for r in rows],
        stability=np.array([np.nan if r[2] is None else float(r[2]) for r in rows], dtype=np.float64),
        elapsed_days=(ctx.day_end.timestamp() - last_review) / 86_400.0)
    return {skill: float(value) for skill, value in zip(skills, values, strict=True)}


def run_snapshots(ctx: StepContext) -> dict[str, int]:
    """One daily snapshot per learner active on run_date, `snapshot_users` learners per page.

    The inputs come from snapshot_inputs (the day's counts, every mastery row and the learner's predictor block,
    cursor in the POST body); the predicted scores are computed here by insights' code (`snapshot_row`). The
    predictor state read is the one at run time: a run after midnight also sees the next day's first answers
    (the mastery is evaluated as of the end of run_date). A page is never taken as the last because it is short:
    the walk ends on an empty one.
    """
    after, counts = ctx.resume(("learners_active", "answers", "correct_answers", "snapshots_written"))
    while True:
        page = ctx.store.call("snapshot_inputs", {"p_run_date": ctx.run_date_iso, "p_after_user": after,
                                                  "p_max_users": ctx.config.snapshot_users}) or []
        if not page:
            return counts
        rows = [snapshot_row(user_id=str(item["user_id"]), mastery=_mastery_at_day_end(ctx, item["mastery"]),
                             predictor_block=item.get("predictor"),
                             day=DayActivity(answered=int(item["answered"]), correct=int(item["correct"])))
                for item in page]
        written = int(ctx.store.call("write_daily_snapshots", {"p_run_date": ctx.run_date_iso, "p_rows": rows}))
        counts["learners_active"] += len(page)
        counts["answers"] += sum(int(item["answered"]) for item in page)
        counts["correct_answers"] += sum(int(item["correct"]) for item in page)
        counts["snapshots_written"] += written
        after = str(page[-1]["user_id"])
        log_event("maintenance snapshots batch", step="snapshots", run_date=ctx.run_date_iso, **counts)
        ctx.save_progress({"after_user": after, "counts": counts})  # only an empty page ends the walk
