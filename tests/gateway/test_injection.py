"""SQL injection attempts through names (tables, columns, JSON keys, casts, functions, arguments) and
values (filters, lists, logic trees, bodies, arguments): each is either a clean error or taken literally,
and the tables are intact afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from postgrest.exceptions import APIError

from tests.gateway.conftest import Gateway, Names, as_rows

pytestmark = pytest.mark.stack

NAME_ATTACKS: dict[str, tuple[Callable[[Gateway, Names], Any], str]] = {
    "select quoted name": (lambda gw, n: gw.anon().table(n.things).select(f'"id\\"; drop table {n.things}; --"')
                           .execute(), "42703"),
    "select unquoted": (lambda gw, n: gw.anon().table(n.things).select(f"id);drop table {n.things};--").execute(),
                        "PGRST100"),
    "json key": (lambda gw, n: gw.anon().table(n.things).select("meta->>level';drop table x;--").execute(),
                 "PGRST100"),
    "cast": (lambda gw, n: gw.anon().table(n.things).select("score::text);drop table x;--").execute(), "PGRST100"),
    "filter column": (lambda gw, n: gw.anon().table(n.things).select("id").eq('id" = 1 or "1', 1).execute(),
                      "42703"),
    "order column": (lambda gw, n: gw.anon().table(n.things).select("id").order("id;drop table x").execute(),
                     "PGRST100"),
    "insert key": (lambda gw, n: gw.service().table(n.kv).insert({"k": "a", "v) values (1); --": 1}).execute(),
                   "PGRST204"),
    "on_conflict": (lambda gw, n: gw.service().table(n.kv).upsert({"k": "a"}, on_conflict="k);drop table x;--")
                    .execute(), "PGRST100"),
    "table": (lambda gw, n: gw.anon().table(f'{n.things}"; drop table {n.kv}; --').select("*").execute(),
              "PGRST205"),
    "function": (lambda gw, n: gw.anon().rpc(f"{n.fn('add')}(1); drop table {n.kv}; --", {}).execute(),
                 "PGRST202"),
    "argument name": (lambda gw, n: gw.anon().rpc(n.fn("add"), {"a": 1, "b := 1); drop table x; --": 2})
                      .execute(), "PGRST202"),
    "argument value": (lambda gw, n: gw.anon().rpc(n.fn("add"), {"a": "1); drop table x; --"}).execute(),
                       "22P02"),
}


@pytest.mark.parametrize("attack", sorted(NAME_ATTACKS))
def test_injection_through_names_is_a_clean_error(gw: Gateway, names: Names, kv: str, attack: str) -> None:
    run, code = NAME_ATTACKS[attack]
    with pytest.raises(APIError) as info:
        run(gw, names)
    assert info.value.code == code
    assert gw.last.status_code in (400, 404)
    assert len(gw.service().table(names.things).select("id").execute().data) == 5


VALUE_ATTACKS: dict[str, tuple[Callable[[Any], Any], list[int]]] = {
    "tautology": (lambda q: q.eq("name", "alpha' or '1'='1"), []),
    "quotes taken literally": (lambda q: q.eq("note", 'it\'s "quoted"'), [5]),
    "stacked statement": (lambda q: q.eq("name", "x'; drop table t; --"), []),
    "placeholder lookalikes": (lambda q: q.eq("name", "50%s %(x)s %b"), []),
    "backslashes": (lambda q: q.eq("name", "\\'; select 1; --"), []),
    "in list": (lambda q: q.in_("name", ["alpha", "') or ('1'='1"]), [1]),
    "logic tree": (lambda q: q.or_('name.eq."x\'); drop table t; --",id.eq.2'), [2]),
    "like": (lambda q: q.like("name", "%' or '1'='1"), []),
}


@pytest.mark.parametrize("attack", sorted(VALUE_ATTACKS))
def test_injection_through_values_is_literal(gw: Gateway, names: Names, attack: str) -> None:
    apply, expected = VALUE_ATTACKS[attack]
    rows = apply(gw.anon().table(names.things).select("id")).execute().data
    assert sorted(row["id"] for row in rows) == expected


def test_hostile_values_round_trip_through_bodies(gw: Gateway, names: Names, kv: str) -> None:
    hostile = "'); drop table x; -- %s %(v)s \\ \" ' \u00e9"
    created = as_rows(gw.service().table(kv).insert({"k": hostile, "note": hostile}).execute().data)
    assert (created[0]["k"], created[0]["note"]) == (hostile, hostile)
    assert gw.service().table(kv).select("note").eq("k", hostile).single().execute().data == {"note": hostile}
    patched = as_rows(gw.service().table(kv).update({"note": hostile + "!"}).eq("k", hostile).execute().data)
    assert patched[0]["note"] == hostile + "!"
