"""`make deploy-check`: the deploy unit, built as Cloud Functions builds it, serving one learner and the scheduler.

1. Builds a fresh venv from `functions/requirements.txt` alone and copies `functions/` (the upload) to a
   folder of its own, so an import that the requirements miss, or a file outside the unit, fails here.
2. Starts each entry point with `functions-framework --target=<fn> --source=<copy>/main.py` (what the Python
   runtime runs) on a port of its own, against a REST-only local gateway (the stand-in for PostgREST).
3. Drives one learner's session (start_session, next_question and submit_answer three times,
   complete_session, insights) and the scheduler's call (run_maintenance with the maintenance token, body `{}`
   as the Cloud Scheduler job sends it), checking statuses and bodies; prints one line per call.
The learner is deleted at the end; the maintenance run for yesterday stays in maintenance_runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from supalocal.keys import function_env, learner_jwt
from supalocal.process import GatewayProcess, free_port
from supalocal.settings import REPO_ROOT, StackSettings, load_settings

FUNCTIONS = ("start_session", "next_question", "submit_answer", "complete_session", "insights", "run_maintenance")
MAINTENANCE_TOKEN = "deploy-check-maintenance-token-0123456789"
START_TIMEOUT_SECONDS = 60.0
# Cloud Run's revision variable, which the request log puts in front of each instance id: this run's rows.
REVISION = f"deploy-check-{uuid.uuid4().hex[:8]}"


def build_unit(workdir: Path) -> tuple[Path, Path]:
    """(venv python, unit folder): `pip install -r requirements.txt` into a new venv, and a copy of functions/."""
    unit = workdir / "functions"
    shutil.copytree(REPO_ROOT / "functions", unit, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(unit / "requirements.txt")], check=True)
    print(f"deploy unit: venv from functions/requirements.txt alone in {time.perf_counter() - started:.1f}s")
    return python, unit


@contextmanager
def serve_functions(python: Path, unit: Path, supabase_url: str, settings: StackSettings,
                    log_dir: Path) -> Iterator[dict[str, str]]:
    """Each entry point under functions-framework; yields name → base URL; stops them all on exit."""
    env = {**os.environ, **function_env(supabase_url, settings.jwt_secret), "MAINTENANCE_TOKEN": MAINTENANCE_TOKEN,
           "K_REVISION": REVISION}
    # Run from the unit folder with the unit's venv only: nothing from this repo's venv may leak in.
    env.pop("PYTHONPATH", None)
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for name in FUNCTIONS:
            port = free_port()
            log = (log_dir / f"{name}.log").open("wb")
            processes.append(subprocess.Popen(
                [str(python.parent / "functions-framework"), f"--target={name}", f"--source={unit / 'main.py'}",
                 "--host=127.0.0.1", f"--port={port}"], cwd=unit, env=env, stdout=log, stderr=subprocess.STDOUT))
            urls[name] = f"http://127.0.0.1:{port}"
        _wait_until_listening(urls, processes)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def _wait_until_listening(urls: dict[str, str], processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    pending = {name: (url, process) for (name, url), process in zip(urls.items(), processes, strict=True)}
    while pending:
        for name, (url, process) in list(pending.items()):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} before serving; see its log")
            try:
                httpx.options(url, timeout=1.0)
                del pending[name]
            except httpx.TransportError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"not serving after {START_TIMEOUT_SECONDS:.0f}s: {sorted(pending)}")
        time.sleep(0.2)


def _expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise AssertionError(f"{what}: expected {status}, got {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    print(f"  {what}: {response.status_code} in {response.elapsed.total_seconds() * 1000:.0f} ms")
    return body


def run_learner_session(http: httpx.Client, urls: dict[str, str], token: str, dsn: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    session = _expect(http.post(urls["start_session"], json={"target_questions": 3}, headers=auth), 201,
                      "start_session")
    session_id = session["session_id"]
    for i in range(3):
        served = _expect(http.post(urls["next_question"], json={"session_id": session_id}, headers=auth), 200,
                         f"next_question #{i + 1}")
        assert served["status"] == "served", served
        question_id = served["question"]["id"]
        with psycopg.connect(dsn) as conn:  # the operator reads the key; the learner never can
            row = conn.execute("select correct_answer from public.question_answer_keys where question_id = %s",
                               (question_id,)).fetchone()
        assert row is not None
        graded = _expect(http.post(urls["submit_answer"], headers=auth, json={
            "session_id": session_id, "question_id": question_id, "user_answer": list(row[0]),
            "confidence_score": 4, "time_spent_seconds": 42.0, "idempotency_key": str(uuid.uuid4())}), 200,
            f"submit_answer #{i + 1}")
        assert graded["is_correct"] is True, graded
    summary = _expect(http.post(urls["complete_session"], json={"session_id": session_id}, headers=auth), 200,
                      "complete_session")
    assert (summary["snapshot"]["total_answered"], summary["snapshot"]["total_correct"]) == (3, 3), summary
    insights = _expect(http.get(urls["insights"], headers=auth), 200, "insights")
    assert insights["mastery"], "insights lists no skill after three answers"


def run_scheduler_call(http: httpx.Client, urls: dict[str, str]) -> None:
    # What the Cloud Scheduler job of the README sends: POST, JSON body {}, the maintenance credential.
    result = _expect(http.post(urls["run_maintenance"], json={}, timeout=600.0,
                               headers={"X-Maintenance-Token": MAINTENANCE_TOKEN}), 200, "run_maintenance")
    statuses = {step["step"]: step["status"] for step in result["steps"]}
    assert all(status in ("done", "skipped") for status in statuses.values()), statuses
    print(f"  run_maintenance {result['run_date']}: " + ", ".join(f"{k} {v}" for k, v in statuses.items()))


def check_request_log(dsn: str, *, revision: str) -> None:
    """Stopped instances sent their request counts on the way out (SIGTERM → graceful exit → atexit flush)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("""select function_name, status, sum(requests)::int from public.function_request_stats
                               where instance_id like %s group by 1, 2 order by 1, 2""",
                            (f"{revision}:%",)).fetchall()
    print("request log (function_request_stats): " + ", ".join(f"{f} {s}×{n}" for f, s, n in rows))
    # one readiness probe (OPTIONS → 204) per entry point, then the calls above
    expected = [("complete_session", 200, 1), ("insights", 200, 1), ("next_question", 200, 3),
                ("run_maintenance", 200, 1), ("start_session", 201, 1), ("submit_answer", 200, 3)]
    assert rows == sorted([*expected, *((name, 204, 1) for name in FUNCTIONS)]), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the build folder (venv, unit, logs)")
    args = parser.parse_args(argv)
    settings = load_settings()
    workdir = Path(tempfile.mkdtemp(prefix="deploy-check-", dir=settings.state_dir))
    learner = uuid.uuid4()
    try:
        python, unit = build_unit(workdir)
        with ExitStack() as stack:
            rest = stack.enter_context(GatewayProcess(settings, rest_only=True,
                                                      log_path=workdir / "gateway.log"))
            urls = stack.enter_context(serve_functions(python, unit, rest.url, settings, workdir))
            http = stack.enter_context(httpx.Client(timeout=30.0))
            with psycopg.connect(settings.dsn(), autocommit=True) as conn:
                conn.execute("insert into auth.users (id, email) values (%s, %s)",
                             (learner, f"deploy-check-{learner}@example.test"))
            print(f"functions-framework serving {len(urls)} entry points from the unit; one learner:")
            run_learner_session(http, urls, learner_jwt(learner, secret=settings.jwt_secret), settings.dsn())
            print("the scheduler:")
            run_scheduler_call(http, urls)
        check_request_log(settings.dsn(), revision=REVISION)
    finally:
        with psycopg.connect(settings.dsn(), autocommit=True) as conn:
            conn.execute("delete from auth.users where id = %s", (learner,))
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("deploy check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
