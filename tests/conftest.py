"""Shared fixtures: the local stack (Postgres cluster) for tests marked `stack`."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from supalocal import cluster
from supalocal.settings import StackSettings, load_settings


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
