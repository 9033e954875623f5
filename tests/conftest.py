"""Shared fixtures: the local stack (Postgres cluster) for tests marked `stack`; Hypothesis derandomized."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings

from supalocal import cluster
from supalocal.settings import StackSettings, load_settings
from tests import figures

# Property tests draw the same examples on every run and machine (no random seed, no example database
# carried between runs); HYPOTHESIS_PROFILE=explore draws fresh ones when hunting for new failures.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


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
