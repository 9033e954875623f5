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
    correct: Count
    accuracy: Probability


class SubmitAnswerResponse(ResponseModel):
    is_correct: bool
    correct_answer: list[str]
    explanation: str | None = None
    skills: list[SkillUpdate]
    session_progress: AnswerProgress
    replayed: bool = Field(default=False, description="True when this is the stored result of an earlier "
                                                      "request with the same idempotency_key.")


# --- complete_session ---------------------------------------------------------------------------


class SessionSnapshot(ResponseModel):
    avg_mastery: Probability
    predicted_score: float | None = None
    predicted_score_low: float | None = None
    predicted_score_high: float | None = None
    pass_probability: Probability | None = None
    total_answered: Count
    total_correct: Count
    accuracy: Probability | None = Field(default=None, description="None when nothing was answered.")
    time_spent_seconds: float = Field(ge=0.0)
    mastery_gained: dict[Annotated[str, Field(pattern=r"^[1-9][0-9]*$")], float] = Field(
        description="Skill id (as a string key) → change in mastery during the session.")
    created_at: datetime


class SessionSnapshotResponse(ResponseModel):
    session_id: UUID
    status: Literal["completed"]
    snapshot: SessionSnapshot
    already_completed: bool = Field(description="True when an earlier call completed it; nothing changed.")


# --- insights -----------------------------------------------------------------------------------


class SkillMastery(ResponseModel):
    skill_id: SkillId
    skill_name: str
    topic: str | None = None
    effective_mastery: Probability = Field(description="Mastery after forgetting, as of now.")
    p_mastery: Probability = Field(description="BKT probability of mastery at the last answer.")
    level: str
    trend: Trend
    velocity: float = Field(description="Mastery change per day over the window.")
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


class Readiness(ResponseModel):
    predicted_score: float | None = None
    low: float | None = None
    high: float | None = None
    pass_probability: Probability | None = None
    readiness_pct: Percent | None = None
    days_to_ready: int | None = Field(default=None, ge=0, description="None when not trending to ready.")


class PeerPercentile(ResponseModel):
    percentile: Percent | None = Field(default=None, description="None unless the cohort is k-anonymous.")
    cohort_size: Count
    k_anonymous: bool


class Alert(ResponseModel):
    type: str
    severity: Literal["high", "medium", "low"]
    message: str


class InsightsResponse(ResponseModel):
    window_days: int = Field(ge=1, le=365)
    mastery: list[SkillMastery]
    strongest: list[SkillHighlight]
    weakest: list[SkillHighlight]
    learning_velocity: float | None = Field(default=None, description="Mean mastery change per day.")
    knowledge_gaps: list[KnowledgeGap]
    confidence_calibration: ConfidenceCalibration
    study_patterns: StudyPatterns
    readiness: Readiness
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
