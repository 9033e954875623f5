"""The gateway WSGI application: /rest/v1 (PostgREST behaviour) and /functions/v1 (function entry points).

Dev/test only. `create_gateway_app(settings)` opens a psycopg pool as `authenticator` (like PostgREST),
loads the schema cache and LISTENs for `NOTIFY pgrst, 'reload schema'`; call `close()` when done.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool
from werkzeug.wrappers import Request

from supalocal.gateway import edge
from supalocal.gateway.auth import API_ROLES, ApiKeys, Authenticator, VerificationKey
from supalocal.gateway.errors import ApiError
from supalocal.gateway.executor import Executor
from supalocal.gateway.functions_router import DEFAULT_FUNCTIONS_SOURCE, FunctionsRouter
from supalocal.gateway.functions_router import PREFIX as FUNCTIONS_PREFIX
from supalocal.gateway.negotiation import EXPOSED_SCHEMAS
from supalocal.gateway.responses import error_response
from supalocal.gateway.rest import RestHandler
from supalocal.gateway.schema_cache import SchemaCache, SchemaCacheHolder
from supalocal.gateway.webapp import WebApp, is_web_path
from supalocal.settings import StackSettings
from supalocal.signing import signing_keys

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_log = logging.getLogger(__name__)
REST_PREFIX = "/rest/v1"
# Set by sql/bootstrap.sql (`create role authenticator login noinherit password 'postgres'`).
AUTHENTICATOR_PASSWORD = "postgres"
RECONNECT_TIMEOUT_SECONDS = 3.0
_APP_NUMBERS = itertools.count(1)


def authenticator_conninfo(settings: StackSettings, *, application_name: str = "supalocal-gateway") -> str:
    return make_conninfo(host=settings.db_host, port=settings.db_port, dbname=settings.db_name,
                         user="authenticator", password=AUTHENTICATOR_PASSWORD,
                         application_name=application_name)


def authenticator_for(settings: StackSettings) -> Authenticator:
    """The stack's keys: the legacy JWT secret, the public half of its signing keys, the new API keys."""
    jwks = [VerificationKey(kid=key.kid, algorithm=key.algorithm, key=key.private_key.public_key())
            for key in signing_keys(settings)]
    return Authenticator(jwt_secret=settings.jwt_secret, jwks=jwks,
                         api_keys=ApiKeys(publishable=settings.publishable_key, secret=settings.secret_key))


def _decoded_path(path_info: str) -> str:
    """PATH_INFO as text. PEP 3333 servers (gunicorn) pass UTF-8 bytes decoded as latin-1; httpx's
    WSGITransport passes the already-decoded text. Accept both."""
    try:
        return path_info.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return path_info


class GatewayApp:
    """WSGI callable; thread-safe (one pooled connection per in-flight request)."""

    def __init__(self, settings: StackSettings, *, functions_source: Path | None = DEFAULT_FUNCTIONS_SOURCE,
                 pool_size: int = 10, listen: bool = True, clock: Callable[[], float] = time.time) -> None:
        """`functions_source=None`: serve /rest/v1 only (/functions/v1 is then an invalid path)."""
        # Per-app name: pg_stat_activity tells this gateway's connections from any other one's (several
        # apps may live in one test process).
        self.application_name = f"supalocal-gateway-{os.getpid()}-{next(_APP_NUMBERS)}"
        conninfo = authenticator_conninfo(settings, application_name=self.application_name)
        # reconnect_timeout: after a database restart, give up a reconnection chain (whose back-off
        # doubles from 1 s) after a few seconds, so a new request starts a fresh, immediate attempt
        # instead of waiting out a long back-off once the database is back.
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo, min_size=min(2, pool_size), max_size=pool_size, open=True, timeout=10.0,
            reconnect_timeout=RECONNECT_TIMEOUT_SECONDS, kwargs={"autocommit": True},
            name="supalocal-gateway")  # transactions are explicit in SQL
        try:
            self._pool.wait(timeout=10.0)
            self._schema = SchemaCacheHolder(self._pool, schema=EXPOSED_SCHEMAS[0], roles=sorted(API_ROLES))
        except BaseException:
            self._pool.close()
            raise
        if listen:
            self._schema.start_listener(conninfo)
        self._settings = settings
        self._rest = RestHandler(schema=self._schema, executor=Executor(self._pool, self._schema),
                                 authenticator=authenticator_for(settings), max_rows=settings.max_rows,
                                 clock=clock)
        self._functions = FunctionsRouter(functions_source) if functions_source is not None else None
        # The reference web client and its dev sign-in: with the functions only (a REST-only server is internal).
        self._web = WebApp(settings) if functions_source is not None else None

    @property
    def schema_cache(self) -> SchemaCache:
        """The current schema-cache snapshot (replaced, never mutated, on reload)."""
        return self._schema.current

    def reload_schema(self) -> None:
        """Reload the schema cache now (same as `NOTIFY pgrst, 'reload schema'`)."""
        self._schema.reload()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "") or "/"
        if self._functions is not None and (path == FUNCTIONS_PREFIX or path.startswith(FUNCTIONS_PREFIX + "/")):
            return self._functions(environ, start_response)
        request = Request(environ)
        try:
            if path.startswith(edge.EDGE_PREFIXES) and edge.request_line_too_long(environ):
                response = edge.uri_too_long()
            elif edge.is_jwks_path(path):
                response = edge.jwks_response(self._settings, request.method)
            elif path == REST_PREFIX or path.startswith(REST_PREFIX + "/"):
                response = self._rest.handle(request, _decoded_path(path).removeprefix(REST_PREFIX))
            elif self._web is not None and is_web_path(path):
                response = self._web.handle(request, _decoded_path(path))
            else:
                response = error_response(ApiError(
                    404, "PGRST125", "Invalid path specified in request URL",
                    details="the local gateway serves /rest/v1, /auth/v1/.well-known/jwks.json"
                            + (", /functions/v1, /app/ (the web client)" if self._functions is not None else "")
                            + " only"))
        except Exception as exc:  # a gateway bug must still answer in PostgREST's shape, and be logged
            _log.exception("gateway error on %s %s", request.method, path)
            response = error_response(ApiError(500, "PGRSTX00", "Internal gateway error", details=repr(exc)))
        return response(environ, start_response)

    def close(self) -> None:
        self._schema.close()
        self._pool.close()


def create_gateway_app(settings: StackSettings, *, functions_source: Path | None = None,
                       pool_size: int = 10, listen: bool = True, rest_only: bool = False) -> GatewayApp:
    """The gateway as a WSGI app; `functions_source` defaults to functions/main.py of this repo;
    `rest_only` serves /rest/v1 without /functions/v1."""
    source = None if rest_only else functions_source or DEFAULT_FUNCTIONS_SOURCE
    return GatewayApp(settings, functions_source=source, pool_size=pool_size, listen=listen)
