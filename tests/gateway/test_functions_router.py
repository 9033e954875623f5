"""/functions/v1/<name> reaches the functions-framework entry point <name> of the functions source."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from supabase_functions.errors import FunctionsHttpError

from supalocal.gateway.functions_router import FunctionsRouter
from tests.gateway.conftest import USER_A, Gateway

pytestmark = pytest.mark.stack


def test_invoke_through_the_official_client(gw: Gateway) -> None:
    client = gw.user(USER_A)
    data = client.functions.invoke("echo", {"body": {"answer": 42}, "responseType": "json"})
    assert data == {"method": "POST", "path": "/", "args": {}, "json": {"answer": 42},
                    "auth": client.options.headers["Authorization"]}


def test_subpath_query_and_status_pass_through(gw: Gateway) -> None:
    response = gw.raw("GET", "/functions/v1/echo/sessions/7?verbose=1")
    assert response.json()["path"] == "/sessions/7"
    assert response.json()["args"] == {"verbose": "1"}
    teapot = gw.raw("POST", "/functions/v1/teapot")
    assert (teapot.status_code, teapot.text) == (418, "short and stout")


@pytest.mark.parametrize("name", ["missing", "NOT_A_FUNCTION", "_private", "os.path"])
def test_unknown_entry_points_are_404(gw: Gateway, name: str) -> None:
    response = gw.raw("POST", f"/functions/v1/{name}")
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")


def test_official_client_raises_on_404(gw: Gateway) -> None:
    with pytest.raises(FunctionsHttpError):
        gw.anon().functions.invoke("missing", {"body": {}})


def test_router_leaves_the_process_environment_alone(gw: Gateway) -> None:
    before = os.environ.get("FUNCTION_TARGET")
    gw.raw("POST", "/functions/v1/teapot")
    assert os.environ.get("FUNCTION_TARGET") == before


def _write_source(path: Path, body: str, *, mtime_ns: int) -> None:
    path.write_text("import functions_framework\n\n\n@functions_framework.http\ndef version(request):\n"
                    f"    {body}\n")
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_source_edits_and_import_errors_are_picked_up_without_restart(tmp_path: Path) -> None:
    source = tmp_path / "main.py"
    _write_source(source, "return 'v1'", mtime_ns=1_000_000_000_000_000_000)
    with httpx.Client(transport=httpx.WSGITransport(app=FunctionsRouter(source)), base_url="http://t") as http:
        assert http.post("/functions/v1/version").text == "v1"
        _write_source(source, "return 'v2' +", mtime_ns=1_000_000_001_000_000_000)  # a syntax error
        broken = http.post("/functions/v1/version")
        assert (broken.status_code, broken.json()["code"]) == (500, "FUNCTION_LOAD_ERROR")
        _write_source(source, "return 'v3'", mtime_ns=1_000_000_002_000_000_000)
        assert http.post("/functions/v1/version").text == "v3"
