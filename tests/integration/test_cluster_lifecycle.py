"""The private cluster starts from nothing, resets, and stops leaving no process behind.

Uses its own state folder and port so it never disturbs the cluster other tests share. The folder is not under
pytest's basetemp: every pytest session of the machine's user re-chmods /tmp/pytest-of-<user> to 0700, which
(when another session starts meanwhile) locks the server user out of its data folder mid-initdb; and the port
is a free one, not a fixed number another checkout running this test at the same moment would also take.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from supalocal import cluster
from supalocal.process import free_port
from supalocal.settings import StackSettings, load_settings

pytestmark = pytest.mark.stack


def _postgres_pids_for(pgdata: Path) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()[1:] if str(pgdata) in line and "postgres" in line]


@pytest.fixture()
def scratch_settings() -> Iterator[StackSettings]:
    state = Path(tempfile.mkdtemp(prefix="supalocal-scratch-cluster-"))
    state.chmod(0o755)  # the server user must be able to reach its data folder (/tmp itself is world-searchable)
    settings = dataclasses.replace(load_settings(), db_port=free_port(), state_dir=state)
    try:
        yield settings
    finally:
        cluster.destroy(settings)  # a no-op when the test got there; else stops what it left running
        shutil.rmtree(state, ignore_errors=True)


def _count_skills_table(settings: StackSettings) -> int:
    with psycopg.connect(settings.dsn()) as conn:
        row = conn.execute("select count(*) from pg_roles where rolname in "
                           "('anon','authenticated','service_role','authenticator')").fetchone()
        assert row is not None
        return int(row[0])


def test_cluster_starts_from_nothing_resets_and_stops_cleanly(scratch_settings: StackSettings) -> None:
    settings = scratch_settings
    assert not cluster.is_initialised(settings)

    t0 = time.perf_counter()
    cluster.up(settings)
    cold = time.perf_counter() - t0
    assert cluster.is_running(settings)
    assert _count_skills_table(settings) == 4
    print(f"cold start incl. migrations and seed: {cold:.2f}s")

    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        conn.execute("create table public.scratch_marker (id int)")
    cluster.reset(settings)
    with psycopg.connect(settings.dsn()) as conn:
        row = conn.execute("select to_regclass('public.scratch_marker') is null").fetchone()
        assert row == (True,)

    # the same cluster under another SP_LOCAL_DB_PORT is restarted on that port, not left on the old one
    moved = dataclasses.replace(settings, db_port=free_port())
    cluster.start(moved)
    assert cluster.running_port(moved) == moved.db_port
    assert _count_skills_table(moved) == 4
    cluster.start(settings)
    assert cluster.running_port(settings) == settings.db_port

    cluster.stop(settings)
    assert not cluster.is_running(settings)
    assert _postgres_pids_for(settings.pgdata) == []

    # A first `up` whose port someone else holds fails after initdb, naming the reason from the server log (not
    # just "examine the log output"); once the port is free, `up` starts it and loads the schema it never got.
    # The held port is one the kernel hands out now (port 0), not the one just used: connections to that one
    # may still sit in TIME_WAIT, which would refuse this plain bind (Postgres binds with SO_REUSEADDR).
    cluster.destroy(settings)
    with socket.socket() as taken:
        taken.bind((settings.db_host, 0))
        taken.listen()
        held = dataclasses.replace(settings, db_port=taken.getsockname()[1])
        with pytest.raises(cluster.ClusterError, match="Address already in use"):
            cluster.up(held)
    assert cluster.is_initialised(held) and not cluster.is_running(held)
    cluster.up(held)
    assert cluster.schema_loaded(held) and _count_skills_table(held) == 4
    cluster.destroy(held)
    assert not settings.pgdata.exists()
