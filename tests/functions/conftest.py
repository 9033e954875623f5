"""Shared fixtures of the function tests: the JSON log captured into a string."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from smartpractice.api.logs import LOGGER_NAME, configure_logging


@pytest.fixture()
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(stream=stream)
    yield stream
    logging.getLogger(LOGGER_NAME).removeHandler(handler)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]
