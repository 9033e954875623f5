"""insights: one call for the learner's dashboard, computed from the learner's own rows (RLS) and
the k-anonymous cohort distribution. All math lives in learner/; this module gathers and shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

from smartpractice.db.contexts import SkillRow
from smartpractice.learner import alerts, calibration, gaps
from smartpractice.learner.insights import (
    accuracy_by_time_of_day,
    percentile_from_breakpoints,
    session_length_stats,
)
from smartpractice.learner.series import local_days_and_hours
from smartpractice.service import insights_numbers as numbers
from smartpractice.service import scoring
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.goals import Goals, goals_from_profile
from smartpractice.service.insights_history import history_view
from smartpractice.service.models_requests import InsightsRequest
from smartpractice.service.models_responses import (
    Alert,
    ConfidenceBucket,
    ConfidenceCalibration,
    GoalsOut,
    GrowthSeries,
    InsightsResponse,
    KnowledgeGap,
    PeerPercentile,
    Readiness,
    SkillHighlight,
    SkillMastery,
    StudyPatterns,
)
from smartpractice.service.states import effective_mastery_at, parse_time

Row = dict[str, Any]
HIGHLIGHTS = 3
MIN_ANSWERS_TO_RANK = 3
_RECOMMENDATIONS = {
    gaps.GapSeverity.CRITICAL: "Start here: review the fundamentals, then practise easier questions on this skill.",
    gaps.GapSeverity.HIGH: "Schedule focused practice on this skill in your next sessions.",
    gaps.GapSeverity.MEDIUM: "Mix a few questions on this skill into your practice.",
    gaps.GapSeverity.LOW: "Keep it fresh with occasional review.",
}


def _effective_now(rows: list[Row], now: datetime) -> dict[int, float]:
    if not rows:
        return {}
    values = effective_mastery_at(rows, at=now)
    return {int(r["skill_id"]): float(v) for r, v in zip(rows, values, strict=True)}


@dataclass(frozen=True, slots=True)
class Attempts:
    """The window's answers as aligned arrays (insights_context sends them columnar), oldest first."""

    session_ids: tuple[str, ...]
    correct: npt.NDArray[np.bool_]
    confidence: npt.NDArray[np.int64]
    answered_epoch: npt.NDArray[np.float64]
    skill_ids: tuple[tuple[int, ...], ...]

    @classmethod
    def from_columns(cls, columns: Row, answers: numbers.AnswerColumns) -> Attempts:
        """The columns `answers` (numbers.AnswerColumns, the same columns) has not already parsed."""
        return cls(session_ids=answers.session_ids, correct=answers.correct,
                   confidence=np.array(columns["confidence_score"], dtype=np.int64),
                   answered_epoch=np.array(columns["answered_epoch"], dtype=np.float64),
                   skill_ids=tuple(tuple(map(int, ks)) for ks in columns["skill_ids"]))

    def __len__(self) -> int:
        return int(self.correct.shape[0])


def insights(*, user_id: UUID, body: InsightsRequest, deps: LearnerDeps) -> InsightsResponse:
    now, days = deps.now, body.days
    since = (now - timedelta(days=days)).isoformat()
    context = deps.learner.insights_context(since, now.isoformat())
    rows: list[Row] = context.mastery
    goals = goals_from_profile(context.profile)
    history = history_view(context, now=now, days=days, zone=goals.zone)
    content = numbers.Content(skills={s.id: s for s in context.skills}, topics={t.id: t for t in context.topics},
                              weights=scoring.skill_weights(skills=context.skills, topics=context.topics))
    effective = _effective_now(rows, now)
    answers = numbers.AnswerColumns.from_columns(context.attempts)
    attempts = Attempts.from_columns(context.attempts, answers)
    levels = numbers.levels_out(answers=answers, skill_ids=attempts.skill_ids, content=content)
    # each answer's local day (growth series) and hour (study patterns), each time converted once
    answer_days, answer_hours = local_days_and_hours(epoch_s=attempts.answered_epoch, zone=goals.zone)
    by_session = numbers.session_accuracy(session_ids=attempts.session_ids, correct=attempts.correct)
    skill_level = {lv.id: lv.level for lv in levels.skills}

    mastery_out: list[SkillMastery] = []
    velocities: list[float] = []
    for row in rows:
        sid = int(row["skill_id"])
        skill_velocity, plateau = history.trend_of(sid)
        if skill_velocity.per_day is not None:
            velocities.append(skill_velocity.per_day)
        skill = content.skills.get(sid)
        topic = content.topics.get(skill.topic_id) if skill else None
        mastery_out.append(SkillMastery(
            skill_id=sid, skill_name=skill.name if skill else str(sid), topic=topic.name if topic else None,
            effective_mastery=effective[sid], p_mastery=float(row["p_mastery"]), level=skill_level.get(sid),
            trend=None if skill_velocity.trend is None else skill_velocity.trend.value,
            velocity=skill_velocity.per_day, velocity_reason=skill_velocity.reason,
            plateau=plateau.is_plateau or bool(row["plateau_flag"]), next_review_at=parse_time(row.get("due"))))
    # Cold start: "strongest"/"weakest" only among skills with enough answers to say so.
    known = {int(r["skill_id"]) for r in rows if int(r["total_attempts"]) >= MIN_ANSWERS_TO_RANK}
    ranked = sorted((m for m in mastery_out if m.skill_id in known), key=lambda m: m.effective_mastery)
    highlight = [SkillHighlight(skill_id=m.skill_id, skill_name=m.skill_name, effective_mastery=m.effective_mastery)
                 for m in ranked]
    # A skill is never both strongest and weakest: with few ranked skills each list takes half of them.
    per_list = min(HIGHLIGHTS, len(highlight) // 2)
    velocity = float(np.mean(velocities)) if velocities else None
    scores = numbers.predictor_section_scores(read=context.predictor_scores, sections=goals.sections)
    scope = numbers.scoped_predictor(scores, goals)
    points = numbers.score_points_per_day(snapshots=context.snapshots, scope=scope, goals=goals, now=now)
    readiness = numbers.readiness_out(scope=scope, points_per_day=points, goals=goals, now=now, reason=None)
    peer = _peer(rows, context.cohort)
    first_snapshot = context.snapshots[0] if context.snapshots else None
    mean_now = float(np.mean(list(effective.values()))) if effective else None
    gain = None if first_snapshot is None or first_snapshot.get("avg_mastery") is None or mean_now is None \
        else mean_now - float(first_snapshot["avg_mastery"])
    days_out, topics_out = numbers.growth_series(
        now=now, days=days, goals=goals, answers=answers, answer_days=answer_days,
        history=history, snapshots=context.snapshots, content=content)

    return InsightsResponse(
        window_days=days, goals=_goals_out(goals, now), mastery=mastery_out,
        strongest=highlight[::-1][:per_list], weakest=highlight[:per_list], learning_velocity=velocity,
        knowledge_gaps=_gaps(context.gaps, content.skills),
        knowledge_gaps_as_of=max((parse_time(g.get("updated_at")) for g in context.gaps), default=None,
                                 key=lambda t: t.timestamp() if t else 0.0),
        confidence_calibration=_calibration(attempts),
        study_patterns=_patterns(attempts, answer_hours, context.sessions, goals),
        predicted_scores=numbers.predictor_scores_out(scores), readiness=readiness,
        performance=numbers.performance_out(answers, mastery_gain=gain, accuracy_by_session=by_session),
        speed=numbers.speed_out(answers),
        accuracy_by_difficulty=numbers.bands_out(answers), levels=levels,
        series=GrowthSeries(days=days_out, topics=topics_out),
        peer_percentile=peer,
        alerts=_alerts(attempts, now, session_accuracy=by_session, readiness=readiness,
                       previous_pass=numbers.previous_pass_probability(context.snapshots, goals,
                                                                        source=scope.source),
                       previous_percentile=_snapshot_percentile(first_snapshot, context.cohort),
                       current_percentile=peer.percentile),
    )


def _goals_out(goals: Goals, now: datetime) -> GoalsOut:
    return GoalsOut(exam=goals.exam, sections=list(goals.sections), section_targets=goals.section_targets,
                    total_target=goals.total_target, exam_date=goals.exam_date, days_left=goals.days_left(now),
                    time_zone=goals.time_zone, defaulted=list(goals.defaulted))


def _gaps(rows: list[Row], skills: dict[int, SkillRow]) -> list[KnowledgeGap]:
    """The nightly table's top open rows, as they are: one gap engine (private.knowledge_gap_scores)."""
    out = []
    for row in rows:
        sid, severity = int(row["skill_id"]), gaps.GapSeverity(str(row["severity"]))
        out.append(KnowledgeGap(skill_id=sid, skill_name=skills[sid].name if sid in skills else str(sid),
                                severity=severity.value,
                                priority=float(row["priority_score"]), recommendation=_RECOMMENDATIONS[severity]))
    return out


def _calibration(attempts: Attempts) -> ConfidenceCalibration:
    result = calibration.confidence_calibration(confidence=attempts.confidence.tolist(),
                                                correct=attempts.correct.tolist())
    return ConfidenceCalibration(
        brier=result.brier_score, calibration_error=result.calibration_error,
        overconfident=result.label == calibration.CalibrationLabel.OVERCONFIDENT,
        underconfident=result.label == calibration.CalibrationLabel.UNDERCONFIDENT,
        by_confidence=[ConfidenceBucket(confidence=lv.level, answered=lv.answers, accuracy=lv.accuracy)
                       for lv in result.levels])


def _patterns(attempts: Attempts, hours: list[int], sessions: list[Row], goals: Goals) -> StudyPatterns:
    """``hours``: each answer's local hour in the learner's zone (series.local_days_and_hours)."""
    by_time = accuracy_by_time_of_day(local_hours=hours, correct=attempts.correct.tolist())
    durations = [(end - start).total_seconds() / 60.0 for s in sessions
                 if (start := parse_time(s.get("started_at"))) and (end := parse_time(s.get("ended_at")))]
    lengths = session_length_stats(durations_minutes=durations) if durations else None
    return StudyPatterns(
        accuracy_by_hour_bucket={b.name: b.accuracy for b in by_time.buckets if b.accuracy is not None},
        avg_session_minutes=None if lengths is None else lengths.mean_minutes, sessions=len(sessions),
        time_zone=goals.time_zone)


BREAKPOINTS = ("p10", "p25", "p50", "p75", "p90")


def _released(cohort: list[Row]) -> Row | None:
    """The nightly release's overall row when it carries figures (cohort_mastery_distribution always answers
    one row; its figures are null with a withheld_reason when nothing may be shown)."""
    row = cohort[0] if cohort else None
    return row if row is not None and row.get("withheld_reason") is None and row.get("p50") is not None else None


def _peer(rows: list[Row], cohort: list[Row]) -> PeerPercentile:
    row = _released(cohort)
    released_on = cohort[0].get("released_on") if cohort else None
    if row is None:
        reason = str(cohort[0].get("withheld_reason") or "not_yet_released") if cohort else "not_yet_released"
        return PeerPercentile.model_validate({"percentile": None, "cohort_size": 0, "k_anonymous": False,
                                              "released_on": released_on, "withheld_reason": reason})
    size = int(row["learners"])
    if not rows:
        return PeerPercentile(percentile=None, cohort_size=size, k_anonymous=True, released_on=released_on,
                              withheld_reason="no_mastery")
    mine = float(np.mean([float(r["effective_mastery"]) for r in rows]))
    return PeerPercentile(percentile=percentile_from_breakpoints(
        value=mine, breakpoints=[float(row[k]) for k in BREAKPOINTS]),
                          cohort_size=size, k_anonymous=True, released_on=released_on)


def _snapshot_percentile(snapshot: Row | None, cohort: list[Row]) -> float | None:
    """The window's first nightly mean mastery placed in today's release (None without either)."""
    row = _released(cohort)
    if snapshot is None or snapshot.get("avg_mastery") is None or row is None:
        return None
    return percentile_from_breakpoints(value=float(snapshot["avg_mastery"]),
                                       breakpoints=[float(row[k]) for k in BREAKPOINTS])


def _alerts(attempts: Attempts, now: datetime, *, session_accuracy: list[float], readiness: Readiness,
            previous_pass: float | None, previous_percentile: float | None,
            current_percentile: float | None) -> list[Alert]:
    """``session_accuracy``: numbers.session_accuracy of the same answers."""
    correct = attempts.correct.tolist()
    half = len(correct) // 2
    found = [
        alerts.performance_drop_alert(session_accuracy=session_accuracy, now=now),
        alerts.streak_break_alert(answers_correct=correct, now=now),
        alerts.milestone_alert(previous_accuracy=float(np.mean(correct[:half])),
                               current_accuracy=float(np.mean(correct[half:])), now=now) if half >= 5 else None,
        alerts.exam_readiness_alert(previous_pass_probability=previous_pass,
                                    current_pass_probability=readiness.pass_probability, now=now)
        if previous_pass is not None and readiness.pass_probability is not None else None,
        alerts.percentile_change_alert(previous_percentile=previous_percentile, current_percentile=current_percentile,
                                       now=now),
    ]
    return [Alert(type=a.kind.value, severity=a.urgency.value, message=a.message)
            for a in found if a is not None]
