"""insights, part two: predicted section scores, readiness against the learner's goal, the seed-004 performance
score, speed, difficulty bands, levels and the daily growth series. Math in learner/; shaping here.

The scores come from the production predictor (learner/predictor_scores.py, from the predictor_scores block of
insights_context and session_summary_context), in insights, in complete_session's snapshot and, since
20261207193000, in the nightly daily snapshots (service/maintenance_mastery.py, from snapshot_inputs' block):
one route for every predicted score a learner sees. Responses say which (`score_source`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from smartpractice.db.contexts import PredictorScoresRead, SkillRow, TopicRow
from smartpractice.learner import (
    breakdown,
    exam_scores,
    performance,
    predictor,
    predictor_fit,
    readiness,
    series,
    trends,
)
from smartpractice.learner import predictor_scores as pscores
from smartpractice.service.goals import Goals
from smartpractice.service.insights_history import HistoryView
from smartpractice.service.models_responses import (
    DayPoint,
    DifficultyBandOut,
    LevelOut,
    Levels,
    PerformanceScoreOut,
    PredictedScores,
    Readiness,
    ScoreSource,
    SectionScoreOut,
    SpeedOut,
    TopicSeries,
)

Row = dict[str, Any]
SECTION_SPAN = exam_scores.SECTION_SCALE.maximum - exam_scores.SECTION_SCALE.minimum


@dataclass(frozen=True, slots=True)
class Content:
    """The bank's taxonomy as the numbers need it."""

    skills: dict[int, SkillRow]
    topics: dict[int, TopicRow]
    weights: dict[int, float]

    def section_of_skill(self, skill_id: int) -> str:
        topic = self.topics.get(self.skills[skill_id].topic_id) if skill_id in self.skills else None
        return (topic.exam_section if topic else None) or ""


NO_PREDICTOR_STATE = "no predictor state yet: no graded answer has updated the predictor"
NOT_INCREASING = (f"the predictor's weights do not rise with ability (z weight below "
                  f"{predictor_fit.MIN_Z_WEIGHT}, the least the nightly fit serves)")


def predictor_section_scores(*, read: PredictorScoresRead, sections: Sequence[str]) -> pscores.PredictorScores:
    """Section scores over `sections` (the prepared ones, or the exam's for a nightly snapshot) from the predictor's
    section curves (null + reason without a predictor state, with weights the nightly fit would not serve
    (`predictor_fit.servable`), or below MIN_SECTION_ANSWERS answers in the section)."""
    weights = predictor.Weights(tuple(float(v) for v in read.weights)) if read.weights else predictor.Weights()
    offsets = np.asarray(read.offsets, dtype=np.float64)
    unavailable: str | None = None
    se: float | None = None
    if read.learner is None or read.learner.answers == 0 or offsets.size == 0:
        unavailable = NO_PREDICTOR_STATE
    elif not predictor_fit.servable(weights):
        unavailable = NOT_INCREASING
    else:
        se = pscores.ability_se(information=read.information)
    evidence = {s.section: pscores.SectionEvidence(
        questions=s.questions if s.curve is not None and len(s.curve) == offsets.size else 0, answers=s.answers,
        curve=np.asarray(s.curve or [], dtype=np.float64)) for s in read.sections}
    return pscores.predict_scores(sections=sections, evidence=evidence, offsets=offsets, se=se,
                                  unavailable=unavailable)


def stored_section_scores(scores: pscores.PredictorScores) -> dict[str, dict[str, float | None]]:
    """The scored sections as a snapshot stores them (`predicted_section_scores`): {section: {score, low, high}}."""
    return {s.section: {"score": s.score, "low": s.lower, "high": s.upper} for s in scores.sections
            if s.score is not None}


def predictor_scores_out(scores: pscores.PredictorScores) -> PredictedScores:
    return PredictedScores(
        sections=[SectionScoreOut(section=s.section, score=s.score, low=s.lower, high=s.upper, reason=s.reason,
                                  expected_proportion=s.proportion, answers=s.answers) for s in scores.sections],
        total=scores.total, total_low=scores.total_lower, total_high=scores.total_upper,
        total_reason=scores.total_reason, interval_level=scores.interval_level, score_source="predictor",
        ability_se=scores.ability_se)


@dataclass(frozen=True, slots=True)
class Scoped:
    """The one score readiness is about: the total when both sections are prepared, else the one section."""

    scope: str
    score: float | None
    low: float | None
    high: float | None
    target: float
    span: float
    source: ScoreSource = "predictor"
    curve: pscores.AbilityCurve | None = None  # predictor route: the score's curve in θ (pass probability)
    reason: str | None = None  # why there is no score


def scoped_predictor(scores: pscores.PredictorScores, goals: Goals) -> Scoped:
    if goals.total_target is not None:
        return Scoped("total", scores.total, scores.total_lower, scores.total_upper, float(goals.total_target),
                      SECTION_SPAN * len(goals.sections), "predictor", scores.total_curve, scores.total_reason)
    (section,) = scores.sections
    return Scoped(section.section, section.score, section.lower, section.upper,
                  float(goals.section_targets[section.section]), SECTION_SPAN, "predictor",
                  scores.curves.get(section.section), section.reason)


def readiness_out(*, scope: Scoped, points_per_day: float | None, goals: Goals, now: datetime,
                  reason: str | None) -> Readiness:
    """Readiness of the scoped score. Pass probability: the predictor route's Φ((θ − θ_cut)/SE) on the score's
    curve, else Normal(score, sd from the interval); days to ready: the target gap over `points_per_day`
    (`score_points_per_day`: the score's own history, null until it has 3 days)."""
    days_left = goals.days_left(now)
    if scope.score is None or scope.low is None or scope.high is None:
        return Readiness(scope=scope.scope, target_score=scope.target, days_left=days_left,
                         reason=reason or scope.reason or "no predicted score yet", score_source=scope.source)
    passing = None if scope.curve is None else pscores.pass_probability(curve=scope.curve, target=scope.target)
    result = exam_scores.assess_readiness(score=scope.score, lower=scope.low, upper=scope.high,
                                          target=scope.target, points_per_day=points_per_day, days_left=days_left,
                                          pass_probability=passing)
    floor = exam_scores.SECTION_SCALE.minimum * (scope.span / SECTION_SPAN)
    pct = readiness.readiness_percent(
        predicted_score=scope.score, target_score=scope.target,
        scale=readiness.ScoreScale(minimum=floor, maximum=floor + scope.span)) if scope.target > floor else 100.0
    return Readiness(
        scope=scope.scope, target_score=scope.target, predicted_score=scope.score, low=scope.low, high=scope.high,
        pass_probability=result.pass_probability, ready=result.ready, readiness_pct=pct, points_per_day=points_per_day,
        days_to_ready=result.days_to_ready, days_to_ready_reason=result.days_to_ready_reason, days_left=days_left,
        on_track=result.on_track, score_source=scope.source)


def _snapshot_parts(snapshot: Row, sections: Sequence[str]) -> list[Row] | None:
    """A nightly snapshot's stored {score, low, high} for each of `sections`, or None when one has no score."""
    stored = snapshot.get("sections") or {}
    parts = [stored.get(name) for name in sections]
    if not parts or any(not p or p.get("score") is None for p in parts):
        return None
    return [p for p in parts if p]


def score_points_per_day(*, snapshots: list[Row], scope: Scoped, goals: Goals, now: datetime) -> float | None:
    """The scoped score's projection in points per day: the least-squares slope over the window's nightly
    snapshots of the same route (each at the end of its UTC day) and the current score (at `now`), by
    `trends.mastery_velocity`'s rule on the score as a share of the scale span (null until 3 points spread over
    3 days; within ±1 span a day), times the span. The scope's sections are the goal's (`scoped_predictor`: the
    total exactly when both are prepared); a snapshot without a score in each of them has no point."""
    if scope.score is None:
        return None
    floor = exam_scores.SECTION_SCALE.minimum * (scope.span / SECTION_SPAN)
    times, values = [], []
    for snap in snapshots:
        parts = _snapshot_parts(snap, goals.sections) if snap.get("score_source") == scope.source else None
        if parts is None:
            continue
        day_end = datetime.combine(date.fromisoformat(str(snap["date"])), time.min, tzinfo=UTC) + timedelta(days=1)
        times.append(min(day_end, now).timestamp())
        values.append((sum(float(p["score"]) for p in parts) - floor) / scope.span)
    times.append(now.timestamp())
    values.append((scope.score - floor) / scope.span)
    velocity = trends.mastery_velocity(times_s=times, values=values, now=now)
    return None if velocity.per_day is None else velocity.per_day * scope.span


def previous_pass_probability(snapshots: list[Row], goals: Goals, *, source: ScoreSource) -> float | None:
    """The pass probability of the window's first nightly snapshot against today's target (None without one).

    Only a snapshot of the same route compares: the nightly snapshots are on the predictor's route since
    20261207193000 (score_source "predictor"); older ones carry no score_source (the mastery route), so against the
    predictor's pass probability they are skipped, and no exam_readiness alert fires from a change of route alone.
    The previous value is read off the stored interval (Normal, as `assess_readiness` does without a curve): the
    snapshot keeps the scores and intervals, not the curve."""
    if source != "mastery":
        snapshots = [s for s in snapshots if s.get("score_source") == source]
    for snap in snapshots:
        parts = _snapshot_parts(snap, goals.sections)
        if parts is None:
            continue
        score = sum(float(p["score"]) for p in parts)
        low = sum(float(p["low"]) for p in parts)
        high = sum(float(p["high"]) for p in parts)
        target = float(goals.total_target if goals.total_target is not None
                       else goals.section_targets[goals.sections[0]])
        return exam_scores.assess_readiness(score=score, lower=min(low, score), upper=max(high, score),
                                            target=target, points_per_day=None, days_left=None).pass_probability
    return None


@dataclass(frozen=True, slots=True)
class AnswerColumns:
    """The window's answers with what speed, bands and levels need, oldest first."""

    correct: npt.NDArray[np.bool_]
    seconds: npt.NDArray[np.float64]  # NaN when not recorded
    expected: npt.NDArray[np.float64]
    difficulty: tuple[str, ...]
    topic_ids: npt.NDArray[np.int64]
    session_ids: tuple[str, ...]

    @classmethod
    def from_columns(cls, columns: Row) -> AnswerColumns:
        # a missing time is NaN (numpy reads None as NaN in a float64 array), a recorded one at least 1 s
        seconds = np.maximum(np.array(columns.get("time_spent_seconds", []), dtype=np.float64), 1.0)
        return cls(correct=np.array(columns.get("is_correct", []), dtype=bool), seconds=seconds,
                   expected=np.array(columns.get("expected_time_seconds", []), dtype=np.float64),
                   difficulty=tuple(map(str, columns.get("difficulty_label", []))),
                   topic_ids=np.array(columns.get("topic_id", []), dtype=np.int64),
                   session_ids=tuple(map(str, columns.get("session_id", []))))


def session_accuracy(*, session_ids: tuple[str, ...], correct: npt.NDArray[np.bool_]) -> list[float]:
    """Each session's share of correct answers, sessions in order of first answer: per session the same
    float64 sum / count np.mean takes (sums of 0/1 are exact), counted in one pass."""
    codes: dict[str, int] = {}
    index = np.array([codes.setdefault(s, len(codes)) for s in session_ids], dtype=np.int64)
    if not codes:
        return []
    hits = np.bincount(index, weights=correct.astype(np.float64), minlength=len(codes))
    accuracy: list[float] = (hits / np.bincount(index, minlength=len(codes))).tolist()
    return accuracy


def performance_out(answers: AnswerColumns, *, mastery_gain: float | None,
                    accuracy_by_session: list[float]) -> PerformanceScoreOut:
    """Answers without a recorded time count at their expected time for speed (neither fast nor slow).
    ``accuracy_by_session``: session_accuracy of the same answers."""
    seconds = np.where(np.isnan(answers.seconds), answers.expected, answers.seconds)
    scores = performance.performance_scores(correct=answers.correct, seconds_taken=seconds,
                                            target_seconds=answers.expected, session_accuracy=accuracy_by_session,
                                            mastery_gain=mastery_gain)
    return PerformanceScoreOut(overall=scores.overall, accuracy=scores.accuracy, speed=scores.speed,
                               consistency=scores.consistency, progress=scores.progress)


def speed_out(answers: AnswerColumns) -> SpeedOut:
    speed = breakdown.speed_vs_expected(seconds_taken=answers.seconds, expected_seconds=answers.expected,
                                        correct=answers.correct)
    return SpeedOut(answers=speed.answers, median_time_ratio=speed.median_time_ratio,
                    within_expected=speed.within_expected)


def bands_out(answers: AnswerColumns) -> list[DifficultyBandOut]:
    bands = breakdown.accuracy_by_difficulty(difficulty=answers.difficulty, correct=answers.correct)
    return [DifficultyBandOut(band=b.band, answers=b.answers, accuracy=b.accuracy)  # type: ignore[arg-type]
            for b in bands]


def _levels(groups: list[int], correct: list[bool], names: dict[int, str]) -> list[LevelOut]:
    return [LevelOut(id=g.key, name=names.get(g.key, str(g.key)), answers=g.answers, accuracy=g.accuracy,
                     level=g.level.value)
            for g in breakdown.levels_by_group(group=groups, correct=correct)]


def levels_out(*, answers: AnswerColumns, skill_ids: tuple[tuple[int, ...], ...], content: Content) -> Levels:
    """Per skill every tagged skill of an answer counts it; per topic/subject the question's own topic."""
    correct = answers.correct.tolist()
    skill_groups = [s for ids in skill_ids for s in ids]
    skill_correct = [c for ids, c in zip(skill_ids, correct, strict=True) for _ in ids]
    subject_of = {t.id: t.subject_id for t in content.topics.values()}
    subject_names = {t.subject_id: t.exam_section or str(t.subject_id) for t in content.topics.values()}
    topics = answers.topic_ids.tolist()
    return Levels(
        skills=_levels(skill_groups, skill_correct, {k: s.name for k, s in content.skills.items()}),
        topics=_levels(topics, correct, {k: t.name for k, t in content.topics.items()}),
        subjects=_levels([subject_of.get(t, 0) for t in topics], correct, subject_names))


def growth_series(*, now: datetime, days: int, goals: Goals, answers: AnswerColumns, answer_days: list[date],
                  history: HistoryView, snapshots: list[Row],
                  content: Content) -> tuple[list[DayPoint], list[TopicSeries]]:
    """``answer_days``: each answer's local day in the learner's zone (series.local_days)."""
    window = series.window_days(now=now, days=days, zone=goals.zone)
    counts = series.answers_per_day(days=window, answer_days=answer_days, correct=answers.correct)
    by_date = {str(s["date"]): s for s in snapshots}
    points = []
    for count in counts:
        snap = by_date.get(count.day.isoformat(), {})
        sections = {k: float(v["score"]) for k, v in (snap.get("sections") or {}).items()
                    if k in goals.sections and v and v.get("score") is not None}
        total = sum(sections.values()) if goals.total_target is not None and len(sections) == 2 else None
        points.append(DayPoint(day=count.day, answers=count.answers, correct=count.correct,
                               avg_mastery=snap.get("avg_mastery"), section_scores=sections, predicted_total=total))
    topic_of = {k: s.topic_id for k, s in content.skills.items()}
    per_topic = series.mastery_per_group_per_day(
        days=window, event_days=history.event_days, skill_ids=history.skill_ids, mastery_after=history.mastery_after,
        group_of_skill=topic_of)
    topics = [TopicSeries(topic_id=t, topic=content.topics[t].name if t in content.topics else str(t), mastery=v)
              for t, v in per_topic.items()]
    return points, topics
