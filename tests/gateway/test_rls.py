"""Row-level security is Postgres' own: each request runs as the JWT's role with its claims."""

from __future__ import annotations

import pytest
from postgrest.exceptions import APIError
from postgrest.types import CountMethod

from tests.gateway.conftest import USER_A, USER_B, Gateway, as_rows

pytestmark = pytest.mark.stack


def _titles(data: object) -> list[str]:
    return sorted(str(row["title"]) for row in as_rows(data))


def test_each_user_sees_only_their_rows(gw: Gateway, items: str) -> None:
    assert _titles(gw.user(USER_A).table(items).select("title").execute().data) == ["a1", "a2"]
    assert _titles(gw.user(USER_B).table(items).select("title").execute().data) == ["b1"]


def test_service_role_bypasses_rls(gw: Gateway, items: str) -> None:
    response = gw.service().table(items).select("title", count=CountMethod.exact).execute()
    assert (_titles(response.data), response.count) == (["a1", "a2", "b1"], 3)


def test_anon_is_denied_with_401(gw: Gateway, items: str) -> None:
    with pytest.raises(APIError) as info:
        gw.anon().table(items).select("title").execute()
    assert (info.value.code, gw.last.status_code) == ("42501", 401)
    assert info.value.message == f"permission denied for table {items}"


def test_insert_for_another_user_is_403(gw: Gateway, items: str) -> None:
    with pytest.raises(APIError) as info:
        gw.user(USER_A).table(items).insert({"owner": str(USER_B), "title": "forged"}).execute()
    assert (info.value.code, gw.last.status_code) == ("42501", 403)
    assert "row-level security" in (info.value.message or "")


def test_writes_only_touch_own_rows(gw: Gateway, items: str) -> None:
    client = gw.user(USER_A)
    assert client.table(items).update({"title": "x"}).eq("title", "b1").execute().data == []
    assert client.table(items).delete().eq("title", "b1").execute().data == []
    created = as_rows(client.table(items).insert({"owner": str(USER_A), "title": "a3"}).execute().data)
    assert [(row["owner"], row["title"]) for row in created] == [(str(USER_A), "a3")]
    assert _titles(gw.service().table(items).select("title").execute().data) == ["a1", "a2", "a3", "b1"]
