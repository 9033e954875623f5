"""HTTP calls of the demo: the six functions through the local gateway, plus the gateway process itself.

`FunctionsClient` wraps one shared `httpx.Client` (thread-safe; the cohort's worker threads share its
connection pool). Retryable errors (the body says `retryable: true`, e.g. a mastery version conflict, or a
503) are retried with a short backoff; submit_answer keeps its idempotency key across retries, so a retry
after a lost response replays the stored result instead of answering twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

JsonObject = dict[str, Any]
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 0.05


class DemoHttpError(RuntimeError):
    """A function answered with an error the demo cannot work around."""

    def __init__(self, name: str, status: int, body: str) -> None:
        self.name, self.status, self.body = name, status, body
        super().__init__(f"{name} answered {status}: {body[:500]}")


def _is_retryable(response: httpx.Response) -> bool:
    if response.status_code == 503:
        return True
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return False
    return bool(error.get("retryable"))


@dataclass(frozen=True, slots=True)
class FunctionsClient:
    http: httpx.Client
    base_url: str
    maintenance_token: str

    def call(self, name: str, *, token: str | None, body: JsonObject, method: str = "POST",
             headers: Mapping[str, str] | None = None) -> JsonObject:
        merged = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        url = f"{self.base_url}/functions/v1/{name}"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if method == "GET":
                response = self.http.get(url, params=body, headers=merged)
            else:
                response = self.http.post(url, json=body, headers=merged)
            if response.is_success:
                return dict(response.json())
            if attempt == MAX_ATTEMPTS or not _is_retryable(response):
                raise DemoHttpError(name, response.status_code, response.text)
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def start_session(self, token: str, *, target_questions: int, subject_id: int | None) -> JsonObject:
        body: JsonObject = {"target_questions": target_questions}
        if subject_id is not None:
            body["subject_id"] = subject_id
        return self.call("start_session", token=token, body=body)

    def next_question(self, token: str, *, session_id: str, strategy: str) -> JsonObject:
        # The adaptive strategy is the server's default: only the control group names its strategy.
        body: JsonObject = {"session_id": session_id}
        if strategy != "adaptive":
            body["strategy"] = strategy
        return self.call("next_question", token=token, body=body)

    def submit_answer(self, token: str, *, session_id: str, question_id: int, user_answer: list[str],
                      confidence: int, time_spent_seconds: float, idempotency_key: str) -> JsonObject:
        return self.call("submit_answer", token=token, body={
            "session_id": session_id, "question_id": question_id, "user_answer": user_answer,
            "confidence_score": confidence, "time_spent_seconds": round(time_spent_seconds, 1),
            "idempotency_key": idempotency_key})

    def complete_session(self, token: str, *, session_id: str) -> JsonObject:
        return self.call("complete_session", token=token, body={"session_id": session_id})

    def insights(self, token: str, *, days: int = 30) -> JsonObject:
        return self.call("insights", token=token, body={"days": days})

    def run_maintenance(self, *, run_date: date, steps: list[str]) -> JsonObject:
        # The scheduler's shared token travels in X-Maintenance-Token (no learner or service JWT needed).
        return self.call("run_maintenance", token=None, body={"run_date": run_date.isoformat(), "steps": steps},
                         headers={"X-Maintenance-Token": self.maintenance_token})

