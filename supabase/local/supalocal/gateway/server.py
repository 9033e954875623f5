"""`python -m supalocal gateway`: serve the gateway with gunicorn (one worker, gthread threads).

Two servers, two pools, so function calls never starve the REST calls they make:
- the public server (`threads` threads) on settings.api_port serves /functions/v1 and /rest/v1 for clients;
- a REST-only server (`rest_threads` threads, its own child process on a spare loopback port) serves the
  functions' own REST calls: their SUPABASE_URL points at it. It only ever waits on Postgres, so however
  many function calls queue on the public server, the REST calls they have made are answered.
In one pool, a function call holds a thread while its REST calls queue behind other function calls (at 64
clients on 16 threads every start_session answered 503 after ~26 s).

The functions get the local stack's settings (SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY,
SUPABASE_JWT_SECRET) unless the environment sets them; with SP_LOCAL_NEW_API_KEYS=1 they get the new-style
ones instead (SUPABASE_PUBLISHABLE_KEY, SUPABASE_SECRET_KEY, SUPABASE_JWKS_URL, no JWT secret). The
functions source is imported once before the worker starts, so its start-up checks (functions settings)
are logged at start-up, not on first request.

Gunicorn (already required by functions-framework on Linux) is the production-grade threaded WSGI server
here; each app, its pool and its LISTEN thread are created inside the worker process, after fork.
SP_LOCAL_FUNCTIONS_SOURCE overrides the functions source file (default functions/main.py).
"""

from __future__ import annotations

import logging
import os
import runpy
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from supalocal.gateway.app import GatewayApp, create_gateway_app
from supalocal.gateway.functions_router import DEFAULT_FUNCTIONS_SOURCE
from supalocal.keys import function_env
from supalocal.process import GatewayProcess
from supalocal.settings import StackSettings

_log = logging.getLogger(__name__)
DEFAULT_THREADS = 16
DEFAULT_REST_THREADS = 16


class _GatewayServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, settings: StackSettings, *, threads: int, functions_source: Path | None) -> None:
        self._settings = settings
        self._threads = threads
        self._functions_source = functions_source
        self._app: GatewayApp | None = None
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": f"{self._settings.api_host}:{self._settings.api_port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": self._threads,
            "timeout": 120,
            "graceful_timeout": 5,
            "keepalive": 5,
            "worker_exit": self._close_app,
            # The request-line limit is hosted's (gateway/edge.py: 8190 bytes, 414 "URI too long"), checked
            # by the app; gunicorn's own default (4094 bytes) would refuse lines hosted accepts.
            "limit_request_line": 0,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> GatewayApp:
        self._app = create_gateway_app(self._settings, functions_source=self._functions_source,
                                       pool_size=self._threads, rest_only=self._functions_source is None)
        return self._app

    def _close_app(self, _server: Any, _worker: Any) -> None:
        if self._app is not None:
            self._app.close()


def serve(settings: StackSettings, threads: int = DEFAULT_THREADS, rest_threads: int = DEFAULT_REST_THREADS) -> None:
    """Serve /rest/v1 and /functions/v1 on settings.api_host:api_port until interrupted."""
    source = Path(os.environ.get("SP_LOCAL_FUNCTIONS_SOURCE", str(DEFAULT_FUNCTIONS_SOURCE)))
    with GatewayProcess(settings, threads=rest_threads, rest_only=True, inherit_output=True) as rest:
        new_keys = os.environ.get("SP_LOCAL_NEW_API_KEYS", "") == "1"
        for var, value in function_env(rest.url, settings.jwt_secret, new_keys=new_keys, settings=settings).items():
            os.environ.setdefault(var, value)
        _preload(source)
        _GatewayServer(settings, threads=threads, functions_source=source).run()


def serve_rest(settings: StackSettings, threads: int = DEFAULT_REST_THREADS) -> None:
    """Serve /rest/v1 only (the REST server of `serve`)."""
    _GatewayServer(settings, threads=threads, functions_source=None).run()


def _preload(source: Path) -> None:
    """Import the functions source once (its start-up checks log now; the worker forks with it imported).
    A source that fails to import is logged here and answered per request by the router."""
    if not source.exists():
        return
    try:
        runpy.run_path(str(source), run_name=f"supalocal_preload_{source.stem}")
    except Exception:
        _log.exception("importing the functions source %s failed", source)
