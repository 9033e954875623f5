"""The reference web client (web/) served by the local gateway, and its dev-only sign-in route.

- `GET /app/...`: the static files of web/ (index.html for `/app/`), and `/app/vendor/supabase-js.mjs`, the
  ESM bundle of the pinned @supabase/supabase-js that `make setup` builds from node_modules (no CDN: these
  machines have no internet, and a learner's page should not depend on a third party anyway).
- `GET /app/config.json`: where the page finds the project: this stack's API URL and publishable key, and the
  dev sign-in route. A hosted deploy serves web/ from any static host with its own config.json (README).
- `POST /dev/v1/token`: **local stack only** (it lives here in supalocal, never in functions/, and hosted has
  no such path): mints a learner JWT for a new demo learner, or for an existing one by id. The page hands the
  token to supabase-js through its `accessToken` option. Only demo learners (`demo-%@demo.test`, the demo's
  own users, removed by `make demo DEMO_ARGS=--cleanup`) can be signed in this way.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import time
import uuid
from pathlib import Path

import psycopg
from werkzeug.wrappers import Request

from supalocal.gateway.responses import Response
from supalocal.keys import learner_jwt
from supalocal.settings import REPO_ROOT, StackSettings

APP_PREFIX = "/app"
DEV_TOKEN_PATH = "/dev/v1/token"
WEB_DIR = REPO_ROOT / "web"
# Built by `make setup` (Makefile: esbuild bundles node_modules/@supabase/supabase-js into one ES module).
VENDOR_BUNDLE = REPO_ROOT / "node_modules" / ".web-vendor" / "supabase-js.mjs"
VENDOR_PATH = "/vendor/supabase-js.mjs"
DEMO_EMAIL_DOMAIN = "demo.test"  # the demo's users (smartpractice_dev.demo.store): cleaned up with --cleanup
DEV_TOKEN_TTL_SECONDS = 3600
MAX_DEV_TOKEN_TTL_SECONDS = 12 * 3600
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
          ".png": "image/png", ".json": "application/json"}


def is_web_path(path: str) -> bool:
    return path in (APP_PREFIX, DEV_TOKEN_PATH) or path.startswith(APP_PREFIX + "/")


def _json(status: int, body: object) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _error(status: int, code: str, message: str) -> Response:
    # The functions' error shape, so the page reads one kind of error body.
    return _json(status, {"error": {"code": code, "message": message, "fields": [], "request_id": "",
                                    "retryable": False}})


class WebApp:
    """Static files of web/ + the dev sign-in route. `settings.api_url` is the API the page talks to."""

    def __init__(self, settings: StackSettings, *, web_dir: Path = WEB_DIR, vendor_bundle: Path = VENDOR_BUNDLE
                 ) -> None:
        self._settings = settings
        self._web_dir = web_dir.resolve()
        self._vendor_bundle = vendor_bundle

    def handle(self, request: Request, path: str) -> Response:
        if path == DEV_TOKEN_PATH:
            return self._dev_token(request)
        if request.method not in ("GET", "HEAD"):
            return _error(405, "method_not_allowed", "the web client's files are read with GET")
        if path == APP_PREFIX:
            return Response(status=308, headers={"Location": APP_PREFIX + "/"})
        rest = path.removeprefix(APP_PREFIX + "/")
        if rest == "config.json":
            return _json(200, self.config())
        if "/" + rest == VENDOR_PATH:
            return self._file(self._vendor_bundle, missing="run `make setup`: it builds the supabase-js bundle")
        target = (self._web_dir / (rest or "index.html")).resolve()
        if not target.is_relative_to(self._web_dir):
            return _error(404, "not_found", "no such file")
        return self._file(target, missing="no such file")

    def config(self) -> dict[str, object]:
        return {"supabaseUrl": self._settings.api_url, "supabaseKey": self._settings.publishable_key,
                "functionsUrl": None, "devSignIn": DEV_TOKEN_PATH}

    @staticmethod
    def _file(path: Path, *, missing: str) -> Response:
        if not path.is_file():
            return _error(404, "not_found", missing)
        content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # no-cache: the page always revalidates, so an edited file shows on reload.
        return Response(path.read_bytes(), status=200, content_type=content_type,
                        headers={"Cache-Control": "no-cache"})

    def _dev_token(self, request: Request) -> Response:
        if request.method != "POST":
            return _error(405, "method_not_allowed", "POST {} or {\"learner\": \"<uuid>\"}")
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            learner = uuid.UUID(body["learner"]) if body.get("learner") else None
            ttl = int(body.get("ttl_seconds", DEV_TOKEN_TTL_SECONDS))
            if not 1 <= ttl <= MAX_DEV_TOKEN_TTL_SECONDS:
                raise ValueError(f"ttl_seconds must be 1..{MAX_DEV_TOKEN_TTL_SECONDS}")
        except (ValueError, TypeError, AttributeError) as exc:
            return _error(400, "invalid_value", f"bad dev sign-in request: {exc}")
        with psycopg.connect(self._settings.dsn(), autocommit=True) as conn:
            if learner is None:
                learner = uuid.uuid4()
                email = f"demo-web-{secrets.token_hex(4)}-0000@{DEMO_EMAIL_DOMAIN}"
                conn.execute("insert into auth.users (id, email) values (%s, %s)", (learner, email))
            else:
                row = conn.execute("select email from auth.users where id = %s and email like %s",
                                   (learner, f"demo-%@{DEMO_EMAIL_DOMAIN}")).fetchone()
                if row is None:
                    return _error(404, "not_found", "no demo learner with that id")
                email = str(row[0])
        token = learner_jwt(learner, email=email, ttl_seconds=ttl, secret=self._settings.jwt_secret)
        return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": ttl,
                           "expires_at": int(time.time()) + ttl, "user": {"id": str(learner), "email": email}})
