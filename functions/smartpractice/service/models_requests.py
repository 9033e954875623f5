"""Request bodies of the five functions (pydantic v2, strict JSON: "3" is not an int, 3.0 not an int).

Never carries a user id: the user comes only from the verified JWT.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, TypeVar, get_args
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

REQUEST_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

PracticeMode = Literal["adaptive", "review", "exam", "topic"]
SelectionStrategy = Literal["adaptive", "random"]
MaintenanceStep = Literal["decay", "snapshots", "aggregates", "bkt_refit", "irt_calibration", "predictor_fit",
                          "retention", "partitions"]
MAINTENANCE_STEPS: tuple[MaintenanceStep, ...] = get_args(MaintenanceStep)
MAX_IDS = 100
_T = TypeVar("_T")


def _unique_in_order(values: list[_T] | None) -> list[_T] | None:
    """Repeated ids are harmless client slips: keep the first occurrence of each."""
    return None if values is None else list(dict.fromkeys(values))


DbId = Annotated[int, Field(gt=0, le=2**63 - 1, description="A bigint primary key.")]
IdFilter = Annotated[list[DbId], Field(min_length=1, max_length=MAX_IDS), AfterValidator(_unique_in_order)]
# No NUL characters: Postgres text cannot store them, so they are refused here with a field error.
_NO_NUL = r"^[^\x00]*$"
ExamSection = Annotated[str, Field(min_length=1, max_length=100, pattern=_NO_NUL)]
Probability = Annotated[float, Field(gt=0.0, lt=1.0)]
AnswerPart = Annotated[str, Field(min_length=1, max_length=500, pattern=_NO_NUL)]
IdempotencyKey = Annotated[
    str,
    Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_:\-]+$",
          description="Client-generated per answer (e.g. a UUID); a retry with the same key replays it."),
]


class StartSessionRequest(BaseModel):
    model_config = REQUEST_CONFIG

    mode: PracticeMode = "adaptive"
    subject_id: DbId | None = None
    topic_ids: IdFilter | None = Field(default=None, validate_default=True,
                                       description="Required (non-empty) when mode is 'topic'.")
    skill_ids: IdFilter | None = None
    exam_section: ExamSection | None = None
    target_questions: Annotated[int, Field(ge=1, le=200)] | None = Field(
        default=None, description="How many questions the session aims for; the server picks a default.")

    @field_validator("topic_ids", mode="after")
    @classmethod
    def _topics_for_topic_mode(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        if info.data.get("mode") == "topic" and not value:
            raise PydanticCustomError("topic_ids_required", "required when mode is 'topic'")
        return value


class NextQuestionRequest(BaseModel):
    model_config = REQUEST_CONFIG

    session_id: UUID
    topic_ids: IdFilter | None = None
    skill_ids: IdFilter | None = None
    exam_section: ExamSection | None = None
    target_low: Probability = Field(default=0.60, description="Lower edge of the target success band.")
    target_high: Probability = Field(default=0.70, validate_default=True,
                                     description="Upper edge of the target success band (> target_low).")
    strategy: SelectionStrategy = Field(
        default="adaptive", description="'adaptive' (Thompson sampling on the target band, weak and due skills) "
                                        "or 'random' (uniform over the same pool: a control group for experiments).")

    @field_validator("target_high", mode="after")
    @classmethod
    def _band_ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("target_low")
        if low is not None and value <= low:
            raise PydanticCustomError("target_band_order", "must be greater than target_low")
        return value


class SubmitAnswerRequest(BaseModel):
    model_config = REQUEST_CONFIG

    session_id: UUID
    question_id: DbId
    user_answer: Annotated[list[AnswerPart], Field(min_length=1, max_length=10)] = Field(
        description="Chosen option labels, or the typed answer as a single item.")
    confidence_score: Annotated[int, Field(ge=1, le=5)] = Field(
        default=3, description="Self-reported confidence, 1 (guess) to 5 (certain).")
    time_spent_seconds: Annotated[float, Field(ge=0.0, le=86_400.0)]
    hint_used: bool = False
    solution_viewed: bool = False
    idempotency_key: IdempotencyKey


class CompleteSessionRequest(BaseModel):
    model_config = REQUEST_CONFIG

    session_id: UUID


class InsightsRequest(BaseModel):
    """Accepted as query parameters (GET) or a JSON body (POST)."""

    model_config = REQUEST_CONFIG

    days: Annotated[int, Field(ge=1, le=365)] = Field(default=30, description="Look-back window in days.")


class MaintenanceRequest(BaseModel):
    model_config = REQUEST_CONFIG

    run_date: date | None = Field(default=None, ge=date(2000, 1, 1), le=date(2999, 12, 31),
                                  description="UTC day to process; default: the previous day.")
    steps: Annotated[list[MaintenanceStep], Field(min_length=1), AfterValidator(_unique_in_order)] | None = (
        Field(default=None, description="Steps to run, in the server's fixed order; default: all."))
    batch_size: Annotated[int, Field(ge=100, le=50_000)] = 5_000
