"""`db-max-rows` as PostgREST applies it (hosted Supabase: "Max Rows", 1000 by default).

PostgREST docs, configuration "db-max-rows": "A hard limit to the number of rows PostgREST will fetch from
a view, table, or stored procedure. Limits payload size for accidental or malicious requests." Source:
Plan.hs `treeRestrictRange` caps the range of every read plan (tables, views, and the read over an RPC's
result) but not mutations; RangeQuery.hs `restrictRange` keeps the offset and lowers the limit to
max-rows. Content-Range reports the rows returned ("0-2/5" with a count, 206 when the total is larger;
Response.hs rangeStatus). A function returning one json/jsonb value is one row: never capped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from postgrest.types import CountMethod

from supalocal.gateway import GatewayApp, create_gateway_app
from supalocal.settings import StackSettings, load_settings
from tests.gateway.conftest import Gateway, Names, as_rows

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def json_list_fn(names: Names, pg_module: psycopg.Connection) -> str:
    name = names.fn("json_list")
    pg_module.execute(f"""create function public.{name}(n int) returns jsonb language sql stable as $$
        select coalesce(jsonb_agg(g order by g), '[]') from generate_series(1, n) g $$""".encode())
    return name


@pytest.fixture(scope="module")
def pg_module(stack_settings: StackSettings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        yield conn


def _app(settings: StackSettings, max_rows: int | None) -> GatewayApp:
    return create_gateway_app(replace(settings, max_rows=max_rows), rest_only=True, pool_size=2, listen=False)


@pytest.fixture(scope="module")
def apps(stack_settings: StackSettings, names: Names) -> Iterator[dict[int | None, GatewayApp]]:
    built = {cap: _app(stack_settings, cap) for cap in (3, 1000, None)}
    yield built
    for app in built.values():
        app.close()


@pytest.fixture()
def capped(apps: dict[int | None, GatewayApp], stack_settings: StackSettings) -> Iterator[Gateway]:
    gateway = Gateway(apps[3], stack_settings)
    yield gateway
    gateway.close()


def _ids(gateway: Gateway, path: str, **headers: str) -> tuple[int, str, list[int]]:
    response = gateway.raw("GET", path, headers=headers)
    assert response.status_code in (200, 206), response.text
    return response.status_code, response.headers["Content-Range"], [row["id"] for row in response.json()]


def test_default_is_1000_and_zero_means_no_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SP_LOCAL_DB_MAX_ROWS", raising=False)
    assert load_settings().max_rows == 1000
    monkeypatch.setenv("SP_LOCAL_DB_MAX_ROWS", "0")
    assert load_settings().max_rows is None
    monkeypatch.setenv("SP_LOCAL_DB_MAX_ROWS", "-1")
    with pytest.raises(ValueError, match="SP_LOCAL_DB_MAX_ROWS must be >= 0"):
        load_settings()


def test_table_reads_stop_at_max_rows_and_content_range_says_so(capped: Gateway, names: Names) -> None:
    things = f"/rest/v1/{names.things}?select=id&order=id"
    assert _ids(capped, things) == (200, "0-2/*", [1, 2, 3])
    assert _ids(capped, things, Prefer="count=exact") == (206, "0-2/5", [1, 2, 3])
    assert _ids(capped, things + "&limit=2") == (200, "0-1/*", [1, 2])  # a smaller limit stands
    assert _ids(capped, things + "&limit=10") == (200, "0-2/*", [1, 2, 3])
    assert _ids(capped, things + "&offset=1&limit=10", Prefer="count=exact") == (206, "1-3/5", [2, 3, 4])
    assert _ids(capped, things + "&offset=3") == (200, "3-4/*", [4, 5])  # the offset is kept
    assert _ids(capped, things, Range="1-4") == (200, "1-3/*", [2, 3, 4])
    head = capped.raw("HEAD", things, headers={"Prefer": "count=exact"})
    assert (head.status_code, head.headers["Content-Range"], head.content) == (206, "0-2/5", b"")


def test_the_official_client_gets_the_capped_page(capped: Gateway, names: Names) -> None:
    result = capped.client().table(names.things).select("id", count=CountMethod.exact).order("id").execute()
    assert ([row["id"] for row in as_rows(result.data)], result.count) == ([1, 2, 3], 5)


def test_set_returning_rpc_results_are_capped(capped: Gateway, names: Names) -> None:
    rows = capped.raw("POST", f"/rest/v1/rpc/{names.fn('things')}", json={},
                      headers={"Prefer": "count=exact"})
    assert (rows.status_code, rows.headers["Content-Range"], [r["id"] for r in rows.json()]) == (
        206, "0-2/4", [1, 2, 3])
    table = capped.raw("GET", f"/rest/v1/rpc/{names.fn('pairs')}?n=5")
    assert (table.headers["Content-Range"], table.json()) == (
        "0-2/*", [{"i": 1, "sq": 1}, {"i": 2, "sq": 4}, {"i": 3, "sq": 9}])
    scalars = capped.raw("POST", f"/rest/v1/rpc/{names.fn('nums')}", json={"n": 5})
    assert (scalars.headers["Content-Range"], scalars.json()) == ("0-2/*", [1, 2, 3])


def test_a_json_result_is_one_row_and_never_capped(capped: Gateway, json_list_fn: str) -> None:
    for response in (capped.raw("POST", f"/rest/v1/rpc/{json_list_fn}", json={"n": 5}),
                     capped.raw("GET", f"/rest/v1/rpc/{json_list_fn}?n=5")):
        assert (response.status_code, response.headers["Content-Range"], response.json()) == (
            200, "0-0/*", [1, 2, 3, 4, 5])


def test_mutations_return_every_row(capped: Gateway, kv: str) -> None:
    inserted = capped.client(capped.service_key).table(kv).insert([{"k": f"k{i}"} for i in range(5)]).execute()
    assert len(inserted.data) == 5
    updated = capped.client(capped.service_key).table(kv).update({"note": "x"}).neq("k", "").execute()
    assert sorted(row["k"] for row in as_rows(updated.data)) == [f"k{i}" for i in range(5)]


def test_hosted_default_caps_1500_rows_at_1000(apps: dict[int | None, GatewayApp], stack_settings: StackSettings,
                                               names: Names, json_list_fn: str) -> None:
    gateway = Gateway(apps[1000], stack_settings)
    try:
        rows = gateway.raw("POST", f"/rest/v1/rpc/{names.fn('nums')}", json={"n": 1500},
                           headers={"Prefer": "count=exact"})
        assert (rows.status_code, rows.headers["Content-Range"], rows.json()) == (
            206, "0-999/1500", list(range(1, 1001)))
        page_two = gateway.raw("GET", f"/rest/v1/rpc/{names.fn('nums')}?n=1500&offset=1000&limit=2000")
        assert (page_two.headers["Content-Range"], page_two.json()) == ("1000-1499/*", list(range(1001, 1501)))
        whole = gateway.raw("POST", f"/rest/v1/rpc/{json_list_fn}", json={"n": 1500})
        assert len(json.loads(whole.content)) == 1500
    finally:
        gateway.close()


def test_no_cap_returns_everything(apps: dict[int | None, GatewayApp], stack_settings: StackSettings,
                                   names: Names) -> None:
    gateway = Gateway(apps[None], stack_settings)
    try:
        assert _ids(gateway, f"/rest/v1/{names.things}?select=id&order=id") == (200, "0-4/*", [1, 2, 3, 4, 5])
    finally:
        gateway.close()
