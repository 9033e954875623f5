"""Maintenance steps over learners' mastery rows: decay and the daily snapshots.

Both evaluate effective mastery "as of the end of run_date" (learner.memory: p_mastery × R(elapsed)),
always from the undecayed BKT value, so the result does not depend on whether decay already ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from smartpractice.learner import exam_scores
from smartpractice.learner.memory import effective_mastery_array, forgetting_curve
from smartpractice.service import scoring
from smartpractice.service.maintenance_io import Row, StepContext, log_event, read_table
from smartpractice.service.states import UNPRACTISED_MASTERY


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
class ExamContent:
    weights: dict[int, float]  # whole exam, per skill
    section_weights: dict[str, dict[int, float]]  # per exam section


def exam_content(*, skills: list[Row], topics: list[Row], subjects: list[Row]) -> ExamContent:
    weights = scoring.skill_weights(skills=skills, topics=topics)
    subject_of_topic = {int(t["id"]): int(t["subject_id"]) for t in topics}
    section_of_subject = {int(s["id"]): str(s["exam_section"]) for s in subjects}
    sections: dict[str, dict[int, float]] = {}
    for skill in skills:
        subject = subject_of_topic.get(int(skill["topic_id"]))
        section = section_of_subject.get(subject) if subject is not None else None
        if section is not None:
            sections.setdefault(section, {})[int(skill["id"])] = weights[int(skill["id"])]
    for section, section_weights in sections.items():
        if sum(section_weights.values()) <= 0.0:  # a section without exam weights: skills count the same
            sections[section] = dict.fromkeys(section_weights, 1.0)
    return ExamContent(weights=weights, section_weights=sections)


@dataclass(frozen=True, slots=True)
class DayActivity:
    answered: int
    correct: int


def snapshot_row(*, user_id: str, mastery: dict[int, float], content: ExamContent, day: DayActivity) -> Row:
    """One write_daily_snapshots item (the SQL recounts the day's answers itself; ours go in snapshot_data)."""
    row: Row = {
        "user_id": user_id,
        "avg_mastery": (sum(mastery.values()) / len(mastery)) if mastery else None,
        "snapshot_data": {"questions_answered": day.answered, "correct_answers": day.correct,
                          "cut_score": scoring.CUT_SCORE},
    }
    if content.weights:
        overall = scoring.predict_exam(mastery_by_skill=mastery, weights=content.weights)
        row |= {"predicted_score": overall.score, "predicted_score_low": overall.low,
                "predicted_score_high": overall.high}
        row["snapshot_data"]["pass_probability"] = overall.pass_probability
        row["predicted_section_scores"] = section_scores(mastery=mastery, content=content)
    return row


def section_scores(*, mastery: dict[int, float], content: ExamContent) -> dict[str, dict[str, float | None]]:
    """Per exam section, the score insights and complete_session give (exam_scores.predict_section_scores: a
    skill never practised at its prior; a section without any answers has no score and is left out), so the
    growth series drawn from these snapshots agrees with the readiness beside it."""
    cells = [(section, skill, weight) for section, weights in sorted(content.section_weights.items())
             for skill, weight in sorted(weights.items())]
    if not cells:
        return {}
    scores = exam_scores.predict_section_scores(
        section_of_skill=[section for section, _, _ in cells],
        mastery=[min(1.0, max(0.0, mastery.get(skill, UNPRACTISED_MASTERY))) for _, skill, _ in cells],
        practised=[skill in mastery for _, skill, _ in cells],
        exam_weight=[weight for _, _, weight in cells], sections=sorted(content.section_weights))
    return {s.section: {"score": s.score, "low": s.lower, "high": s.upper} for s in scores.sections
            if s.score is not None}


def _read_exam_content(ctx: StepContext) -> ExamContent:
    page = ctx.config.read_page
    return exam_content(
        skills=read_table(ctx.store, "skills", "id,topic_id", order="id", page=page),
        topics=read_table(ctx.store, "topics", "id,subject_id,exam_weight", order="id", page=page),
        subjects=read_table(ctx.store, "subjects", "id,exam_section", order="id", page=page),
    )


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

    The inputs come from snapshot_inputs (the day's counts and every mastery row, cursor in the POST
    body); the predicted scores are computed here, where their definition lives (service.scoring). A
    page is never taken as the last because it is short: the walk ends on an empty one.
    """
    content = _read_exam_content(ctx)
    after, counts = ctx.resume(("learners_active", "answers", "correct_answers", "snapshots_written"))
    while True:
        page = ctx.store.call("snapshot_inputs", {"p_run_date": ctx.run_date_iso, "p_after_user": after,
                                                  "p_max_users": ctx.config.snapshot_users}) or []
        if not page:
            return counts
        rows = [snapshot_row(user_id=str(item["user_id"]), mastery=_mastery_at_day_end(ctx, item["mastery"]),
                             content=content, day=DayActivity(answered=int(item["answered"]),
                                                              correct=int(item["correct"])))
                for item in page]
        written = int(ctx.store.call("write_daily_snapshots", {"p_run_date": ctx.run_date_iso, "p_rows": rows}))
        counts["learners_active"] += len(page)
        counts["answers"] += sum(int(item["answered"]) for item in page)
        counts["correct_answers"] += sum(int(item["correct"]) for item in page)
        counts["snapshots_written"] += written
        after = str(page[-1]["user_id"])
        log_event("maintenance snapshots batch", step="snapshots", run_date=ctx.run_date_iso, **counts)
        ctx.save_progress({"after_user": after, "counts": counts})  # only an empty page ends the walk
