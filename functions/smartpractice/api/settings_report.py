"""The start-up report of the function settings: one log line naming what is wrong, once per process.

`endpoint` calls `report_settings_once` when an entry point is defined (when main.py is imported, i.e.
at instance start-up), so a misconfigured deployment says so before its first request; each request then
answers 503 `server_misconfigured` naming the same variables (see http.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from smartpractice.api.errors import ServerMisconfigured
from smartpractice.api.logs import ensure_logging, get_logger
from smartpractice.config import ConfigurationError, Settings

MISCONFIGURED_CODE = ServerMisconfigured.default_code
_log = get_logger("api.settings")
_reported: set[Callable[[], Settings]] = set()
_lock = threading.Lock()


def report_settings(settings_loader: Callable[[], Settings]) -> ConfigurationError | None:
    """Load the settings; log (ERROR) and return the problem, if any, with the endpoints it fails."""
    try:
        settings_loader().require_maintenance()
        return None
    except ConfigurationError as exc:
        problem = exc
    try:
        settings_loader()
        affected = "run_maintenance"  # only the maintenance settings are wrong: learner endpoints work
    except ConfigurationError:
        affected = "every endpoint"
    ensure_logging()
    _log.error("server misconfigured: %s; %s answers 503 %s", problem, affected, MISCONFIGURED_CODE,
               extra={"json_fields": {"code": MISCONFIGURED_CODE, "settings": list(problem.variables),
                                      "affected": affected}})
    return problem


def report_settings_once(settings_loader: Callable[[], Settings]) -> None:
    """`report_settings` the first time this loader is seen in the process (entry points share it)."""
    with _lock:
        if settings_loader in _reported:
            return
        _reported.add(settings_loader)
    report_settings(settings_loader)
