"""GET/HEAD on tables through the official client: select, every filter, logic trees, order, ranges,
count with Content-Range, singular responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from postgrest.exceptions import APIError
from postgrest.types import CountMethod

from tests.gateway.conftest import Gateway, Names, as_rows

pytestmark = pytest.mark.stack

Query = Any  # a postgrest select builder


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return sorted(row["id"] for row in rows)


def test_select_columns_alias_json_path_and_cast(gw: Gateway, names: Names) -> None:
    rows = (gw.anon().table(names.things).select("id", "label:name", "lvl:meta->>level", "meta->n", "score::text")
            .eq("id", 1).execute().data)
    assert rows == [{"id": 1, "label": "alpha", "lvl": "easy", "n": 1, "score": "10"}]
    assert gw.last.headers["Content-Type"] == "application/json; charset=utf-8"


FILTERS: dict[str, tuple[Callable[[Query], Query], list[int]]] = {
    "eq": (lambda q: q.eq("score", 20), [2]),
    "neq": (lambda q: q.neq("score", 20), [1, 3, 5]),
    "gt": (lambda q: q.gt("score", 20), [3, 5]),
    "gte": (lambda q: q.gte("score", 20), [2, 3, 5]),
    "lt": (lambda q: q.lt("score", 20), [1]),
    "lte": (lambda q: q.lte("score", 20), [1, 2]),
    "range on one column": (lambda q: q.gte("score", 10).lte("score", 30), [1, 2, 3]),
    "like": (lambda q: q.like("name", "*ta"), [2, 4]),
    "like is case sensitive": (lambda q: q.like("name", "d*"), []),
    "ilike": (lambda q: q.ilike("name", "d*"), [4]),
    "match": (lambda q: q.filter("name", "match", "^[a-d]"), [1, 2]),
    "imatch": (lambda q: q.filter("name", "imatch", "^d"), [4]),
    "in": (lambda q: q.in_("name", ["alpha", "epsilon,comma"]), [1, 5]),
    "in empty": (lambda q: q.in_("id", []), []),
    "is null": (lambda q: q.is_("note", None), [2, 4]),
    "not is null": (lambda q: q.not_.is_("note", None), [1, 3, 5]),
    "not eq": (lambda q: q.not_.eq("name", "beta"), [1, 3, 4, 5]),
    "isdistinct": (lambda q: q.filter("score", "isdistinct", "20"), [1, 3, 4, 5]),
    "cs": (lambda q: q.contains("tags", ["a"]), [1, 5]),
    "cd": (lambda q: q.contained_by("tags", ["a", "b"]), [1, 2, 3, 5]),
    "ov": (lambda q: q.overlaps("tags", ["b", "c"]), [1, 2, 4]),
    "jsonb cs": (lambda q: q.contains("meta", {"level": "hard"}), [2, 5]),
    "json path": (lambda q: q.eq("meta->>level", "hard"), [2, 5]),
    "json path number": (lambda q: q.gt("meta->n", 1), [2, 3]),
    "fts with config": (lambda q: q.filter("name", "fts(simple)", "beta"), [2]),
    "eq any": (lambda q: q.filter("score", "eq(any)", "{10,30}"), [1, 3]),
    "like all": (lambda q: q.filter("name", "like(all)", "{*a*,*e*}"), [2, 4, 5]),
    "or": (lambda q: q.or_("score.gt.40,name.eq.alpha"), [1, 5]),
    "or with nested and": (lambda q: q.or_("and(score.gte.10,score.lte.20),note.is.null"), [1, 2, 4]),
    "or with quoted value and in": (lambda q: q.or_('name.eq."epsilon,comma",id.in.(2,3)'), [2, 3, 5]),
    "not or": (lambda q: q.not_.or_("score.gt.15,score.is.null"), [1]),
}


@pytest.mark.parametrize("case", sorted(FILTERS))
def test_filters(gw: Gateway, names: Names, case: str) -> None:
    apply, expected = FILTERS[case]
    assert _ids(apply(gw.anon().table(names.things).select("id")).execute().data) == expected


@pytest.mark.parametrize(("order", "expected"), [
    (lambda q: q.order("score"), [1, 2, 3, 5, 4]),
    (lambda q: q.order("score", desc=True, nullsfirst=True), [4, 5, 3, 2, 1]),
    (lambda q: q.order("score", desc=True, nullsfirst=False), [5, 3, 2, 1, 4]),
    (lambda q: q.order("name"), [4, 1, 2, 5, 3]),  # C collation: upper case first
    (lambda q: q.order("meta->>level").order("id", desc=True), [3, 1, 5, 2, 4]),
])
def test_order(gw: Gateway, names: Names, order: Callable[[Query], Query], expected: list[int]) -> None:
    rows = order(gw.anon().table(names.things).select("id")).execute().data
    assert [row["id"] for row in rows] == expected


def test_limit_offset_and_range(gw: Gateway, names: Names) -> None:
    table = gw.anon().table(names.things)
    assert [r["id"] for r in as_rows(table.select("id").order("id").limit(2).offset(1).execute().data)] == [2, 3]
    assert [r["id"] for r in as_rows(table.select("id").order("id").range(1, 3).execute().data)] == [2, 3, 4]
    assert gw.last.headers["Content-Range"] == "1-3/*"


def test_count_exact_sets_content_range_and_206(gw: Gateway, names: Names) -> None:
    response = (gw.anon().table(names.things).select("id", count=CountMethod.exact).gt("score", 15).order("id").limit(1)
                .execute())
    assert (response.data, response.count) == ([{"id": 2}], 3)
    assert (gw.last.status_code, gw.last.headers["Content-Range"]) == (206, "0-0/3")
    assert gw.last.headers["Preference-Applied"] == "count=exact"
    everything = gw.anon().table(names.things).select("id", count=CountMethod.exact).execute()
    assert (everything.count, gw.last.status_code, gw.last.headers["Content-Range"]) == (5, 200, "0-4/5")
    none = gw.anon().table(names.things).select("id", count=CountMethod.exact).eq("id", 99).execute()
    assert (none.data, none.count, gw.last.headers["Content-Range"]) == ([], 0, "*/0")


def test_head_returns_count_without_body(gw: Gateway, names: Names) -> None:
    response = gw.anon().table(names.things).select("id", count=CountMethod.exact, head=True).execute()
    assert (response.count, gw.last.status_code, gw.last.content) == (5, 200, b"")
    assert gw.last.headers["Content-Type"] == "application/json; charset=utf-8"


def test_offset_past_the_end_with_count_is_416(gw: Gateway, names: Names) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().table(names.things).select("id", count=CountMethod.exact).range(10, 12).execute()
    assert (info.value.code, gw.last.status_code) == ("PGRST103", 416)


def test_single_and_maybe_single(gw: Gateway, names: Names) -> None:
    table = gw.anon().table(names.things)
    assert table.select("id,name").eq("id", 2).single().execute().data == {"id": 2, "name": "beta"}
    assert gw.last.headers["Content-Type"] == "application/vnd.pgrst.object+json; charset=utf-8"
    for query, rows in ((table.select("id").eq("id", 99), 0), (table.select("id").gt("id", 1), 4)):
        with pytest.raises(APIError) as info:
            query.single().execute()
        assert (info.value.code, info.value.details, gw.last.status_code) == (
            "PGRST116", f"The result contains {rows} rows", 406)
    assert table.select("id").eq("id", 99).maybe_single().execute() is None
    single = table.select("id").eq("id", 3).maybe_single().execute()
    assert single is not None and single.data == {"id": 3}


def test_strip_nulls(gw: Gateway, names: Names) -> None:
    rows = gw.anon().table(names.things).select("id,score,note").eq("id", 2).strip_nulls().execute().data
    assert rows == [{"id": 2, "score": 20}]


def test_unknown_column_is_postgres_42703(gw: Gateway, names: Names) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().table(names.things).select("id,nope").execute()
    assert (info.value.code, gw.last.status_code) == ("42703", 400)


def test_non_ascii_table_and_column_names(gw: Gateway, names: Names, pg: psycopg.Connection) -> None:
    table = f"{names.prefix}_café"
    pg.execute(f'create table public."{table}" (id int primary key, "naïve é" text)'.encode())
    pg.execute(f"insert into public.\"{table}\" values (1, 'ü')".encode())
    rows = gw.anon().table(table).select('id,"naïve é"').eq("naïve é", "ü").execute().data
    assert rows == [{"id": 1, "naïve é": "ü"}]


def test_prefer_timezone_is_applied_to_the_transaction(gw: Gateway, names: Names) -> None:
    response = gw.raw("POST", f"/rest/v1/rpc/{names.fn('tz')}", json={}, headers={"Prefer": "timezone=Asia/Tokyo"})
    assert (response.status_code, response.json()) == (200, "Asia/Tokyo")
    assert response.headers["Preference-Applied"] == "timezone=Asia/Tokyo"
    assert gw.anon().rpc(names.fn("tz"), {}).execute().data == "UTC"
    invalid = gw.raw("GET", f"/rest/v1/{names.things}", headers={"Prefer": "timezone=Mars/Olympus"})
    assert (invalid.status_code, invalid.json()["code"]) == (400, "22023")
