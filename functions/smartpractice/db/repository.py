"""Every Supabase call of the functions. Learner reads go through a learner-scoped client (RLS applies);
answer keys and the write RPCs go through the service-role client.

Rows come back as plain dicts (JSON from PostgREST); the services turn them into learner dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast
from uuid import UUID

from supabase import Client

Row = dict[str, Any]

MASTERY_COLUMNS = (
    "skill_id,p_mastery,effective_mastery,elo_rating,elo_uncertainty,elo_count,stability,difficulty,"
    "memory_state,memory_step,last_review,due,reps,lapses,total_attempts,correct_attempts,"
    "learning_velocity,plateau_flag,last_practiced_at,version,updated_at"
)
_PAGE = 1000


def _rows(data: Any) -> list[Row]:
    return cast(list[Row], data or [])


def _ids(values: Iterable[int]) -> list[int]:
    return sorted({int(v) for v in values})


class LearnerStore:
    """Reads as the learner; RLS limits every table to the learner's own rows (content is shared)."""

    def __init__(self, client: Client) -> None:
        self._db = client

    def session(self, session_id: UUID) -> Row | None:
        rows = _rows(self._db.table("practice_sessions").select("*").eq("id", str(session_id)).limit(1)
                     .execute().data)
        return rows[0] if rows else None

    def session_questions(self, session_id: UUID) -> list[Row]:
        return _rows(self._db.table("session_questions")
                     .select("question_id,position,served_at,answered_at,is_correct,time_spent_seconds,"
                             "confidence_score,response")
                     .eq("session_id", str(session_id)).order("position").execute().data)

    def answer_by_key(self, idempotency_key: str) -> Row | None:
        rows = _rows(self._db.table("session_questions").select("answered_at,response")
                     .eq("idempotency_key", idempotency_key).limit(1).execute().data)
        return rows[0] if rows else None

    def question(self, question_id: int) -> Row | None:
        rows = _rows(self._db.table("questions")
                     .select("id,stem,question_type,options,exam_section,difficulty_label,expected_time_seconds,"
                             "is_active")
                     .eq("id", question_id).limit(1).execute().data)
        return rows[0] if rows else None

    def catalog(self, *, question_ids: Sequence[int] | None = None, topic_ids: Sequence[int] | None = None,
                subject_id: int | None = None, exam_section: str | None = None) -> list[Row]:
        """Active questions with their skills; paged so a large bank loads completely."""
        out: list[Row] = []
        offset = 0
        while True:
            query = self._db.table("question_catalog").select("*")
            if question_ids is not None:
                query = query.in_("id", _ids(question_ids))
            if topic_ids:
                query = query.in_("topic_id", _ids(topic_ids))
            if subject_id is not None:
                query = query.eq("subject_id", subject_id)
            if exam_section is not None:
                query = query.eq("exam_section", exam_section)
            page = _rows(query.order("id").range(offset, offset + _PAGE - 1).execute().data)
            out.extend(page)
            if len(page) < _PAGE:
                return out
            offset += _PAGE

    def skills(self, skill_ids: Sequence[int] | None = None) -> list[Row]:
        query = self._db.table("skills").select("id,name,topic_id")
        if skill_ids is not None:
            query = query.in_("id", _ids(skill_ids))
        return _rows(query.order("id").execute().data)

    def topics(self) -> list[Row]:
        return _rows(self._db.table("topics").select("id,name,subject_id,exam_weight").order("id").execute().data)

    def prerequisites(self) -> list[Row]:
        return _rows(self._db.table("skill_prerequisites").select("skill_id,prerequisite_skill_id").execute().data)

    def mastery(self, skill_ids: Sequence[int] | None = None) -> list[Row]:
        query = self._db.table("user_skill_mastery").select(MASTERY_COLUMNS)
        if skill_ids is not None:
            query = query.in_("skill_id", _ids(skill_ids))
        return _rows(query.order("skill_id").execute().data)

    def bkt_params(self, skill_ids: Sequence[int]) -> list[Row]:
        return _rows(self._db.table("bkt_params").select("skill_id,p_init,p_learn,p_guess,p_slip,p_forget")
                     .in_("skill_id", _ids(skill_ids)).execute().data)

    def exposure(self, *, limit: int = 5000) -> list[Row]:
        """The learner's most recent served questions (for recency and exposure control)."""
        return _rows(self._db.table("session_questions").select("question_id,served_at,answered_at")
                     .order("served_at", desc=True).limit(limit).execute().data)

    def attempts_since(self, since_iso: str) -> list[Row]:
        return _rows(self._db.table("session_questions")
                     .select("session_id,question_id,is_correct,confidence_score,time_spent_seconds,answered_at")
                     .gte("answered_at", since_iso).order("answered_at").limit(20_000).execute().data)

    def history_since(self, since_iso: str) -> list[Row]:
        return _rows(self._db.table("mastery_history")
                     .select("skill_id,mastery_before,mastery_after,delta,trigger_type,created_at")
                     .gte("created_at", since_iso).order("created_at").limit(50_000).execute().data)

    def sessions_since(self, since_iso: str) -> list[Row]:
        return _rows(self._db.table("practice_sessions").select("id,status,started_at,ended_at")
                     .gte("started_at", since_iso).order("started_at").execute().data)

    def cohort_distribution(self) -> list[Row]:
        return _rows(self._db.rpc("cohort_mastery_distribution", {}).execute().data)


class ServiceStore:
    """Service-role access: answer keys (never learner-readable) and the write RPCs."""

    def __init__(self, client: Client) -> None:
        self._db = client

    def _rpc(self, name: str, args: dict[str, Any]) -> Any:
        return self._db.rpc(name, args).execute().data

    def answer_key(self, question_id: int) -> Row | None:
        rows = _rows(self._db.table("question_answer_keys")
                     .select("question_id,correct_answer,numeric_tolerance,explanation")
                     .eq("question_id", question_id).limit(1).execute().data)
        return rows[0] if rows else None

    def start_session(self, *, user_id: UUID, mode: str, filters: dict[str, Any]) -> Row:
        return cast(Row, self._rpc("start_session", {"p_user_id": str(user_id), "p_mode": mode,
                                                     "p_filters": filters}))

    def serve_question(self, *, user_id: UUID, session_id: UUID, question_id: int, reason: dict[str, Any]) -> Row:
        return cast(Row, self._rpc("serve_question", {"p_user_id": str(user_id), "p_session_id": str(session_id),
                                                      "p_question_id": question_id, "p_reason": reason}))

    def record_answer(self, *, user_id: UUID, answer: dict[str, Any], mastery: list[dict[str, Any]],
                      difficulty_deltas: list[dict[str, Any]], response: dict[str, Any]) -> Row:
        return cast(Row, self._rpc("record_answer", {
            "p_user_id": str(user_id), "p_answer": answer, "p_mastery": mastery,
            "p_difficulty_deltas": difficulty_deltas, "p_response": response}))

    def complete_session(self, *, user_id: UUID, session_id: UUID, snapshot: dict[str, Any]) -> Row:
        return cast(Row, self._rpc("complete_session", {"p_user_id": str(user_id), "p_session_id": str(session_id),
                                                        "p_snapshot": snapshot}))

    def call(self, name: str, args: dict[str, Any]) -> Any:
        """Maintenance RPCs (apply_decay, write_daily_snapshots, refresh_aggregates, ...)."""
        return self._rpc(name, args)

    def select_page(self, table: str, columns: str, *, order: str, offset: int, limit: int,
                    filters: Sequence[tuple[str, str, Any]] = ()) -> list[Row]:
        """A page of a table for the batch jobs (service role reads across learners)."""
        query = self._db.table(table).select(columns)
        for column, op, value in filters:
            query = getattr(query, op)(column, value)
        return _rows(query.order(order).range(offset, offset + limit - 1).execute().data)
