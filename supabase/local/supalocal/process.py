"""A local gateway in a child process: `python -m supalocal gateway` on a spare port. The gateway gives its
functions the local stack's settings (SUPABASE_URL etc.), so `/functions/v1/<name>` runs the real functions.

For the demo and the benchmarks, which drive the stack over HTTP from another process, and for the gateway
itself, which serves its functions' REST calls from a REST-only child (`rest_only`). A context manager: the
process is stopped on exit, including on Ctrl-C and errors.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from supalocal.keys import anon_key, function_env
from supalocal.settings import StackSettings

START_TIMEOUT_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    def __init__(self, settings: StackSettings, *, threads: int | None = None, port: int | None = None,
                 maintenance_token: str | None = None, log_path: Path | None = None,
                 append_log: bool = True, rest_only: bool = False, inherit_output: bool = False) -> None:
        """`threads`: the gateway's pool size (its default unless given). `log_path`: where gunicorn's and
        the functions' output goes (appended, or rewritten), else this process's output if `inherit_output`,
        else nowhere. `rest_only`: serve /rest/v1 only, and stop when this process dies."""
        port = port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.anon_key = anon_key(settings.jwt_secret)
        # The functions' settings are the gateway's to give (the local stack's): drop any inherited ones.
        self._env = {key: value for key, value in os.environ.items()
                     if key not in function_env(self.url, settings.jwt_secret) and key != "MAINTENANCE_TOKEN"}
        self._env.update(SP_LOCAL_API_HOST="127.0.0.1", SP_LOCAL_API_PORT=str(port))  # where self.url points
        if maintenance_token is not None:
            self._env["MAINTENANCE_TOKEN"] = maintenance_token
        self._options = [*(["--threads", str(threads)] if threads is not None else []),
                         *(["--rest-only"] if rest_only else [])]
        self._rest_only = rest_only
        self._inherit_output = inherit_output
        self._log_path = log_path
        self._log_mode = "ab" if append_log else "wb"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "the gateway is not running"
        return self._process.pid

    def __enter__(self) -> GatewayProcess:
        command = [sys.executable, "-m", "supalocal", "gateway", *self._options]
        preexec = _die_with_parent if self._rest_only else None
        if self._log_path is None:
            sink = None if self._inherit_output else subprocess.DEVNULL
            self._process = subprocess.Popen(command, env=self._env, stdout=sink, stderr=sink, preexec_fn=preexec)
        else:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            with self._log_path.open(self._log_mode) as log:  # the child keeps its own handle
                self._process = subprocess.Popen(command, env=self._env, stdout=log, stderr=subprocess.STDOUT,
                                                 preexec_fn=preexec)
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
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with httpx.Client(timeout=2.0) as probe:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"the gateway exited with {self._process.returncode}"
                                       + (f"; see {self._log_path}" if self._log_path else ""))
                try:
                    probe.get(f"{self.url}/rest/v1/", headers={"apikey": self.anon_key})
                    return
                except httpx.TransportError:
                    time.sleep(0.1)
        raise RuntimeError(f"the gateway did not answer within {START_TIMEOUT_SECONDS:.0f} s")

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


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (Linux), so a killed gateway leaves no
    REST server behind."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
