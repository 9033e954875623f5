"""The local gateway's web client routes (supalocal/gateway/webapp.py): the static files of web/ at /app/, the
supabase-js bundle, config.json, and the dev-only sign-in route, which exists in supalocal and nowhere else."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest

from supalocal.gateway.app import create_gateway_app
from supalocal.gateway.webapp import DEV_TOKEN_PATH, VENDOR_BUNDLE
from supalocal.settings import REPO_ROOT, StackSettings
from tests.gateway.conftest import Gateway

pytestmark = pytest.mark.stack


@pytest.fixture()
def demo_users(pg: psycopg.Connection) -> Iterator[list[uuid.UUID]]:
    """Users the dev route creates in a test (registered by the test), deleted afterwards."""
    created: list[uuid.UUID] = []
    yield created
    pg.execute("delete from auth.users where id = any(%s)", (created,))


def test_the_client_is_served_at_app_with_a_config_naming_this_stack(gw: Gateway,
                                                                     stack_settings: StackSettings) -> None:
    http = gw.http()
    index = http.get("/app/")
    assert index.status_code == 200 and index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.text == (REPO_ROOT / "web" / "index.html").read_text()
    assert http.get("/app").status_code == 308 and http.get("/app").headers["location"] == "/app/"
    script = http.get("/app/app.js")
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert http.get("/app/config.json").json() == {
        "supabaseUrl": stack_settings.api_url, "supabaseKey": stack_settings.publishable_key,
        "functionsUrl": None, "devSignIn": DEV_TOKEN_PATH}
    for outside in ("/app/../pyproject.toml", "/app/%2e%2e/pyproject.toml", "/app/nothing.js"):
        assert http.get(outside).status_code == 404, outside
    assert http.post("/app/index.html").status_code == 405


def test_the_supabase_js_bundle_comes_from_node_modules(gw: Gateway) -> None:
    assert VENDOR_BUNDLE.is_file(), "make setup builds it"
    bundle = gw.http().get("/app/vendor/supabase-js.mjs")
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "text/javascript; charset=utf-8"
    assert bundle.content == VENDOR_BUNDLE.read_bytes()
    assert "createClient" in bundle.text
    # No CDN: every script the page loads is one of ours, by a relative path.
    for page_file in (REPO_ROOT / "web").iterdir():
        assert not re.search(r"""(src|href|from)\s*=?\s*["']https?:""", page_file.read_text()), page_file.name


def test_the_dev_route_signs_in_new_and_existing_demo_learners_only(gw: Gateway, stack_settings: StackSettings,
                                                                     pg: psycopg.Connection,
                                                                     demo_users: list[uuid.UUID]) -> None:
    http = gw.http()
    fresh = http.post(DEV_TOKEN_PATH, json={})
    assert fresh.status_code == 200
    body = fresh.json()
    user = uuid.UUID(body["user"]["id"])
    demo_users.append(user)
    assert pg.execute("select email from auth.users where id = %s", (user,)).fetchone() == (body["user"]["email"],)
    assert body["user"]["email"].startswith("demo-web-") and body["user"]["email"].endswith("@demo.test")
    claims = jwt.decode(body["access_token"], stack_settings.jwt_secret, algorithms=["HS256"],
                        audience="authenticated")
    assert (claims["sub"], claims["role"], claims["exp"] - claims["iat"]) == (str(user), "authenticated", 3600)
    again = http.post(DEV_TOKEN_PATH, json={"learner": str(user), "ttl_seconds": 60})
    assert again.status_code == 200 and again.json()["user"] == body["user"] and again.json()["expires_in"] == 60
    # Only demo learners: a real account (or an unknown id) cannot be signed in without its credentials.
    other = uuid.uuid4()
    pg.execute("insert into auth.users (id, email) values (%s, %s)", (other, f"{other}@example.test"))
    demo_users.append(other)
    for learner in (other, uuid.uuid4()):
        refused = http.post(DEV_TOKEN_PATH, json={"learner": str(learner)})
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    for bad in ({"learner": "not-a-uuid"}, {"ttl_seconds": 0}, {"ttl_seconds": 10**6}, [1]):
        assert http.post(DEV_TOKEN_PATH, json=bad).status_code == 400, bad
    assert http.get(DEV_TOKEN_PATH).status_code == 405


def test_the_dev_route_exists_only_in_the_local_gateway(stack_settings: StackSettings) -> None:
    rest_only = create_gateway_app(stack_settings, rest_only=True, pool_size=1, listen=False)
    try:
        with httpx.Client(transport=httpx.WSGITransport(app=rest_only), base_url=stack_settings.api_url) as http:
            assert http.post(DEV_TOKEN_PATH, json={}).status_code == 404
            assert http.get("/app/").status_code == 404
    finally:
        rest_only.close()
    deployed = [p for p in Path(REPO_ROOT / "functions").rglob("*") if p.is_file() and p.suffix in (".py", ".txt",
                                                                                                      ".json")]
    assert deployed and not [p for p in deployed if "dev/v1" in p.read_text() or "/app/" in p.read_text()]
