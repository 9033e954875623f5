"""Response bodies of the five functions.

`extra="forbid"` here is a guard for us, not for clients: a service that tries to put an unknown key
(say, the answer key) into a question fails loudly instead of leaking it. `allow_inf_nan=False` makes a
NaN from the math fail at construction rather than turn into an invalid or misleading JSON number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smartpractice.service.models_requests import MaintenanceStep, PracticeMode

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]
Percent = Annotated[float, Field(ge=0.0, le=100.0)]
SkillId = Annotated[int, Field(gt=0)]
Trend = Literal["improving", "declining", "stable"]
Severity = Literal["critical", "high", "medium", "low"]


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- start_session ------------------------------------------------------------------------------


class SessionFilters(ResponseModel):
    subject_id: int | None = None
    topic_ids: list[int] | None = None
    skill_ids: list[int] | None = None
    exam_section: str | None = None


class StartSessionResponse(ResponseModel):
    session_id: UUID
    mode: PracticeMode
    status: Literal["active"]
    started_at: datetime
    target_questions: int = Field(ge=1, le=200)
    filters: SessionFilters


# --- next_question ------------------------------------------------------------------------------


class QuestionOption(ResponseModel):
    label: str = Field(description="What the client sends back in user_answer, e.g. 'A'.")
    text: str


class SkillRef(ResponseModel):
    skill_id: SkillId
    name: str


class QuestionOut(ResponseModel):
    """A question as the learner sees it: never the answer key or the explanation."""

    id: int = Field(gt=0)
    stem: str
    question_type: str = Field(
        description="multiple_choice | multi_select | true_false | numeric | short_answer")
    options: list[QuestionOption] = Field(default_factory=list, description="Empty for typed answers.")
    exam_section: str | None = None
    difficulty_label: str | None = None
    skills: list[SkillRef]


class SelectionReason(ResponseModel):
    predicted_p_correct: Probability = Field(description="Model's mean chance the learner answers correctly.")
    sampled_p_correct: Probability = Field(description="The Thompson draw the choice was made on.")
    target_band: tuple[Probability, Probability]
    skill_id: SkillId
    skill_name: str
    dominant_factor: str = Field(description="Selection component that decided, e.g. band, weakness, due.")
    why: str = Field(description="One sentence for the learner.")
    component_scores: dict[str, float]


class NextQuestionProgress(ResponseModel):
    answered: Count
    correct: Count
    target: Count | None = None


class NextQuestionResponse(ResponseModel):
    """`status='served'`: question, reason and served_at are set. `status='exhausted'`: no question is
    left for the filters; `exhausted_reason` says why and the client should complete the session."""

    session_id: UUID
    status: Literal["served", "exhausted"]
    question: QuestionOut | None = None
    reason: SelectionReason | None = None
    served_at: datetime | None = None
    exhausted_reason: str | None = None
    session_progress: NextQuestionProgress

    @model_validator(mode="after")
    def _variant_is_consistent(self) -> NextQuestionResponse:
        served = (self.question, self.reason, self.served_at)
        if self.status == "served" and (any(v is None for v in served) or self.exhausted_reason is not None):
            raise ValueError("status 'served' needs question, reason and served_at, and no exhausted_reason")
        if self.status == "exhausted" and (any(v is not None for v in served) or not self.exhausted_reason):
            raise ValueError("an exhausted session has no question and needs exhausted_reason")
        return self


# --- submit_answer ------------------------------------------------------------------------------


class SkillUpdate(ResponseModel):
    skill_id: SkillId
    skill_name: str
    mastery_before: Probability
    mastery_after: Probability
    elo_before: float
    elo_after: float
    next_review_at: datetime | None = None


class AnswerProgress(ResponseModel):
    answered: Count
    correct: Count | None = Field(description="Null in an exam until complete_session.")
    accuracy: Probability | None = Field(description="Null in an exam until complete_session.")


class SubmitAnswerResponse(ResponseModel):
    is_correct: bool | None = Field(description="Null in an exam (withheld) until complete_session.")
    correct_answer: list[str] | None = Field(description="Null in an exam (withheld) until complete_session.")
    explanation: str | None = None
    skills: list[SkillUpdate] = Field(description="Empty in an exam: a mastery change would tell right from wrong.")
    withheld: bool = Field(default=False, description=(
        "True in an exam session: correctness, key, explanation and mastery changes come with complete_session."))
    session_progress: AnswerProgress
    feedback: str | None = Field(default=None, description=(
        "One line: what changed (mastery of the skill that moved most, before → after in percent) and why, "
        "plus pace against the question's expected time. None only in replays stored before it existed."))
    replayed: bool = Field(default=False, description="True when this is the stored result of an earlier "
                                                      "request with the same idempotency_key.")


# --- complete_session ---------------------------------------------------------------------------


class SectionScoreOut(ResponseModel):
    section: str = Field(description="Exam section: 'math' or 'reading_writing'.")
    score: float | None = Field(default=None, ge=200.0, le=800.0, description=(
        "Predicted section score, 200–800 in steps of 10; null (see reason) before any answer in the section."))
    low: float | None = Field(default=None, ge=200.0, le=800.0, description="Lower end of the 90 % interval.")
    high: float | None = Field(default=None, ge=200.0, le=800.0, description="Upper end of the 90 % interval.")
    reason: str | None = None
    expected_proportion: Probability | None = Field(default=None, description=(
        "Predictor route only: the expected proportion correct over the section's active questions at the "
        "learner's ability (unrounded, 0–1); score = 200 + 600 · it, rounded to 10."))
    answers: Count | None = Field(default=None, description=(
        "Predictor route only: the learner's graded answers in the section (a score needs 5)."))


ScoreSource = Literal["predictor", "mastery"]


class PredictedScores(ResponseModel):
    """Only the sections the learner prepares. Total = the sum of the section scores (the SAT's rule), null
    unless both sections are prepared and scored. From the production predictor (insights and complete_session):
    every interval is the image of θ ± 1.645·SE through the score's curve in θ (the total's through the summed
    curve: both sections rest on one θ). Session snapshots stored before carry the mastery route's (binomial
    intervals, the total's ± sqrt(Σ section half-width²)) and no score_source."""

    sections: list[SectionScoreOut]
    total: float | None = Field(default=None, ge=400.0, le=1600.0, description="Math + Reading & Writing, 400–1600.")
    total_low: float | None = Field(default=None, ge=400.0, le=1600.0)
    total_high: float | None = Field(default=None, ge=400.0, le=1600.0)
    total_reason: str | None = None
    interval_level: Probability = Field(description="Coverage of every interval, 0.90.")
    score_source: ScoreSource | None = Field(default=None, description=(
        "'predictor': expected proportion correct under the production predictor (insights, complete_session, "
        "the nightly snapshots); 'mastery': the exam-weighted mastery route of snapshots stored before; null in "
        "older ones."))
    ability_se: float | None = Field(default=None, gt=0.0, le=1.0, description=(
        "Predictor route: the standard error of the ability θ in logits, 1/sqrt(1 + Fisher information of the "
        "learner's answered questions); null without a predictor state."))


class SessionSnapshot(ResponseModel):
    avg_mastery: Probability
    predicted_score: float | None = Field(default=None, description=(
        "The score readiness is about: the total (400–1600) when both sections are prepared, else the one "
        "section (200–800); null (see predicted_scores' reasons) without a predictor state or below 5 answers in a "
        "prepared section."))
    predicted_score_low: float | None = None
    predicted_score_high: float | None = None
    pass_probability: Probability | None = Field(default=None, description="P(score ≥ the learner's target).")
    total_answered: Count
    total_correct: Count
    accuracy: Probability | None = Field(default=None, description="None when nothing was answered.")
    time_spent_seconds: float = Field(ge=0.0)
    mastery_gained: dict[Annotated[str, Field(pattern=r"^[1-9][0-9]*$")], float] = Field(
        description="Skill id (as a string key) → change in mastery during the session.")
    predicted_scores: PredictedScores | None = Field(default=None, description=(
        "Per-section predicted scores at completion (null for sessions completed before they existed)."))
    created_at: datetime


class ExamAnswer(ResponseModel):
    question_id: int
    position: int = Field(ge=1, description="Order served in the session.")
    user_answer: list[str]
    is_correct: bool
    correct_answer: list[str]
    explanation: str | None = None


class SessionSnapshotResponse(ResponseModel):
    session_id: UUID
    status: Literal["completed"]
    snapshot: SessionSnapshot
    already_completed: bool = Field(description="True when an earlier call completed it; nothing changed.")
    exam_results: list[ExamAnswer] | None = Field(default=None, description=(
        "An exam session's answered questions with correctness, key and explanation (withheld until now); "
        "null for the other modes, whose answers returned them one by one."))


# --- insights -----------------------------------------------------------------------------------


class SkillMastery(ResponseModel):
    skill_id: SkillId
    skill_name: str
    topic: str | None = None
    effective_mastery: Probability = Field(description="Mastery after forgetting, as of now.")
    p_mastery: Probability = Field(description="BKT probability of mastery at the last answer.")
    level: str | None = Field(default=None, description=(
        "Seed 004 band of this skill's answers in the window: mastered (accuracy ≥ 0.8, ≥ 10 answers), "
        "proficient (≥ 0.6, ≥ 5), developing (≥ 0.4), needs_focus; null without answers in the window."))
    trend: Trend | None = Field(default=None, description="Null (see velocity_reason) until velocity exists.")
    velocity: float | None = Field(default=None, ge=-1.0, le=1.0, description=(
        "Mastery change per day (least-squares slope), −1…1; null until 3 answers over 3 days of history."))
    velocity_reason: str | None = None
    plateau: bool
    next_review_at: datetime | None = None


class SkillHighlight(ResponseModel):
    skill_id: SkillId
    skill_name: str
    effective_mastery: Probability


class KnowledgeGap(ResponseModel):
    skill_id: SkillId
    skill_name: str
    severity: Severity
    priority: float = Field(ge=0.0, le=10.0)
    recommendation: str


class ConfidenceBucket(ResponseModel):
    confidence: int = Field(ge=1, le=5)
    answered: Count
    accuracy: Probability | None = None


class ConfidenceCalibration(ResponseModel):
    brier: Probability | None = None
    calibration_error: Probability | None = None
    overconfident: bool
    underconfident: bool
    by_confidence: list[ConfidenceBucket]


class StudyPatterns(ResponseModel):
    accuracy_by_hour_bucket: dict[str, Probability] = Field(description="e.g. 'morning' → accuracy.")
    avg_session_minutes: float | None = Field(default=None, ge=0.0)
    sessions: Count
    time_zone: str = Field(default="UTC", description="Hours are local hours in this zone (the learner's goals).")


class GoalsOut(ResponseModel):
    exam: str
    sections: list[str] = Field(description="The sections the learner prepares.")
    section_targets: dict[str, int] = Field(description="Target per section, 200–800.")
    total_target: int | None = Field(default=None, ge=400, le=1600, description="Null unless both sections.")
    exam_date: date | None = None
    days_left: int | None = Field(default=None, ge=0, description="Days from today (local) to the exam date.")
    time_zone: str = Field(description="IANA zone; study patterns and daily series use its days and hours.")
    defaulted: list[str] = Field(description="Fields not set by the learner, taken from the documented "
                                             "defaults (SAT, both sections, 600 per section, UTC).")


class Readiness(ResponseModel):
    """Against the learner's target: ready ⇔ predicted ≥ target ⇔ pass_probability ≥ 0.5 ⇔ days_to_ready = 0."""

    scope: str = Field(description="'total' (both sections) or the one prepared section.")
    target_score: float = Field(description="The learner's target (or the default), same scale as the score.")
    predicted_score: float | None = Field(default=None, description="Null while the scope has no score.")
    low: float | None = None
    high: float | None = None
    pass_probability: Probability | None = Field(default=None, description="P(true score ≥ target), 0–1.")
    ready: bool | None = None
    readiness_pct: Percent | None = Field(default=None, description="Way from the scale floor to the target.")
    points_per_day: float | None = Field(default=None, ge=-1600.0, le=1600.0, description=(
        "Projected gain of the scoped score, points per day: the least-squares slope over the nightly snapshots of "
        "the same route and the current score; null until 3 points span 3 days; within ± the scale span a day."))
    days_to_ready: int | None = Field(default=None, ge=0, le=365, description=(
        "Days until the projection reaches the target; null (see reason) when it never does within 365."))
    days_to_ready_reason: str | None = None
    days_left: int | None = Field(default=None, ge=0)
    on_track: bool | None = Field(default=None, description="days_to_ready ≤ days_left; null if either is.")
    reason: str | None = None
    score_source: ScoreSource | None = Field(default=None, description=(
        "Which score readiness is built on: 'predictor' (the production predictor's expected proportion correct)."))


class PerformanceScoreOut(ResponseModel):
    """Seed 004: overall = .35·accuracy + .25·speed + .20·consistency + .20·progress, each 0–100; a missing
    component (null) drops out and the weights of the others are re-normalised."""

    overall: Percent | None = None
    accuracy: Percent | None = None
    speed: Percent | None = Field(default=None, description="100 · mean over correct answers of "
                                                            "min(1, expected time / time taken).")
    consistency: Percent | None = Field(default=None, description="100 · (1 − 2·sd of session accuracy); "
                                                                  "null below 2 sessions.")
    progress: Percent | None = Field(default=None, description="50 = no mastery change; 100 = +0.20 mean mastery.")


class SpeedOut(ResponseModel):
    answers: Count
    median_time_ratio: float | None = Field(default=None, gt=0.0, description=(
        "Median of time taken / the question's expected time: 1 on pace, below 1 faster."))
    within_expected: Probability | None = Field(default=None, description="Share answered within expected time.")


class DifficultyBandOut(ResponseModel):
    band: Literal["easy", "medium", "hard"]
    answers: Count
    accuracy: Probability | None = None


class LevelOut(ResponseModel):
    id: int
    name: str
    answers: int = Field(ge=1)
    accuracy: Probability
    level: Literal["mastered", "proficient", "developing", "needs_focus"]


class Levels(ResponseModel):
    """Seed 004 accuracy bands over the window's answers, per skill, topic and subject (only where answered)."""

    skills: list[LevelOut]
    topics: list[LevelOut]
    subjects: list[LevelOut]


class DayPoint(ResponseModel):
    day: date = Field(description="Local day in the learner's time zone.")
    answers: Count
    correct: Count
    avg_mastery: Probability | None = Field(default=None, description="Nightly snapshot's mean mastery.")
    section_scores: dict[str, float] = Field(description="Nightly snapshot's predicted score per prepared "
                                                         "section (200–800); empty on days without one.")
    predicted_total: float | None = Field(default=None, ge=400.0, le=1600.0, description=(
        "Sum of the day's section scores when both sections are prepared and present."))


class TopicSeries(ResponseModel):
    topic_id: int
    topic: str
    mastery: list[Probability | None] = Field(description=(
        "Mean mastery of the topic's practised skills at the end of each day of `series.days`; null before the "
        "first answer on the topic."))


class GrowthSeries(ResponseModel):
    days: list[DayPoint] = Field(description=(
        "Every local day touched by the window (window_days + 1 days, the first one partial), oldest first."))
    topics: list[TopicSeries]


class PeerPercentile(ResponseModel):
    percentile: Percent | None = Field(default=None, description=(
        "5–95: the learner's mean effective mastery placed among the last nightly release's noised breakpoints "
        "(epsilon 1, rounded to 0.05); null with withheld_reason otherwise."))
    cohort_size: Count = Field(description="The release's noised size, rounded to 10 (≥ k = 50); 0 when withheld.")
    k_anonymous: bool
    released_on: date | None = None
    withheld_reason: Literal["not_yet_released", "cohort_below_k", "no_mastery"] | None = None


class Alert(ResponseModel):
    type: Literal["performance_drop", "streak_break", "milestone", "exam_readiness", "percentile_change"]
    severity: Literal["high", "medium", "low"]
    message: str


class InsightsResponse(ResponseModel):
    window_days: int = Field(ge=1, le=365)
    goals: GoalsOut
    mastery: list[SkillMastery]
    strongest: list[SkillHighlight] = Field(description="Empty until 3 skills have 3 answers each.")
    weakest: list[SkillHighlight] = Field(description="Empty until 3 skills have 3 answers each.")
    learning_velocity: float | None = Field(default=None, ge=-1.0, le=1.0, description=(
        "Mean of the skills' velocities, mastery per day; null until a skill has 3 days of history."))
    knowledge_gaps: list[KnowledgeGap] = Field(description=(
        "The learner's top 5 open rows of knowledge_gaps, as scored by the nightly job; empty before it ran."))
    knowledge_gaps_as_of: datetime | None = Field(default=None, description="When those rows were last scored.")
    confidence_calibration: ConfidenceCalibration
    study_patterns: StudyPatterns
    predicted_scores: PredictedScores
    readiness: Readiness
    performance: PerformanceScoreOut
    speed: SpeedOut
    accuracy_by_difficulty: list[DifficultyBandOut]
    levels: Levels
    series: GrowthSeries
    peer_percentile: PeerPercentile
    alerts: list[Alert]


# --- run_maintenance ----------------------------------------------------------------------------


class MaintenanceStepResult(ResponseModel):
    step: MaintenanceStep
    status: Literal["done", "skipped"]
    counts: dict[str, int]
    seconds: float = Field(ge=0.0)


class MaintenanceResponse(ResponseModel):
    run_date: date
    steps: list[MaintenanceStepResult]
