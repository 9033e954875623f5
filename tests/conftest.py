"""Shared fixtures: the local stack (Postgres cluster) for tests marked `stack`; a deterministic suite
(Hypothesis derandomized, shared model state restored after every stack test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings

from smartpractice.api import request_stats
from supalocal import cluster
from supalocal.settings import StackSettings, load_settings
from tests import figures, shared_state

# Property tests draw the same examples on every run and machine (no random seed, no example database
# carried between runs); HYPOTHESIS_PROFILE=explore draws fresh ones when hunting for new failures.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
# The functions' database request log flushes once a minute of wall-clock time, i.e. at a moment no test
# chooses, adding an RPC to whatever request happens to run then; tests of it turn it on themselves
# (tests/functions/test_request_stats.py, tests/integration/test_request_stats_stack.py).
os.environ.setdefault("SP_REQUEST_STATS_FLUSH_SECONDS", "0")


@pytest.fixture(autouse=True)
def _no_request_stats_left_behind() -> Iterator[None]:
    """What a test's requests recorded in the process-wide request log does not leak into the next test (nor
    into the exit-time flush)."""
    yield
    leftover = request_stats.STATS.take_due(now=datetime.now(UTC), interval_seconds=0)
    request_stats.STATS.flushed(leftover, ok=True)


@pytest.fixture(scope="session")
def stack_settings() -> StackSettings:
    settings = load_settings()
    cluster.up(settings)
    # Every stack fixture starts from this one, so the snapshot precedes whatever they arrange.
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        shared_state.SESSION = (settings, shared_state.take(conn))
    return settings


@pytest.fixture()
def pg(stack_settings: StackSettings) -> Iterator[psycopg.Connection]:
    """A superuser connection (autocommit) for arranging and inspecting test data."""
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module", autouse=True)
def _restore_shared_state_after_module(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a module's stack tests and its module-scoped arrangements, the shared state of the session's
    start (tests/shared_state.py): set up before, and so torn down after, the module's own fixtures."""
    yield
    if request.module.__name__ in shared_state.MODULES_ON_STACK and shared_state.SESSION is not None:
        settings, snapshot = shared_state.SESSION
        moved = shared_state.restore(shared_state.connection(settings), snapshot)
        if moved:
            shared_state.RESTORED.append((request.node.nodeid, moved))


@pytest.fixture(autouse=True)
def _restore_shared_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each stack test, the bank's difficulties, the BKT/IRT parameters, the cohort cache and the
    maintenance bookkeeping are as the test found them (with its module's arrangements in place)."""
    if request.node.get_closest_marker("stack") is None:
        yield
        return
    settings: StackSettings = request.getfixturevalue("stack_settings")
    shared_state.MODULES_ON_STACK.add(request.module.__name__)
    found = shared_state.take_unless_unchanged(shared_state.connection(settings), shared_state.session_snapshot())
    yield
    moved = shared_state.restore(shared_state.connection(settings), found)
    if moved:
        shared_state.RESTORED.append((request.node.nodeid, moved))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The reliability/security figures recorded during the run (tests/figures.py), as one table."""
    lines = figures.table()
    if lines:
        terminalreporter.section("reliability and security figures")
        for line in lines:
            terminalreporter.write_line(line)
    if shared_state.RESTORED:
        terminalreporter.section("shared state restored after these tests")
        for nodeid, tables in shared_state.RESTORED:
            terminalreporter.write_line(f"{nodeid}: {', '.join(tables)}")
