"""Shared fixtures: the local stack (Postgres cluster) for tests marked `stack`."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from supalocal import cluster
from supalocal.settings import StackSettings, load_settings
from tests import figures


@pytest.fixture(scope="session")
def stack_settings() -> StackSettings:
    settings = load_settings()
    cluster.up(settings)
    return settings


@pytest.fixture()
def pg(stack_settings: StackSettings) -> Iterator[psycopg.Connection]:
    """A superuser connection (autocommit) for arranging and inspecting test data."""
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        yield conn


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The reliability/security figures recorded during the run (tests/figures.py), as one table."""
    lines = figures.table()
    if lines:
        terminalreporter.section("reliability and security figures")
        for line in lines:
            terminalreporter.write_line(line)
