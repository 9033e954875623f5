"""64 concurrent learners through the served gateway (`python -m supalocal gateway`, gunicorn).

Every function call makes REST calls back to the stack; those run in a pool of their own, so however many
function calls wait, none starves the REST calls it needs: every request is answered 2xx, none 503.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from supalocal.process import GatewayProcess
from supalocal.settings import StackSettings
from tests import figures
from tests.integration.conftest import Learner

pytestmark = pytest.mark.stack
N_CLIENTS = 64


@dataclass(frozen=True)
class Call:
    function: str
    status: int
    code: str | None  # the error code of a non-2xx answer
    seconds: float


@pytest.fixture(scope="module")
def gateway(stack_settings: StackSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    log = tmp_path_factory.mktemp("gateway_concurrency") / "gateway.log"
    with GatewayProcess(stack_settings, log_path=log) as process:
        yield process


def _post(http: httpx.Client, url: str, function: str, token: str, body: object) -> tuple[Call, httpx.Response]:
    began = time.perf_counter()
    response = http.post(f"{url}/functions/v1/{function}", json=body, headers={"Authorization": f"Bearer {token}"})
    code = None if response.is_success else str(response.json().get("error", {}).get("code"))
    return Call(function, response.status_code, code, time.perf_counter() - began), response


def test_64_concurrent_learners_are_all_answered_without_starvation(
        gateway: GatewayProcess, make_learner: Callable[[], Learner]) -> None:
    learners = [make_learner() for _ in range(N_CLIENTS)]
    start = threading.Barrier(N_CLIENTS)

    def practise(learner: Learner) -> list[Call]:
        with httpx.Client(timeout=120.0) as http:
            start.wait()
            started, response = _post(http, gateway.url, "start_session", learner.token, {})
            if not response.is_success:
                return [started]
            body = {"session_id": response.json()["session_id"]}
            picked, _ = _post(http, gateway.url, "next_question", learner.token, body)
            return [started, picked]

    with ThreadPoolExecutor(max_workers=N_CLIENTS) as pool:
        calls = [call for calls in pool.map(practise, learners) for call in calls]

    outcomes = Counter(f"{c.function} {c.status}" + (f" {c.code}" if c.code else "") for c in calls)
    cuts = statistics.quantiles([c.seconds * 1000 for c in calls], n=20)
    figures.record(check=f"{N_CLIENTS} concurrent learners: start_session + next_question via gunicorn",
                   tried=len(calls), succeeded=sum(c.status < 300 for c in calls),
                   server_errors=sum(c.status >= 500 for c in calls),
                   note=f"p50 {cuts[9]:.0f} ms, p95 {cuts[18]:.0f} ms")
    assert outcomes == {"start_session 201": N_CLIENTS, "next_question 200": N_CLIENTS}
