"""Maintenance steps over learners' mastery rows: decay and the daily snapshots.

Both evaluate effective mastery "as of the end of run_date" (learner.memory: p_mastery × R(elapsed)),
always from the undecayed BKT value, so the result does not depend on whether decay already ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smartpractice.learner.memory import forgetting_curve
from smartpractice.service import scoring
from smartpractice.service.maintenance_io import (
    KeysetReader,
    Row,
    StepContext,
    chunks,
    log_event,
    read_table,
)
from smartpractice.service.states import effective_mastery_at

SNAPSHOT_MASTERY_COLUMNS = "user_id,skill_id,p_mastery,stability,last_review"


def run_decay(ctx: StepContext) -> dict[str, int]:
    """Forgetting as of the end of run_date, set-based in SQL (apply_decay), `decay_users` learners per call.

    The curve's constants come from learner.memory (the fsrs scheduler's parameters), so the SQL and
    the request-time numpy evaluation (states.effective_mastery_at) use the same curve.
    """
    curve = forgetting_curve()
    users = scanned = changed = 0
    after: str | None = None
    while True:
        result = ctx.store.call("apply_decay", {
            "p_run_date": ctx.run_date_iso, "p_as_of": ctx.day_end.isoformat(), "p_decay": curve.decay,
            "p_factor": curve.factor, "p_tolerance": ctx.config.decay_tolerance, "p_after_user": after,
            "p_max_users": ctx.config.decay_users})
        users += int(result["users"])
        scanned += int(result["rows_scanned"])
        changed += int(result["rows_changed"])
        log_event("maintenance decay batch", step="decay", run_date=ctx.run_date_iso, users=users,
                  rows_scanned=scanned, rows_changed=changed)
        if int(result["users"]) < ctx.config.decay_users:
            return {"users": users, "rows_scanned": scanned, "rows_changed": changed}
        after = str(result["last_user_id"])


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
        sections: dict[str, dict[str, float]] = {}
        for section, weights in sorted(content.section_weights.items()):
            prediction = scoring.predict_exam(mastery_by_skill=mastery, weights=weights)
            sections[section] = {"score": prediction.score, "low": prediction.low, "high": prediction.high}
        row["predicted_section_scores"] = sections
    return row


def _day_activity(ctx: StepContext) -> dict[str, DayActivity]:
    reader = KeysetReader(ctx.store, "session_questions", "user_id,id,is_correct", major="user_id", minor="id",
                          filters=[("answered_at", "gte", ctx.day_start.isoformat()),
                                   ("answered_at", "lt", ctx.day_end.isoformat())])
    counts: dict[str, list[int]] = {}
    while not reader.exhausted:
        for row in reader.next_page(ctx.config.read_page):
            answered_correct = counts.setdefault(str(row["user_id"]), [0, 0])
            answered_correct[0] += 1
            answered_correct[1] += int(bool(row["is_correct"]))
    return {user: DayActivity(answered=a, correct=c) for user, (a, c) in counts.items()}


def _effective_mastery_of(ctx: StepContext, user_ids: Sequence[str]) -> dict[str, dict[int, float]]:
    reader = KeysetReader(ctx.store, "user_skill_mastery", SNAPSHOT_MASTERY_COLUMNS, major="user_id",
                          minor="skill_id", filters=[("user_id", "in_", list(user_ids))])
    mastery: dict[str, dict[int, float]] = {}
    while not reader.exhausted:
        rows = reader.next_page(ctx.config.read_page)
        for row, value in zip(rows, effective_mastery_at(rows, at=ctx.day_end), strict=True):
            mastery.setdefault(str(row["user_id"]), {})[int(row["skill_id"])] = float(value)
    return mastery


def _read_exam_content(ctx: StepContext) -> ExamContent:
    page = ctx.config.read_page
    return exam_content(
        skills=read_table(ctx.store, "skills", "id,topic_id", order="id", page=page),
        topics=read_table(ctx.store, "topics", "id,subject_id,exam_weight", order="id", page=page),
        subjects=read_table(ctx.store, "subjects", "id,exam_section", order="id", page=page),
    )


def run_snapshots(ctx: StepContext) -> dict[str, int]:
    activity = _day_activity(ctx)
    content = _read_exam_content(ctx)
    written = 0
    pending: list[Row] = []

    def flush() -> int:
        if not pending:
            return 0
        count = int(ctx.store.call("write_daily_snapshots", {"p_run_date": ctx.run_date_iso, "p_rows": pending}))
        pending.clear()
        return count

    for group in chunks(sorted(activity), min(ctx.config.ids_per_filter, ctx.batch_size)):
        mastery = _effective_mastery_of(ctx, group)
        pending.extend(snapshot_row(user_id=user, mastery=mastery.get(user, {}), content=content,
                                    day=activity[user]) for user in group)
        if len(pending) >= ctx.batch_size:
            written += flush()
            log_event("maintenance snapshots batch", step="snapshots", run_date=ctx.run_date_iso,
                      snapshots_written=written)
    written += flush()
    return {
        "learners_active": len(activity),
        "answers": sum(a.answered for a in activity.values()),
        "correct_answers": sum(a.correct for a in activity.values()),
        "snapshots_written": written,
    }

