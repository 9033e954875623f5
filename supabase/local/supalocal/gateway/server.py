"""`python -m supalocal gateway`: serve the gateway with gunicorn (one worker, `threads` gthread threads).

Gunicorn (already required by functions-framework on Linux) is the production-grade threaded WSGI
server here; the app, its pool and its LISTEN thread are created inside the worker process, after fork.
SP_LOCAL_FUNCTIONS_SOURCE overrides the functions source file (default functions/main.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from supalocal.gateway.app import GatewayApp, create_gateway_app
from supalocal.gateway.functions_router import DEFAULT_FUNCTIONS_SOURCE
from supalocal.settings import StackSettings


class _GatewayServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, settings: StackSettings, *, threads: int, functions_source: Path) -> None:
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
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> GatewayApp:
        self._app = create_gateway_app(self._settings, functions_source=self._functions_source,
                                       pool_size=self._threads)
        return self._app

    def _close_app(self, _server: Any, _worker: Any) -> None:
        if self._app is not None:
            self._app.close()


def serve(settings: StackSettings, threads: int = 16) -> None:
    """Serve /rest/v1 and /functions/v1 on settings.api_host:api_port until interrupted."""
    source = Path(os.environ.get("SP_LOCAL_FUNCTIONS_SOURCE", str(DEFAULT_FUNCTIONS_SOURCE)))
    _GatewayServer(settings, threads=threads, functions_source=source).run()
