"""One-line JSON logs in the shape Cloud Logging parses from a function's stdout (`severity`, `message`,
plus our fields as structured payload).

Callers attach fields with `extra={"json_fields": {...}}`. What goes in is chosen by the caller: the
request wrapper logs ids, status and timings only — never tokens, bodies or personal data beyond the
user id.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER_NAME = "smartpractice"
_HANDLER_NAME = "smartpractice-json"
_RESERVED = frozenset({"severity", "message", "time", "logger"})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
        }
        fields = getattr(record, "json_fields", None)
        if isinstance(fields, dict):
            payload.update({k: v for k, v in fields.items() if k not in _RESERVED})
        if record.exc_info:
            payload["stack_trace"] = self.formatException(record.exc_info)
        # default=str: UUIDs, datetimes; json.dumps escapes newlines, so one record is one line.
        return json.dumps(payload, default=str, ensure_ascii=False, separators=(",", ":"))


def configure_logging(*, stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """(Re)install the JSON handler on the package logger; idempotent. Tests pass their own stream."""
    logger = logging.getLogger(LOGGER_NAME)
    for existing in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(existing)
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    # Records still propagate: on Cloud Functions the root logger has no handler (so no duplicates), and
    # under pytest `caplog` keeps working for code that logs through the package logger.
    return handler


def ensure_logging() -> None:
    """Install the JSON handler unless one is already installed (called on every request, cheap)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(h.get_name() == _HANDLER_NAME for h in logger.handlers):
        configure_logging()


def get_logger(name: str) -> logging.Logger:
    """A child of the package logger, e.g. get_logger('api.request')."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
