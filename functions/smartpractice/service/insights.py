"""insights: one call for the learner's dashboard, computed from the learner's own rows (RLS) and
the k-anonymous cohort distribution. All math lives in learner/; this module gathers and shapes."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

from smartpractice.db.contexts import SkillRow
from smartpractice.learner import alerts, calibration, gaps, performance, readiness, trends
from smartpractice.learner.insights import (
    accuracy_by_time_of_day,
    percentile_from_breakpoints,
    session_length_stats,
)
from smartpractice.service import scoring
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.models_requests import InsightsRequest
from smartpractice.service.models_responses import (
    Alert,
    ConfidenceBucket,
    ConfidenceCalibration,
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
MAX_GAPS = 5
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
    def from_columns(cls, columns: Row) -> Attempts:
        return cls(session_ids=tuple(str(s) for s in columns["session_id"]),
                   correct=np.array(columns["is_correct"], dtype=bool),
                   confidence=np.array(columns["confidence_score"], dtype=np.int64),
                   answered_epoch=np.array(columns["answered_epoch"], dtype=np.float64),
                   skill_ids=tuple(tuple(int(k) for k in ks) for ks in columns["skill_ids"]))

    def __len__(self) -> int:
        return int(self.correct.shape[0])


def _skill_series(history: Row) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per skill: (epoch seconds, mastery after) of the window's history, in time order."""
    skill = np.array(history["skill_id"], dtype=np.int64)
    times = np.array(history["epoch"], dtype=np.float64)
    values = np.array(history["mastery_after"], dtype=np.float64)
    return {int(k): (times[skill == k], values[skill == k]) for k in np.unique(skill)}


def insights(*, user_id: UUID, body: InsightsRequest, deps: LearnerDeps) -> InsightsResponse:
    now, days = deps.now, body.days
    since = (now - timedelta(days=days)).isoformat()
    context = deps.learner.insights_context(since)
    rows: list[Row] = context.mastery
    skills = {s.id: s for s in context.skills}
    topics = context.topics
    topic_names = {t.id: t.name for t in topics}
    weights = scoring.skill_weights(skills=list(skills.values()), topics=topics)
    effective = _effective_now(rows, now)
    series = _skill_series(context.history)
    attempts = Attempts.from_columns(context.attempts)

    mastery_out: list[SkillMastery] = []
    velocities: list[float] = []
    levels = performance.mastery_levels(accuracy=[effective[int(r["skill_id"])] for r in rows],
                                        attempts=[int(r["total_attempts"]) for r in rows])
    for row, level in zip(rows, levels, strict=True):
        sid = int(row["skill_id"])
        times, values = series.get(sid, (np.array([]), np.array([])))
        trend = trends.linear_trend(times_s=times, values=values, now=now, window_days=days)
        velocity = trends.learning_velocity(times_s=times, values=values, now=now, window_days=days)
        plateau = trends.detect_plateau(times_s=times, values=values, now=now)
        if velocity is not None:
            velocities.append(velocity)
        skill = skills.get(sid)
        mastery_out.append(SkillMastery(
            skill_id=sid, skill_name=skill.name if skill else str(sid),
            topic=topic_names.get(skill.topic_id if skill else 0),
            effective_mastery=effective[sid], p_mastery=float(row["p_mastery"]), level=level.value,
            trend=trend.direction.value, velocity=velocity or 0.0,
            plateau=plateau.is_plateau or bool(row["plateau_flag"]), next_review_at=parse_time(row.get("due"))))
    ranked = sorted(mastery_out, key=lambda m: m.effective_mastery)
    highlight = [SkillHighlight(skill_id=m.skill_id, skill_name=m.skill_name, effective_mastery=m.effective_mastery)
                 for m in ranked]
    velocity = float(np.mean(velocities)) if velocities else None
    prediction = scoring.predict_exam(mastery_by_skill=effective, weights=weights)

    return InsightsResponse(
        window_days=days, mastery=mastery_out, strongest=highlight[::-1][:HIGHLIGHTS], weakest=highlight[:HIGHLIGHTS],
        learning_velocity=velocity,
        knowledge_gaps=_gaps(rows=rows, effective=effective, weights=weights, skills=skills, attempts=attempts,
                             prerequisites=context.prerequisites),
        confidence_calibration=_calibration(attempts),
        study_patterns=_patterns(attempts, context.sessions),
        readiness=_readiness(prediction, velocity),
        peer_percentile=_peer(rows, context.cohort),
        alerts=_alerts(attempts, now),
    )


def _gaps(*, rows: list[Row], effective: dict[int, float], weights: dict[int, float], skills: dict[int, SkillRow],
          attempts: Attempts, prerequisites: list[tuple[int, int]]) -> list[KnowledgeGap]:
    if not rows:
        return []
    dependents = Counter(int(prerequisite) for _, prerequisite in prerequisites)
    tried: Counter[int] = Counter()
    failed: Counter[int] = Counter()
    for skill_ids, correct in zip(attempts.skill_ids, attempts.correct.tolist(), strict=True):
        for sid in skill_ids:
            tried[sid] += 1
            failed[sid] += 0 if correct else 1
    ids = [int(r["skill_id"]) for r in rows]
    result = gaps.knowledge_gaps(
        mastery=[effective[s] for s in ids], exam_weight=[weights.get(s, 0.0) for s in ids],
        dependent_skills=[dependents[s] for s in ids], recent_failures=[failed[s] for s in ids],
        recent_attempts=[tried[s] for s in ids])
    out = []
    for index in result.ranking[:MAX_GAPS]:
        severity = result.severity[int(index)]
        if severity == gaps.GapSeverity.LOW:
            continue
        sid = ids[int(index)]
        out.append(KnowledgeGap(skill_id=sid, skill_name=skills[sid].name if sid in skills else str(sid),
                                severity=severity.value,  # type: ignore[arg-type]  # same four values
                                priority=float(result.priority[int(index)]),
                                recommendation=_RECOMMENDATIONS[severity]))
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


def _patterns(attempts: Attempts, sessions: list[Row]) -> StudyPatterns:
    hours = ((attempts.answered_epoch // 3600.0) % 24.0).astype(np.int64).tolist()  # UTC hour of day
    by_time = accuracy_by_time_of_day(local_hours=hours, correct=attempts.correct.tolist())
    durations = [(end - start).total_seconds() / 60.0 for s in sessions
                 if (start := parse_time(s.get("started_at"))) and (end := parse_time(s.get("ended_at")))]
    lengths = session_length_stats(durations_minutes=durations) if durations else None
    return StudyPatterns(
        accuracy_by_hour_bucket={b.name: b.accuracy for b in by_time.buckets if b.accuracy is not None},
        avg_session_minutes=None if lengths is None else lengths.mean_minutes, sessions=len(sessions))


def _readiness(prediction: scoring.ExamPrediction, velocity: float | None) -> Readiness:
    span = scoring.SCALE.maximum - scoring.SCALE.minimum
    days = None if velocity is None else readiness.days_to_target(
        current=prediction.score, target=scoring.CUT_SCORE, velocity_per_day=velocity * span)
    return Readiness(
        predicted_score=prediction.score, low=prediction.low, high=prediction.high,
        pass_probability=prediction.pass_probability,
        readiness_pct=readiness.readiness_percent(predicted_score=prediction.score, target_score=scoring.CUT_SCORE,
                                                  scale=scoring.SCALE),
        days_to_ready=days)


def _peer(rows: list[Row], cohort: list[Row]) -> PeerPercentile:
    if not cohort or not rows:
        return PeerPercentile(percentile=None, cohort_size=int(cohort[0]["learners"]) if cohort else 0,
                              k_anonymous=bool(cohort))
    mine = float(np.mean([float(r["effective_mastery"]) for r in rows]))
    return PeerPercentile(percentile=percentile_from_breakpoints(
        value=mine, breakpoints=[float(cohort[0][k]) for k in ("p10", "p25", "p50", "p75", "p90")]),
                          cohort_size=int(cohort[0]["learners"]), k_anonymous=True)


def _alerts(attempts: Attempts, now: datetime) -> list[Alert]:
    by_session: dict[str, list[bool]] = defaultdict(list)
    correct = attempts.correct.tolist()
    for session_id, answer in zip(attempts.session_ids, correct, strict=True):
        by_session[session_id].append(answer)
    half = len(correct) // 2
    found = [
        alerts.performance_drop_alert(session_accuracy=[float(np.mean(v)) for v in by_session.values()], now=now),
        alerts.streak_break_alert(answers_correct=correct, now=now),
        alerts.milestone_alert(previous_accuracy=float(np.mean(correct[:half])),
                               current_accuracy=float(np.mean(correct[half:])), now=now) if half >= 5 else None,
    ]
    return [Alert(type=a.kind.value, severity=a.urgency.value, message=a.message) for a in found if a is not None]
