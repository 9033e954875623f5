"""Typed results of the SQL context functions and write RPCs, validated where they enter Python.

A renamed or retyped column fails here (pydantic) and in the services under mypy, never deep in a
service as a KeyError. Unknown keys are ignored, so adding a column to SQL changes nothing. Mastery
rows stay plain rows (`Row`): `service/states.py` converts them, for the nightly job too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

Row = dict[str, Any]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SessionRef(_Result):
    """A practice session as a context function sees it (RLS: only the learner's own)."""

    id: UUID
    status: str
    mode: str | None = None
    filters: dict[str, Any] | None = None


class QuestionSkill(_Result):
    skill_id: int
    name: str
    elo_difficulty: float
    attempts: int


class AnswerQuestion(_Result):
    id: int
    question_type: str
    expected_time_seconds: float
    skills: list[QuestionSkill]


class EarlierAnswer(_Result):
    answered_at: str | None = None
    response: Row | None = None
    request: Row | None = None  # the canonical body it was answered with (None: answered before it was kept)


class BktParamsRow(_Result):
    skill_id: int
    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    p_forget: float


class PredictorLearner(_Result):
    """learner_predictor_state: the global ability θ (logits) and the answers over all skills."""

    theta: float = 0.0
    answers: int = 0
    correct: int = 0


class PredictorSkill(_Result):
    """learner_skill_predictor_state: one skill's deviation from θ (logits) and its answers."""

    skill_id: int
    deviation: float = 0.0
    answers: int = 0
    correct: int = 0


class PredictorItem(_Result):
    """The question's difficulty b (logits: stored, or seeded from its Elo rows), its online answers, options and
    served guessing floor (private.served_guessing_floor; None from a database before it: 1/options)."""

    difficulty: float = 0.0
    answers: int = 0
    n_options: int | None = None
    guessing_floor: float | None = None


class PredictorRead(_Result):
    """The predictor's state in a learner context (None/[]: the prior; weights None: the plain model)."""

    learner: PredictorLearner | None = None
    skills: list[PredictorSkill] = []
    item: PredictorItem | None = None  # answer_context only (next_question reads b from the bank)
    weights: list[float] | None = None


class AnswerContext(_Result):
    """answer_context(p_session_id, p_question_id, p_idempotency_key)."""

    earlier: EarlierAnswer | None = None
    session: SessionRef | None = None
    answered: int = 0
    correct: int = 0
    question: AnswerQuestion | None = None
    mastery: list[Row] = []
    bkt_params: list[BktParamsRow] = []
    repeat: bool = False  # answered in another session within the cooling period: no mastery credit
    served_at: datetime | None = None  # the server's time this question was served in this session
    predictor: PredictorRead = PredictorRead()


class SeenQuestions(_Result):
    question_id: list[int]
    epoch: list[float]


class NextQuestionContext(_Result):
    """next_question_context(p_session_id); `session` is None when it is not the learner's."""

    session: SessionRef | None = None
    answered_ids: list[int] = []
    correct: int = 0
    seen: SeenQuestions = SeenQuestions(question_id=[], epoch=[])
    mastery: list[Row] = []
    prerequisites: list[tuple[int, int]] = []  # (skill_id, prerequisite_skill_id)
    predictor: PredictorRead = PredictorRead()


class SummaryAnswer(_Result):
    question_id: int
    is_correct: bool | None = None
    time_spent_seconds: float | None = None
    response: Row | None = None


class SkillMasteryRef(_Result):
    skill_id: int
    effective_mastery: float


class SkillRow(_Result):
    id: int
    name: str
    topic_id: int


class TopicRow(_Result):
    id: int
    name: str
    subject_id: int
    exam_weight: float | None = None
    exam_section: str | None = None


class PredictorSectionRead(_Result):
    """One exam section in insights_context's predictor_scores: its active questions, the learner's graded answers
    in it and the mean served P over its questions at θ + Δ per offset (None: no predictor state)."""

    section: str
    questions: int = 0
    answers: int = 0
    curve: list[float] | None = None


class PredictorScoresRead(_Result):
    """insights_context's predictor_scores (20261207120000_insights_predictor_scores.sql)."""

    learner: PredictorLearner | None = None
    weights: list[float] | None = None
    offsets: list[float] = []
    information: float = 0.0  # Fisher information about θ of the learner's distinct answered questions
    sections: list[PredictorSectionRead] = []


class InsightsContext(_Result):
    """insights_context(p_since, p_now): the columnar blocks (attempts, history_days) stay rows of arrays.

    The database sends the history aggregated (skill_trends, history_days); ``history`` (raw rows: skill_id,
    mastery_after, epoch) is what a test may send instead (service/insights_history.py reduces it the same way).
    """

    mastery: list[Row] = []
    skills: list[SkillRow] = []
    topics: list[TopicRow] = []
    prerequisites: list[tuple[int, int]] = []
    attempts: Row = {}
    history: Row = {}
    skill_trends: Row = {}
    history_days: Row = {}
    sessions: list[Row] = []
    cohort: list[Row] = []
    gaps: list[Row] = []
    profile: Row | None = None
    snapshots: list[Row] = []
    predictor_scores: PredictorScoresRead = PredictorScoresRead()


class SessionSummaryContext(_Result):
    """session_summary_context(p_session_id)."""

    answers: list[SummaryAnswer] = []
    mastery: list[SkillMasteryRef] = []
    skills: list[SkillRow] = []
    topics: list[TopicRow] = []
    profile: Row | None = None
    predictor_scores: PredictorScoresRead = PredictorScoresRead()


class StartedSession(_Result):
    """start_session: the new practice_sessions row."""

    id: UUID
    mode: Literal["adaptive", "review", "exam", "topic"]
    started_at: datetime


class ServedSkill(_Result):
    skill_id: int
    name: str


class ServedQuestion(_Result):
    id: int
    stem: str
    question_type: str
    options: Any = None  # jsonb as stored: a list of {key|label, text}, or null
    exam_section: str | None = None
    difficulty_label: str | None = None
    skills: list[ServedSkill]


class ServedQuestionRow(_Result):
    """serve_question: the session_questions row plus the question as the learner may see it."""

    served_at: datetime
    question: ServedQuestion


class RecordedAnswer(_Result):
    """record_answer: 'created', or 'duplicate' with the stored response to replay."""

    status: Literal["created", "duplicate"]
    response: Row


class SnapshotRow(_Result):
    questions_answered: int
    correct_answers: int
    created_at: str
    avg_mastery: float | None = None
    predicted_score: float | None = None
    predicted_score_low: float | None = None
    predicted_score_high: float | None = None
    predicted_section_scores: Row | None = None
    snapshot_data: Row | None = None


class CompletedSession(_Result):
    """complete_session: the session's one snapshot, new or already there."""

    status: Literal["completed", "already_completed"]
    snapshot: SnapshotRow
