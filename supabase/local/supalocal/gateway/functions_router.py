"""/functions/v1/<name>[/...]: dispatch to the functions-framework entry point <name> of functions/main.py.

Each entry point gets its own app from `functions_framework.create_app(target=name, source=...)`, built
lazily on first use (so functions/main.py may appear after the gateway starts) and reused until the
source file changes (then rebuilt, so edits show without a restart). The request reaches the function
with PATH_INFO rewritten to what follows the name ('/' by default), exactly as Cloud Functions mounts a
function at its root. Authentication is the function's own job (it verifies the JWT itself), so the
router passes headers through untouched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions_framework import create_app
from functions_framework.exceptions import InvalidTargetTypeException, MissingTargetException

from supalocal.settings import REPO_ROOT

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_log = logging.getLogger(__name__)
DEFAULT_FUNCTIONS_SOURCE = REPO_ROOT / "functions" / "main.py"
PREFIX = "/functions/v1"
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FRAMEWORK_ENV = ("FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE")


def _json_response(start_response: StartResponse, status: str, code: str, message: str) -> Iterable[bytes]:
    body = json.dumps({"code": code, "message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _not_found(start_response: StartResponse) -> Iterable[bytes]:
    return _json_response(start_response, "404 Not Found", "NOT_FOUND", "Requested function was not found")


class _NotWsgiError(Exception):
    """The entry point is an ASGI (@aio) function, which a WSGI gateway cannot host."""


class FunctionsRouter:
    def __init__(self, source: Path = DEFAULT_FUNCTIONS_SOURCE) -> None:
        self._source = source
        self._apps: dict[str, WSGIApplication] = {}
        self._source_mtime: int | None = None
        self._lock = threading.Lock()

    def _create(self, name: str) -> WSGIApplication | None:
        saved = {key: os.environ.get(key) for key in _FRAMEWORK_ENV}
        try:
            app: Any = create_app(target=name, source=str(self._source))  # type: ignore[no-untyped-call]
        except (MissingTargetException, InvalidTargetTypeException):
            return None
        finally:  # create_app writes its target into os.environ: put it back
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if not hasattr(app, "wsgi_app"):
            raise _NotWsgiError(f"entry point {name!r} is not a WSGI (Flask) function")
        wsgi_app: WSGIApplication = app
        return wsgi_app

    def _app_for(self, name: str) -> WSGIApplication | None:
        with self._lock:
            mtime = self._source.stat().st_mtime_ns
            if mtime != self._source_mtime:  # the source was edited: rebuild entry points on demand
                self._apps.clear()
                self._source_mtime = mtime
            if name not in self._apps:
                app = self._create(name)
                if app is None:
                    return None
                self._apps[name] = app
            return self._apps[name]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        name, _, rest = path.removeprefix(PREFIX).lstrip("/").partition("/")
        if not _NAME_RE.fullmatch(name):
            return _not_found(start_response)
        if not self._source.exists():
            return _json_response(start_response, "404 Not Found", "NOT_FOUND",
                                  f"No functions source at {self._source}")
        try:
            app = self._app_for(name)
        except _NotWsgiError as exc:
            return _json_response(start_response, "501 Not Implemented", "PGRST127", str(exc))
        except Exception as exc:  # the source failed to import: answer, log, and retry on the next call
            _log.exception("loading entry point %r from %s failed", name, self._source)
            return _json_response(start_response, "500 Internal Server Error", "FUNCTION_LOAD_ERROR",
                                  f"{type(exc).__name__}: {exc}")
        if app is None:
            return _not_found(start_response)
        routed = dict(environ)
        routed["SCRIPT_NAME"] = f"{environ.get('SCRIPT_NAME', '')}{PREFIX}/{name}"
        routed["PATH_INFO"] = f"/{rest}"
        return app(routed, start_response)
