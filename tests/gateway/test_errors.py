"""Error bodies and statuses: PostgREST's codes for bad requests, and loud 501s for what the gateway
does not implement (never a silently ignored feature)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from postgrest.exceptions import APIError
from postgrest.types import CountMethod

from tests.gateway.conftest import Gateway, Names

pytestmark = pytest.mark.stack


def test_error_body_has_the_four_string_fields(gw: Gateway, names: Names) -> None:
    response = gw.raw("GET", f"/rest/v1/{names.things}?id=eq.abc")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Proxy-Status"] == "PostgREST; error=22P02"
    assert response.json() == {"code": "22P02", "details": None, "hint": None,
                               "message": 'invalid input syntax for type integer: "abc"'}


def test_unknown_table_is_pgrst205(gw: Gateway, names: Names) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().table(f"{names.prefix}_missing").select("*").execute()
    assert (info.value.code, gw.last.status_code) == ("PGRST205", 404)
    assert info.value.message == f"Could not find the table 'public.{names.prefix}_missing' in the schema cache"


def test_undefined_operator_maps_42883_to_404(gw: Gateway, names: Names) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().table(names.things).select("id").like("score", "1*").execute()
    assert (info.value.code, gw.last.status_code) == ("42883", 404)


def test_malformed_filter_is_pgrst100(gw: Gateway, names: Names) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().table(names.things).select("id").filter("score", "between", "1").execute()
    assert (info.value.code, gw.last.status_code) == ("PGRST100", 400)


def test_unexposed_schema_is_pgrst106(gw: Gateway, names: Names) -> None:
    response = gw.raw("GET", f"/rest/v1/{names.things}", headers={"Accept-Profile": "auth"})
    assert (response.status_code, response.json()["code"], response.json()["hint"]) == (
        406, "PGRST106", "Only the following schemas are exposed: public")


def test_invalid_paths_and_methods(gw: Gateway, names: Names) -> None:
    assert gw.raw("GET", f"/rest/v1/{names.things}/1").json()["code"] == "PGRST125"
    assert gw.raw("GET", "/auth/v1/user").status_code == 404
    options = gw.raw("OPTIONS", f"/rest/v1/{names.things}", apikey=None)
    assert (options.status_code, options.headers["Access-Control-Allow-Origin"]) == (200, "*")
    trace = gw.raw("TRACE", f"/rest/v1/{names.things}")
    assert (trace.status_code, trace.json()["code"]) == (405, "PGRST117")


def test_strict_handling_rejects_unknown_preferences(gw: Gateway, names: Names) -> None:
    response = gw.raw("GET", f"/rest/v1/{names.things}", headers={"Prefer": "handling=strict, colour=blue"})
    assert (response.status_code, response.json()["code"], response.json()["details"]) == (
        400, "PGRST122", "Invalid preferences: colour=blue")
    lenient = gw.raw("GET", f"/rest/v1/{names.things}?select=id&id=eq.1", headers={"Prefer": "colour=blue"})
    assert (lenient.status_code, lenient.json()) == (200, [{"id": 1}])


def test_unacceptable_media_type_is_406(gw: Gateway, names: Names) -> None:
    response = gw.raw("GET", f"/rest/v1/{names.things}", headers={"Accept": "image/png"})
    assert (response.status_code, response.json()["code"]) == (406, "PGRST107")


UNSUPPORTED: dict[str, Callable[[Gateway, Names], Any]] = {
    "embedding": lambda gw, n: gw.anon().table(n.things).select("id, owner(name)").execute(),
    "aggregate": lambda gw, n: gw.anon().table(n.things).select("score.sum()").execute(),
    "embedded filter": lambda gw, n: gw.anon().table(n.things).select("id").eq("owner.name", "x").execute(),
    "embedded order": lambda gw, n: gw.anon().table(n.things).select("id").order("name", foreign_table="o").execute(),
    "csv": lambda gw, n: gw.anon().table(n.things).select("id").csv().execute(),
    "explain": lambda gw, n: gw.anon().table(n.things).select("id").explain().execute(),
    "count planned": lambda gw, n: gw.anon().table(n.things).select("id", count=CountMethod.planned).execute(),
    "limited update": lambda gw, n: gw.raw("PATCH", f"/rest/v1/{n.things}?limit=1", json={"note": "x"}),
    "put": lambda gw, n: gw.raw("PUT", f"/rest/v1/{n.things}?id=eq.1", json={"id": 1, "name": "x"}),
    "openapi root": lambda gw, n: gw.raw("GET", "/rest/v1/"),
    "form body": lambda gw, n: gw.raw("POST", f"/rest/v1/{n.things}", data={"id": "9"}),
    "bulk rpc": lambda gw, n: gw.raw("POST", f"/rest/v1/rpc/{n.fn('add')}", json=[{"a": 1}]),
    "unnamed parameters": lambda gw, n: gw.anon().rpc(n.fn("unnamed"), {"x": 1}).execute(),
}


@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_unsupported_features_fail_loudly_with_501(gw: Gateway, names: Names, feature: str) -> None:
    try:
        UNSUPPORTED[feature](gw, names)
    except APIError as error:
        assert error.code == "PGRST127"
    response = gw.last
    assert (response.status_code, response.json()["code"], response.json()["message"]) == (
        501, "PGRST127", "Feature not implemented")
    assert response.json()["details"]
