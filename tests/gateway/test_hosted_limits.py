"""The hosted database limits, seen through the gateway as PostgREST's clients see them on hosted Supabase.

The gateway logs in as `authenticator` and takes the impersonated role's own settings, like PostgREST
(https://docs.postgrest.org/en/stable/references/transactions.html#impersonated-role-settings). With the
bootstrap's hosted role settings (supabase/postgres migrations 20221028101028_set_authenticator_timeout.sql,
20231130133139_set_lock_timeout_to_authenticator_role.sql; anon 3 s and authenticated 8 s from
init-scripts/00000000000000-initial-schema.sql) a service-role request has no timeout of its own and keeps
the authenticator's 8 s; and pg-safeupdate, preloaded for authenticator sessions, refuses an UPDATE or
DELETE without WHERE even inside a function (PostgREST answers it 400, code 21000).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from supalocal.keys import learner_jwt
from supalocal.settings import StackSettings
from tests.gateway.conftest import USER_A, Gateway, Names, as_row

pytestmark = pytest.mark.stack

_SQL = """
create function public.{p}_limits() returns json language sql stable as $$
  select json_build_object('statement_timeout', current_setting('statement_timeout'),
                           'lock_timeout', current_setting('lock_timeout'),
                           'safeupdate', current_setting('safeupdate.enabled', true)) $$;
create function public.{p}_sleep(seconds double precision) returns int language sql volatile as $$
  select 1 from pg_sleep(seconds) $$;
create function public.{p}_wipe_kv() returns int language plpgsql security definer set search_path = '' as $$
begin
  delete from public.{kv};
  return 0;
end $$;
create function public.{p}_wipe_kv_where() returns int language plpgsql as $$
declare
  n int;
begin
  delete from public.{kv} where true;
  get diagnostics n = row_count;
  return n;
end $$;
"""


@pytest.fixture(scope="module")
def limit_functions(names: Names, stack_settings: StackSettings) -> Iterator[Names]:
    """This module's functions, under the session's prefix (dropped with the others at the end)."""
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        conn.execute(_SQL.format(p=names.prefix, kv=names.kv).encode())
    yield names


@pytest.mark.parametrize(("who", "expected"), [
    ("service_role", "8s"),   # no setting of its own: the authenticator session's
    ("authenticated", "8s"),
    ("anon", "3s"),
])
def test_each_role_runs_with_the_hosted_statement_and_lock_timeouts(
        gw: Gateway, limit_functions: Names, who: str, expected: str) -> None:
    client = {"service_role": gw.service, "anon": gw.anon}.get(who, lambda: gw.user(USER_A))()
    result = as_row(client.rpc(limit_functions.fn("limits")).execute().data)
    assert result == {"statement_timeout": expected, "lock_timeout": "8s", "safeupdate": "on"}


def test_a_service_role_call_longer_than_8_s_is_cancelled_after_8_s(gw: Gateway, limit_functions: Names) -> None:
    started = time.monotonic()
    response = gw.raw("POST", f"/rest/v1/rpc/{limit_functions.fn('sleep')}", apikey=gw.service_key,
                      headers={"Authorization": f"Bearer {gw.service_key}"}, json={"seconds": 9})
    elapsed = time.monotonic() - started
    assert response.status_code == 500, response.text
    assert response.json()["code"] == "57014"
    assert response.json()["message"] == "canceling statement due to statement timeout"
    assert 7.9 <= elapsed < 8.9, elapsed


def test_delete_without_where_is_refused_even_inside_a_definer_function(
        gw: Gateway, limit_functions: Names, kv: str, pg: psycopg.Connection) -> None:
    pg.execute(f"insert into public.{kv}(k) values ('one'), ('two')")
    for token in (gw.service_key, learner_jwt(USER_A, secret=gw.settings.jwt_secret)):
        response = gw.raw("POST", f"/rest/v1/rpc/{limit_functions.fn('wipe_kv')}", apikey=gw.service_key,
                          headers={"Authorization": f"Bearer {token}"}, json={})
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "21000"
        assert response.json()["message"] == "DELETE requires a WHERE clause"
    count = pg.execute(f"select count(*) from public.{kv}").fetchone()
    assert count is not None and count[0] == 2
    # The same delete with a WHERE clause goes through; and the superuser's own sessions never load it.
    response = gw.raw("POST", f"/rest/v1/rpc/{limit_functions.fn('wipe_kv_where')}", apikey=gw.service_key,
                      headers={"Authorization": f"Bearer {gw.service_key}"}, json={})
    assert (response.status_code, response.json()) == (200, 2)
    assert pg.execute("select current_setting('safeupdate.enabled', true)").fetchone() == (None,)
