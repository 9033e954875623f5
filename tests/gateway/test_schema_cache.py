"""The schema cache follows the database (NOTIFY pgrst, reload on a miss) and the gateway survives its
connections being killed, as after a database restart."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.gateway.conftest import Gateway, Names

pytestmark = pytest.mark.stack


def test_notify_pgrst_reloads_the_cache(gw: Gateway, pg: psycopg.Connection) -> None:
    before = gw.app.schema_cache
    pg.execute("notify pgrst, 'reload schema'")
    deadline = time.monotonic() + 5
    while gw.app.schema_cache is before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gw.app.schema_cache is not before


def test_objects_created_after_start_are_found_on_first_use(gw: Gateway, names: Names,
                                                             pg: psycopg.Connection) -> None:
    table, function = f"{names.prefix}_late", names.fn("late")
    pg.execute(f"create table public.{table} (id int primary key, label text)".encode())
    pg.execute(f"insert into public.{table} values (1, 'one')".encode())
    pg.execute(f"create function public.{function}(x int) returns int language sql as $$ select x + 100 $$"
               .encode())
    assert table not in gw.app.schema_cache.tables
    assert gw.anon().table(table).select("*").execute().data == [{"id": 1, "label": "one"}]
    assert gw.anon().rpc(function, {"x": 1}).execute().data == 101


def test_a_new_column_is_found_on_first_write(gw: Gateway, names: Names, pg: psycopg.Connection) -> None:
    table = f"{names.prefix}_grows"
    pg.execute(f"create table public.{table} (id int primary key)".encode())
    assert gw.service().table(table).insert({"id": 1}).execute().data == [{"id": 1}]
    pg.execute(f"alter table public.{table} add column extra text".encode())
    rows = gw.service().table(table).upsert({"id": 1, "extra": "new"}).execute().data
    assert rows == [{"id": 1, "extra": "new"}]


def test_requests_survive_killed_connections(gw: Gateway, names: Names, pg: psycopg.Connection) -> None:
    client = gw.anon()
    assert client.rpc(names.fn("add"), {"a": 1}).execute().data == 2
    killed = pg.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = %s",
                        (gw.app.application_name,)).fetchone()
    assert killed is not None and killed[0] >= 2  # pooled connection(s) and the LISTEN connection
    assert [client.rpc(names.fn("add"), {"a": i}).execute().data for i in range(6)] == [1, 2, 3, 4, 5, 6]
    before = gw.app.schema_cache
    deadline = time.monotonic() + 10  # the listener reconnects (and reloads) on its own
    while gw.app.schema_cache is before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gw.app.schema_cache is not before
