"""Every Supabase call of the functions. Learner reads go through a learner-scoped client (RLS applies);
answer keys and the write RPCs go through the service-role client.

Context functions and write RPCs come back as the typed results of db/contexts.py (validated here);
the services turn them into learner dataclasses.

Row cap: PostgREST cuts a table read or a set-returning RPC at db-max-rows (PostgREST docs, Configuration,
"db-max-rows"; 1000 on Supabase, lower if a project sets Max Rows), never a function returning one JSON value.
Every read of many rows here is such a JSON value (the learner contexts, the question bank, insights' windows,
the maintenance cursor RPCs); the table reads take one row (`limit(1)`), and `select_page` serves
maintenance_io.read_table, which goes on until an empty page.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast
from uuid import UUID

from supabase import Client

from smartpractice.db.clients import run_counting_cpu
from smartpractice.db.contexts import (
    AnswerContext,
    CompletedSession,
    InsightsContext,
    NextQuestionContext,
    RecordedAnswer,
    ServedQuestionRow,
    SessionSummaryContext,
    StartedSession,
)

Row = dict[str, Any]
# Reads that do not depend on each other overlap: one round trip less per answer. Threads only wait on
# the network here; the pool is process-wide so a request does not pay for creating one.
_PREFETCH = ThreadPoolExecutor(max_workers=16, thread_name_prefix="prefetch")



def _rows(data: Any) -> list[Row]:
    return cast(list[Row], data or [])


def _ids(values: Iterable[int]) -> list[int]:
    return sorted({int(v) for v in values})


class LearnerStore:
    """Reads as the learner; RLS limits every table to the learner's own rows (content is shared).

    Each endpoint reads its inputs in one call to a security-invoker context function (see the
    migration learner_context_rpcs): a REST round trip costs more than the query behind it.
    """

    def __init__(self, client: Client) -> None:
        self._db = client

    def _context(self, name: str, args: dict[str, Any]) -> Row:
        return cast(Row, self._db.rpc(name, args).execute().data or {})

    def next_question_context(self, session_id: UUID) -> NextQuestionContext:
        return NextQuestionContext.model_validate(
            self._context("next_question_context", {"p_session_id": str(session_id)}))

    def question_bank(self) -> Row:
        return self._context("question_bank", {})

    def answer_context(self, *, session_id: UUID, question_id: int, idempotency_key: str) -> AnswerContext:
        return AnswerContext.model_validate(self._context("answer_context", {
            "p_session_id": str(session_id), "p_question_id": question_id, "p_idempotency_key": idempotency_key}))

    def session_summary_context(self, session_id: UUID) -> SessionSummaryContext:
        return SessionSummaryContext.model_validate(
            self._context("session_summary_context", {"p_session_id": str(session_id)}))

    def insights_context(self, since_iso: str, now_iso: str) -> InsightsContext:
        return InsightsContext.model_validate(self._context("insights_context",
                                                            {"p_since": since_iso, "p_now": now_iso}))

    def subject_has_questions(self, subject_id: int) -> bool:
        return bool(self._db.table("question_catalog").select("id").eq("subject_id", subject_id).limit(1)
                    .execute().data)


class ServiceStore:
    """Service-role access: answer keys (never learner-readable) and the write RPCs."""

    def __init__(self, client: Client) -> None:
        self._db = client

    def _rpc(self, name: str, args: dict[str, Any]) -> Any:
        return self._db.rpc(name, args).execute().data

    def answer_key_soon(self, question_id: int) -> Future[Row | None]:
        """The answer key, read on a worker thread while the caller reads its learner context."""
        context = contextvars.copy_context()  # the request's counters (REST calls, CPU) follow it

        def fetch() -> Row | None:
            return context.run(run_counting_cpu, lambda: self.answer_key(question_id))

        return _PREFETCH.submit(fetch)

    def answer_key(self, question_id: int) -> Row | None:
        rows = _rows(self._db.table("question_answer_keys")
                     .select("question_id,correct_answer,numeric_tolerance,explanation")
                     .eq("question_id", question_id).limit(1).execute().data)
        return rows[0] if rows else None

    def start_session(self, *, user_id: UUID, mode: str, filters: dict[str, Any]) -> StartedSession:
        return StartedSession.model_validate(self._rpc("start_session", {
            "p_user_id": str(user_id), "p_mode": mode, "p_filters": filters}))

    def serve_question(self, *, user_id: UUID, session_id: UUID, question_id: int,
                       reason: dict[str, Any]) -> ServedQuestionRow:
        return ServedQuestionRow.model_validate(self._rpc("serve_question", {
            "p_user_id": str(user_id), "p_session_id": str(session_id), "p_question_id": question_id,
            "p_reason": reason}))

    def record_answer(self, *, user_id: UUID, answer: dict[str, Any], mastery: list[dict[str, Any]],
                      difficulty_deltas: list[dict[str, Any]], response: dict[str, Any]) -> RecordedAnswer:
        return RecordedAnswer.model_validate(self._rpc("record_answer", {
            "p_user_id": str(user_id), "p_answer": answer, "p_mastery": mastery,
            "p_difficulty_deltas": difficulty_deltas, "p_response": response}))

    def complete_session(self, *, user_id: UUID, session_id: UUID, snapshot: dict[str, Any]) -> CompletedSession:
        return CompletedSession.model_validate(self._rpc("complete_session", {
            "p_user_id": str(user_id), "p_session_id": str(session_id), "p_snapshot": snapshot}))

    def item_exposure(self) -> Row:
        """Sessions serving each question and sessions per filter set, over the last 24 hours (item_exposure)."""
        data: Row = self._rpc("item_exposure", {"p_window_hours": 24})
        return data

    def exam_results(self, *, user_id: UUID, session_id: UUID) -> list[Row]:
        """The answered questions of a completed session with their keys (exam_results; [] before completion)."""
        return _rows(self._rpc("exam_results", {"p_user_id": str(user_id), "p_session_id": str(session_id)}))

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
