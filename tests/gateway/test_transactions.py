"""The transaction each RPC runs in, as PostgREST v12 opens it (docs: references/transactions).

- Access mode, "Access Mode on Functions": GET/HEAD are READ ONLY; POST is READ ONLY for STABLE and
  IMMUTABLE functions and READ WRITE for VOLATILE ones (Plan.hs callReadPlan). A write in a read-only
  transaction fails with 25006, answered 405 (Error.hs: "25006" -> 405; the docs' callcounter example).
- "Function Settings": a function's own SET clauses named in db-hoisted-tx-settings (default
  statement_timeout, plan_filter.statement_cost_limit, default_transaction_isolation) are applied as
  transaction-scoped settings after the role's, so a function's statement_timeout governs the call and
  overrides the impersonated role's; other SET clauses are not hoisted (SchemaCache.hs `setting ~ ANY`).
- "Isolation Level": a function's default_transaction_isolation is the call's isolation level.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from supalocal.settings import StackSettings
from tests.gateway.conftest import Gateway, Names

pytestmark = pytest.mark.stack

_FUNCTIONS = """
create function public.{p}_mode_{vol}() returns text language sql {vol} as $$
  select current_setting('transaction_read_only') $$;
create function public.{p}_write_{vol}() returns bigint language sql {vol} as $$
  select nextval(pg_get_serial_sequence('public.{kv}', 'id')) $$;
"""
_SETTINGS_FUNCTIONS = """
create function public.{p}_strict(seconds float) returns int language sql volatile
  set statement_timeout = '300ms' set work_mem = '7MB' as $$ select 1 from pg_sleep(seconds) $$;
create function public.{p}_patient(seconds float) returns int language sql volatile
  set statement_timeout = '5s' as $$ select 1 from pg_sleep(seconds) $$;
create function public.{p}_plain(seconds float) returns int language sql volatile as $$
  select 1 from pg_sleep(seconds) $$;
create function public.{p}_isolated() returns text language sql stable
  set default_transaction_isolation = 'serializable' as $$ select current_setting('transaction_isolation') $$;
create function public.{p}_default_iso() returns text language sql stable as $$
  select current_setting('transaction_isolation') $$;
create function public.{p}_search_path() returns text language sql stable as $$
  select current_setting('search_path') $$;
"""
VOLATILITIES = ("volatile", "stable", "immutable")


@pytest.fixture(scope="module")
def functions(stack_settings: StackSettings, names: Names) -> Names:
    """Dropped with the session's other prefixed objects (tests/gateway/conftest.py)."""
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        for vol in VOLATILITIES:
            conn.execute(_FUNCTIONS.format(p=names.prefix, kv=names.kv, vol=vol).encode())
        conn.execute(_SETTINGS_FUNCTIONS.format(p=names.prefix).encode())
    return names


@pytest.mark.parametrize(("method", "volatility", "read_only"), [
    ("POST", "volatile", "off"), ("POST", "stable", "on"), ("POST", "immutable", "on"),
    ("GET", "volatile", "on"), ("GET", "stable", "on"), ("GET", "immutable", "on")])
def test_access_mode_follows_method_and_volatility(gw: Gateway, functions: Names, method: str, volatility: str,
                                                   read_only: str) -> None:
    path = f"/rest/v1/rpc/{functions.fn('mode_' + volatility)}"
    response = gw.raw(method, path, json={}) if method == "POST" else gw.raw(method, path)
    assert (response.status_code, response.json()) == (200, read_only)


@pytest.mark.parametrize("volatility", ["stable", "immutable"])
def test_a_write_in_a_stable_or_immutable_function_is_405_25006(gw: Gateway, functions: Names, kv: str,
                                                                volatility: str) -> None:
    """The docs' example: nextval() (a write Postgres allows in a STABLE function) in a read-only call."""
    response = gw.raw("POST", f"/rest/v1/rpc/{functions.fn('write_' + volatility)}", json={})
    assert (response.status_code, response.json()["code"], response.json()["message"]) == (
        405, "25006", "cannot execute nextval() in a read-only transaction")


def test_a_volatile_function_writes_over_post_only(gw: Gateway, functions: Names, kv: str) -> None:
    assert gw.anon().rpc(functions.fn("write_volatile"), {}).execute().data == 1  # kv restarts its identity
    assert gw.anon().rpc(functions.fn("write_volatile"), {}).execute().data == 2
    over_get = gw.raw("GET", f"/rest/v1/rpc/{functions.fn('write_volatile')}")
    assert (over_get.status_code, over_get.json()["code"]) == (405, "25006")


def test_only_the_hoisted_settings_enter_the_schema_cache(gw: Gateway, functions: Names) -> None:
    gw.app.reload_schema()
    cache = gw.app.schema_cache.functions
    assert cache[functions.fn("strict")][0].settings == (("statement_timeout", "300ms"),)  # not work_mem
    assert (cache[functions.fn("isolated")][0].settings, cache[functions.fn("isolated")][0].isolation) == (
        (("default_transaction_isolation", "serializable"),), "serializable")
    assert (cache[functions.fn("plain")][0].settings, cache[functions.fn("plain")][0].isolation) == ((), None)


def test_a_functions_statement_timeout_governs_its_call(gw: Gateway, functions: Names,
                                                        pg: psycopg.Connection) -> None:
    started = time.monotonic()
    response = gw.raw("POST", f"/rest/v1/rpc/{functions.fn('strict')}", apikey=gw.service_key,
                      json={"seconds": 3})
    took = time.monotonic() - started
    assert (response.status_code, response.json()["code"]) == (500, "57014")
    assert 0.25 < took < 2.0, took
    # Postgres alone does not do this: the SET clause starts with the function, after the statement's
    # timer, so a direct call sleeps its full second. The gateway hoists it, as PostgREST does.
    started = time.monotonic()
    pg.execute(f"select public.{functions.fn('strict')}(1)")
    assert time.monotonic() - started >= 1.0


def _anon_timeout(pg: psycopg.Connection) -> str | None:
    row = pg.execute("select (select substr(c, 19) from unnest(s.setconfig) c where c like 'statement_timeout=%') "
                     "from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
                     "where r.rolname = 'anon' and s.setdatabase = 0").fetchone()
    return None if row is None else row[0]


@pytest.fixture()
def anon_timeout_200ms(gw: Gateway, pg: psycopg.Connection) -> Iterator[None]:
    """anon's statement_timeout (the bootstrap's, like hosted's) lowered for one test, then put back."""
    before = _anon_timeout(pg)
    pg.execute("alter role anon set statement_timeout = '200ms'")
    gw.app.reload_schema()  # role settings live in the schema cache, like PostgREST's config cache
    yield
    if before is None:
        pg.execute("alter role anon reset statement_timeout")
    else:
        pg.execute(sql.SQL("alter role anon set statement_timeout = {}").format(sql.Literal(before)))
    gw.app.reload_schema()
    assert _anon_timeout(pg) == before


@pytest.mark.usefixtures("anon_timeout_200ms")
def test_a_functions_timeout_overrides_the_roles(gw: Gateway, functions: Names) -> None:
    plain = gw.raw("POST", f"/rest/v1/rpc/{functions.fn('plain')}", json={"seconds": 0.6})
    assert (plain.status_code, plain.json()["code"]) == (500, "57014")  # the role's 200 ms
    patient = gw.raw("POST", f"/rest/v1/rpc/{functions.fn('patient')}", json={"seconds": 0.6})
    assert (patient.status_code, patient.json()) == (200, 1)  # its own 5 s


def test_a_functions_isolation_level_is_the_calls(gw: Gateway, functions: Names) -> None:
    assert gw.anon().rpc(functions.fn("isolated"), {}).execute().data == "serializable"
    assert gw.anon().rpc(functions.fn("default_iso"), {}).execute().data == "read committed"


def test_a_request_runs_with_the_schema_then_the_extra_search_path(gw: Gateway, functions: Names) -> None:
    # PostgREST's setPgLocals: search_path = the request's schema, then db-extra-search-path (hosted Supabase:
    # public, extensions), so unqualified extension functions resolve as on hosted.
    response = gw.raw("POST", f"/rest/v1/rpc/{functions.fn('search_path')}", json={})
    assert (response.status_code, response.json()) == (200, '"public", "public", "extensions"')
