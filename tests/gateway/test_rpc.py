"""RPC through the official client: argument typing from pg_proc, every return kind, GET read-only calls,
filters on set results, and the error statuses of RAISE (P0001, PTxyz, PGRST)."""

from __future__ import annotations

import pytest
from postgrest.exceptions import APIError
from postgrest.types import CountMethod

from tests.gateway.conftest import USER_A, Gateway, Names, as_row, as_rows

pytestmark = pytest.mark.stack


def test_scalar_return_with_default_argument(gw: Gateway, names: Names) -> None:
    client = gw.anon()
    assert client.rpc(names.fn("add"), {"a": 2}).execute().data == 3
    assert client.rpc(names.fn("add"), {"a": 2, "b": 40}).execute().data == 42
    assert (gw.last.status_code, gw.last.headers["Content-Type"]) == (200, "application/json; charset=utf-8")


def test_get_rpc_types_query_string_arguments(gw: Gateway, names: Names) -> None:
    assert gw.anon().rpc(names.fn("add"), {"a": 5, "b": 6}, get=True).execute().data == 11
    assert gw.last.request.method == "GET"


def test_composite_return_is_one_object(gw: Gateway, names: Names) -> None:
    data = gw.anon().rpc(names.fn("thing"), {"thing_id": 2}).execute().data
    assert data == {"id": 2, "name": "beta", "score": 20, "tags": ["b"], "meta": {"level": "hard", "n": 2},
                    "note": None}


def test_setof_return_is_an_array_with_filters_order_and_limit(gw: Gateway, names: Names) -> None:
    client = gw.anon()
    rows = as_rows(client.rpc(names.fn("things"), {"min_score": 15}).execute().data)
    assert [row["id"] for row in rows] == [2, 3, 5]
    filtered = (client.rpc(names.fn("things"), {}).select("id,name").lt("score", 40).order("id", desc=True)
                .limit(2).execute().data)
    assert filtered == [{"id": 3, "name": "gamma"}, {"id": 2, "name": "beta"}]
    assert as_row(client.rpc(names.fn("things"), {"min_score": 45}).single().execute().data)["id"] == 5
    with pytest.raises(APIError) as info:
        client.rpc(names.fn("things"), {"min_score": 15}).single().execute()
    assert (info.value.code, gw.last.status_code) == ("PGRST116", 406)


def test_returns_table_and_setof_scalar(gw: Gateway, names: Names) -> None:
    assert gw.anon().rpc(names.fn("pairs"), {"n": 3}).execute().data == [
        {"i": 1, "sq": 1}, {"i": 2, "sq": 4}, {"i": 3, "sq": 9}]
    assert gw.anon().rpc(names.fn("nums"), {"n": 4}).execute().data == [1, 2, 3, 4]


def test_rpc_count_and_head(gw: Gateway, names: Names) -> None:
    response = gw.anon().rpc(names.fn("pairs"), {"n": 5}, count=CountMethod.exact).limit(2).execute()
    assert (len(as_rows(response.data)), response.count, gw.last.headers["Content-Range"]) == (2, 5, "0-1/5")
    head = gw.anon().rpc(names.fn("pairs"), {"n": 4}, head=True, count=CountMethod.exact).execute()
    assert (head.count, gw.last.request.method, gw.last.content) == (4, "HEAD", b"")


def test_void_function_answers_204(gw: Gateway, names: Names, kv: str) -> None:
    response = gw.service().rpc(names.fn("touch"), {"key": "t1"}).execute()
    assert (gw.last.status_code, response.data) == (204, [])
    assert gw.service().table(kv).select("k").execute().data == [{"k": "t1"}]


def test_get_rpc_runs_read_only(gw: Gateway, names: Names, kv: str) -> None:
    with pytest.raises(APIError) as info:
        gw.service().rpc(names.fn("touch"), {"key": "t2"}, get=True).execute()
    assert (info.value.code, gw.last.status_code) == ("25006", 405)
    assert gw.service().table(kv).select("k").execute().data == []


def test_json_array_and_timestamp_arguments_are_typed(gw: Gateway, names: Names) -> None:
    data = gw.anon().rpc(names.fn("json_arg"), {"payload": {"x": [1, 2]}, "tags": ["a", "b", "c"],
                                               "at": "2031-05-04T10:00:00Z"}).execute().data
    assert data == {"payload": {"x": [1, 2]}, "n_tags": 3, "year": 2031}


@pytest.mark.parametrize(("kind", "status", "code", "message"), [
    ("conflict", 409, "PT409", "already answered"),
    ("missing", 404, "PT404", "no such session"),
    ("plain", 400, "P0001", "plain failure"),
])
def test_raise_maps_to_status(gw: Gateway, names: Names, kind: str, status: int, code: str, message: str) -> None:
    with pytest.raises(APIError) as info:
        gw.user(USER_A).rpc(names.fn("fail"), {"kind": kind}).execute()
    assert (gw.last.status_code, info.value.code, info.value.message) == (status, code, message)
    if kind == "conflict":
        assert (info.value.details, info.value.hint) == ("k=1", "reload")


def test_raise_pgrst_controls_the_whole_response(gw: Gateway, names: Names) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().rpc(names.fn("fail"), {"kind": "pgrst"}).execute()
    assert (gw.last.status_code, gw.last.headers["X-Custom"]) == (418, "yes")
    assert (info.value.code, info.value.message, info.value.hint) == ("SP001", "custom body", "h")


def test_response_gucs_override_status_and_headers(gw: Gateway, names: Names) -> None:
    assert gw.anon().rpc(names.fn("teapot"), {}).execute().data == 1
    assert (gw.last.status_code, gw.last.headers["X-From-Sql"]) == (202, "1")


def test_execute_privilege_is_postgres_own(gw: Gateway, names: Names) -> None:
    function = names.fn("service_only")
    assert gw.service().rpc(function, {"x": 21}).execute().data == 42
    for client, status in ((gw.user(USER_A), 403), (gw.anon(), 401)):
        with pytest.raises(APIError) as info:
            client.rpc(function, {"x": 1}).execute()
        assert (info.value.code, gw.last.status_code) == ("42501", status)


def test_unknown_function_or_arguments_is_pgrst202(gw: Gateway, names: Names) -> None:
    for function, args in ((names.fn("nope"), {}), (names.fn("add"), {"z": 1}), (names.fn("add"), {})):
        with pytest.raises(APIError) as info:
            gw.anon().rpc(function, args).execute()
        assert (info.value.code, gw.last.status_code) == ("PGRST202", 404)
    assert info.value.message == f"Could not find the function public.{names.fn('add')} without parameters " \
                                 "in the schema cache"


def test_ambiguous_overload_is_pgrst203(gw: Gateway, names: Names) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().rpc(names.fn("over"), {"a": "1"}).execute()
    assert (info.value.code, gw.last.status_code) == ("PGRST203", 300)


def test_rpc_methods_other_than_get_head_post_are_405(gw: Gateway, names: Names) -> None:
    response = gw.raw("PATCH", f"/rest/v1/rpc/{names.fn('add')}", json={"a": 1})
    assert (response.status_code, response.json()["code"]) == (405, "PGRST101")
