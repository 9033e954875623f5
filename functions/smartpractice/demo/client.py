"""HTTP calls of the demo: the six functions through the local gateway, plus the gateway process itself.

`FunctionsClient` wraps one shared `httpx.Client` (thread-safe; the cohort's worker threads share its
connection pool). Retryable errors (the body says `retryable: true`, e.g. a mastery version conflict, or a
503) are retried with a short backoff; submit_answer keeps its idempotency key across retries, so a retry
after a lost response replays the stored result instead of answering twice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from supalocal.keys import anon_key, service_role_key
from supalocal.settings import StackSettings

JsonObject = dict[str, Any]
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 0.05
GATEWAY_START_TIMEOUT_SECONDS = 30.0


class DemoHttpError(RuntimeError):
    """A function answered with an error the demo cannot work around."""

    def __init__(self, name: str, status: int, body: str) -> None:
        self.name, self.status, self.body = name, status, body
        super().__init__(f"{name} answered {status}: {body[:500]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


class GatewayProcess:
    """`python -m supalocal gateway` on a spare port with the functions' settings pointing back at it.

    A context manager: the process is stopped on exit, including on Ctrl-C and errors.
    """

    def __init__(self, settings: StackSettings, *, port: int, maintenance_token: str, threads: int,
                 log_path: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._env = {
            **os.environ,
            "SP_LOCAL_API_PORT": str(port),
            "SUPABASE_URL": self.url,
            "SUPABASE_ANON_KEY": anon_key(settings.jwt_secret),
            "SUPABASE_SERVICE_ROLE_KEY": service_role_key(settings.jwt_secret),
            "SUPABASE_JWT_SECRET": settings.jwt_secret,
            "MAINTENANCE_TOKEN": maintenance_token,
        }
        self._threads = threads
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> GatewayProcess:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("wb") as log:  # the child keeps its own handle
            self._process = subprocess.Popen(
                [sys.executable, "-m", "supalocal", "gateway", "--threads", str(self._threads)],
                env=self._env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + GATEWAY_START_TIMEOUT_SECONDS
        with httpx.Client(timeout=2.0) as probe:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"the gateway exited with {self._process.returncode}; see {self._log_path}")
                try:
                    probe.get(f"{self.url}/rest/v1/", headers={"apikey": self._env["SUPABASE_ANON_KEY"]})
                    return
                except httpx.TransportError:
                    time.sleep(0.1)
        raise RuntimeError(f"the gateway did not answer within {GATEWAY_START_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
