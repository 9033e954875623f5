"""POST/PATCH/DELETE through the official client: insert (single, bulk, columns, missing=default), upsert
with both resolutions, update, delete, Prefer return/count/tx/max-affected and the error statuses."""

from __future__ import annotations

import pytest
from postgrest.exceptions import APIError
from postgrest.types import CountMethod, ReturnMethod

from tests.gateway.conftest import Gateway, as_rows

pytestmark = pytest.mark.stack


def _kv(gw: Gateway, kv: str) -> dict[str, int | None]:
    return {row["k"]: row["v"] for row in as_rows(gw.service().table(kv).select("k,v").execute().data)}


def test_insert_single_returns_the_row_with_201(gw: Gateway, kv: str) -> None:
    rows = as_rows(gw.service().table(kv).insert({"k": "a", "v": 1}).execute().data)
    assert [(row["id"], row["k"], row["v"], row["note"]) for row in rows] == [(1, "a", 1, None)]
    assert (gw.last.status_code, gw.last.headers["Content-Range"]) == (201, "*/*")
    counted = gw.service().table(kv).insert({"k": "b"}, count=CountMethod.exact).execute()
    assert (counted.count, as_rows(counted.data)[0]["v"], gw.last.headers["Content-Range"]) == (1, 7, "*/1")


def test_bulk_insert_missing_keys_are_null_or_default(gw: Gateway, kv: str) -> None:
    missing_keys: list[dict[str, object]] = [{"k": "a", "v": 1}, {"k": "b", "note": "n"}]
    with pytest.raises(APIError) as info:
        gw.service().table(kv).insert(missing_keys).execute()
    assert (info.value.code, gw.last.status_code) == ("23502", 400)  # v: NULL, as PostgREST does by default
    rows = as_rows(gw.service().table(kv).insert(missing_keys, default_to_null=False).execute().data)
    assert [(row["k"], row["v"], row["note"]) for row in rows] == [("a", 1, None), ("b", 7, "n")]


def test_columns_parameter_limits_inserted_columns(gw: Gateway, kv: str) -> None:
    response = gw.raw("POST", f"/rest/v1/{kv}?columns=k", apikey=gw.service_key,
                      headers={"Prefer": "return=representation"}, json=[{"k": "x", "v": 99}])
    assert response.status_code == 201
    assert [(row["k"], row["v"]) for row in response.json()] == [("x", 7)]


def test_return_minimal_has_no_body(gw: Gateway, kv: str) -> None:
    response = gw.service().table(kv).insert({"k": "a"}, returning=ReturnMethod.minimal).execute()
    assert (response.data, gw.last.status_code, gw.last.content) == ([], 201, b"")
    assert gw.last.headers["Preference-Applied"] == "return=minimal"


def test_upsert_merge_duplicates(gw: Gateway, kv: str) -> None:
    table = gw.service().table(kv)
    table.insert({"k": "a", "v": 1}).execute()
    merged = as_rows(table.upsert({"k": "a", "v": 2}, on_conflict="k").execute().data)
    assert [(row["k"], row["v"]) for row in merged] == [("a", 2)]
    assert gw.last.status_code == 200  # nothing inserted: PostgREST answers 200
    assert gw.last.headers["Preference-Applied"] == "resolution=merge-duplicates, return=representation"
    table.upsert([{"k": "a", "v": 3}, {"k": "b", "v": 4}], on_conflict="k").execute()
    assert gw.last.status_code == 201
    by_pk = as_rows(table.upsert({"id": 1, "k": "a", "v": 5}).execute().data)  # conflict target: the primary key
    assert [(row["id"], row["v"]) for row in by_pk] == [(1, 5)]
    assert _kv(gw, kv) == {"a": 5, "b": 4}


def test_upsert_ignore_duplicates(gw: Gateway, kv: str) -> None:
    table = gw.service().table(kv)
    table.insert({"k": "a", "v": 1}).execute()
    ignored = as_rows(table.upsert([{"k": "a", "v": 9}, {"k": "c", "v": 3}], on_conflict="k",
                                   ignore_duplicates=True).execute().data)
    assert [(row["k"], row["v"]) for row in ignored] == [("c", 3)]
    assert gw.last.headers["Preference-Applied"] == "resolution=ignore-duplicates, return=representation"
    assert _kv(gw, kv) == {"a": 1, "c": 3}


@pytest.mark.parametrize(("row", "code", "status"), [
    ({"k": "dup"}, "23505", 409),
    ({"k": "fk", "ref": 999}, "23503", 409),
    ({"k": None}, "23502", 400),
    ({"k": "typed", "v": "abc"}, "22P02", 400),
])
def test_constraint_and_type_errors(gw: Gateway, kv: str, row: dict[str, object], code: str, status: int) -> None:
    gw.service().table(kv).insert({"k": "dup"}).execute()
    with pytest.raises(APIError) as info:
        gw.service().table(kv).insert(row).execute()
    assert (info.value.code, gw.last.status_code) == (code, status)


def test_unknown_column_is_pgrst204(gw: Gateway, kv: str) -> None:
    for query in (gw.service().table(kv).insert({"k": "a", "nope": 1}),
                  gw.service().table(kv).update({"nope": 1}).eq("k", "a")):
        with pytest.raises(APIError) as info:
            query.execute()
        assert (info.value.code, gw.last.status_code) == ("PGRST204", 400)
        assert info.value.message == f"Could not find the 'nope' column of '{kv}' in the schema cache"


def test_update(gw: Gateway, kv: str) -> None:
    table = gw.service().table(kv)
    table.insert([{"k": "a", "v": 1}, {"k": "b", "v": 2}]).execute()
    updated = table.update({"v": 50, "note": "x"}, count=CountMethod.exact).eq("k", "a").execute()
    assert ([(r["k"], r["v"], r["note"]) for r in as_rows(updated.data)], updated.count) == ([("a", 50, "x")], 1)
    assert (gw.last.status_code, gw.last.headers["Content-Range"]) == (200, "0-0/1")
    table.update({"v": 60}, returning=ReturnMethod.minimal).in_("k", ["a", "b"]).execute()
    assert (gw.last.status_code, gw.last.content, gw.last.headers.get("Content-Type")) == (204, b"", None)
    assert _kv(gw, kv) == {"a": 60, "b": 60}


def test_delete(gw: Gateway, kv: str) -> None:
    table = gw.service().table(kv)
    table.insert([{"k": "a"}, {"k": "b"}, {"k": "c"}]).execute()
    deleted = table.delete(count=CountMethod.exact).eq("k", "a").execute()
    assert ([row["k"] for row in as_rows(deleted.data)], deleted.count, gw.last.status_code) == (["a"], 1, 200)
    table.delete(returning=ReturnMethod.minimal).in_("k", ["b"]).execute()
    assert gw.last.status_code == 204
    assert _kv(gw, kv) == {"c": 7}


def test_max_affected_rolls_back(gw: Gateway, kv: str) -> None:
    gw.service().table(kv).insert([{"k": "a"}, {"k": "b"}]).execute()
    with pytest.raises(APIError) as info:
        gw.service().table(kv).delete().gte("v", 0).max_affected(1).execute()
    assert (info.value.code, info.value.details, gw.last.status_code) == ("PGRST124", "The query affects 2 rows", 400)
    assert _kv(gw, kv) == {"a": 7, "b": 7}


def test_singular_mutation_affecting_two_rows_is_406_and_rolled_back(gw: Gateway, kv: str) -> None:
    gw.service().table(kv).insert([{"k": "a"}, {"k": "b"}]).execute()
    response = gw.raw("PATCH", f"/rest/v1/{kv}?v=eq.7", apikey=gw.service_key, json={"v": 1},
                      headers={"Accept": "application/vnd.pgrst.object+json", "Prefer": "return=representation"})
    assert (response.status_code, response.json()["code"]) == (406, "PGRST116")
    assert _kv(gw, kv) == {"a": 7, "b": 7}


def test_prefer_tx_rollback(gw: Gateway, kv: str) -> None:
    response = gw.raw("POST", f"/rest/v1/{kv}", apikey=gw.service_key, json={"k": "ghost"},
                      headers={"Prefer": "return=representation, tx=rollback"})
    assert (response.status_code, response.json()[0]["k"]) == (201, "ghost")
    assert response.headers["Preference-Applied"] == "return=representation, tx=rollback"
    assert _kv(gw, kv) == {}


def test_invalid_json_body_is_pgrst102(gw: Gateway, kv: str) -> None:
    response = gw.raw("POST", f"/rest/v1/{kv}", apikey=gw.service_key, content=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (
        400, {"code": "PGRST102", "details": None, "hint": None, "message": "Empty or invalid json"})
