"""Runs one request: ONE transaction on a pooled `authenticator` connection, like PostgREST.

The transaction is sent as one batch (simple-query protocol, one round trip):
BEGIN [ISOLATION LEVEL ...] [READ ONLY]; SELECT set_config('role', ...), set_config('request.jwt.claims',
...), the request method/path/headers, the role's own settings (e.g. statement_timeout), Prefer: timezone
and, for an RPC, the function's hoisted SET clauses (PostgREST v12 "Function Settings": they come last, so
they override the role's; Query.hs setPgLocals); the request's statement. Each statement of a simple
query starts its own statement_timeout, so the settings apply to the statement that follows them.
Read-only requests with nothing to check append COMMIT to the batch; the others COMMIT after their
checks, or ROLLBACK on error, on a failed singular/max-affected check, or with Prefer: tx=rollback.
RLS is therefore Postgres' own, evaluated as the JWT's role. Everything in the batch is composed with
psycopg's `sql` (identifiers and literals quoted by psycopg), never with query parameters.

Database outages answer like PostgREST: 503 PGRST000 at once instead of hanging. A pooled connection
that turns out broken, or a pool wait during which new connections failed, marks the database
unreachable; until a request gets through again, requests wait at most `unreachable_wait` seconds for a
connection (long enough to ride through the moment the database returns) and then answer 503.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq, sql
from psycopg_pool import ConnectionPool, PoolTimeout

from supalocal.gateway import errors
from supalocal.gateway.auth import AuthContext
from supalocal.gateway.errors import ApiError
from supalocal.gateway.negotiation import Preferences
from supalocal.gateway.plans import Plan
from supalocal.gateway.schema_cache import ISOLATION_LEVELS, SchemaCacheHolder

_log = logging.getLogger(__name__)
# 08 connection exception; 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now.
_SESSION_ENDED_SQLSTATES = ("08", "57P01", "57P02", "57P03")


@dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    path: str
    headers_json: str


@dataclass(frozen=True, slots=True)
class ResultSet:
    total: int | None
    page_total: int
    body: str | None
    inserted: int | None
    guc_headers: str | None
    guc_status: str | None


SEARCH_PATH = '"public", "public", "extensions"'


def _preamble(auth: AuthContext, info: RequestInfo, role_settings: tuple[tuple[str, str], ...],
              timezone: str | None, function_settings: tuple[tuple[str, str], ...] = ()) -> sql.Composable:
    settings: list[tuple[str, str]] = [
        ("role", auth.role),
        ("request.jwt.claims", auth.claims_json),
        ("request.method", info.method),
        ("request.path", info.path),
        ("request.headers", info.headers_json),
        # PostgREST sets the request's schema followed by db-extra-search-path (hosted: public, extensions;
        # supabase/config.toml `extra_search_path`), before the role's own settings (Query.hs setPgLocals).
        ("search_path", SEARCH_PATH),
        *role_settings,
    ]
    if timezone is not None:
        settings.append(("timezone", timezone))
    settings.extend(function_settings)
    calls = [sql.SQL("set_config({}, {}, true)").format(sql.Literal(key), sql.Literal(value))
             for key, value in settings]
    return sql.SQL("SELECT {}").format(sql.SQL(", ").join(calls))


def _begin(plan: Plan) -> sql.Composable:
    """BEGIN with the access mode (Plan.hs: READ ONLY for reads and STABLE/IMMUTABLE calls) and the called
    function's isolation level (SchemaCache.hs pdIsoLvl), one of Postgres' four level names."""
    words = ["BEGIN"]
    if plan.isolation is not None:
        if plan.isolation not in ISOLATION_LEVELS:
            raise ValueError(f"not an isolation level: {plan.isolation!r}")
        words.append(f"ISOLATION LEVEL {plan.isolation.upper()}")
    if plan.read_only:
        words.append("READ ONLY")
    return sql.SQL(" ".join(words))


def _max_affected(plan: Plan, prefs: Preferences) -> int | None:
    """Prefer: max-affected=n counts only with handling=strict, and only for updates, deletes and calls."""
    strict = prefs.get("handling") == "strict"
    return prefs.max_affected if strict and plan.action in ("update", "delete", "call") else None


def _needs_check(plan: Plan, prefs: Preferences) -> bool:
    return plan.singular or _max_affected(plan, prefs) is not None


def _check(plan: Plan, result: ResultSet, prefs: Preferences) -> None:
    if plan.singular and result.page_total != 1:
        raise errors.singularity_error(result.page_total)
    limit = _max_affected(plan, prefs)
    if limit is not None and result.page_total > limit:
        raise errors.max_affected_violation(result.page_total)


def _rollback(conn: psycopg.Connection[Any]) -> None:
    if not conn.broken and conn.info.transaction_status != pq.TransactionStatus.IDLE:
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error as exc:  # the connection died meanwhile; the pool discards it on return
            _log.warning("rollback failed: %s", exc)


def _connection_lost(conn: psycopg.Connection[Any], exc: psycopg.Error) -> bool:
    """The server ended the session (restart, shutdown, terminate): the transaction did not commit."""
    return conn.broken or (exc.sqlstate or "").startswith(_SESSION_ENDED_SQLSTATES)


def _unavailable() -> ApiError:
    return ApiError(503, "PGRST000", "Database connection error. Retrying the connection.")


class Executor:
    def __init__(self, pool: ConnectionPool[Any], schema: SchemaCacheHolder, *,
                 unreachable_wait: float = 1.0) -> None:
        self._pool = pool
        self._schema = schema
        self._unreachable_wait = unreachable_wait
        self._unreachable = threading.Event()

    def _mark_unreachable(self, reason: object) -> None:
        if not self._unreachable.is_set():
            _log.warning("database connection lost (%s): short waits and 503 until one works again", reason)
            self._unreachable.set()

    def _mark_reachable(self) -> None:
        if self._unreachable.is_set():
            _log.warning("database reachable again")
            self._unreachable.clear()

    def _connect_errors(self) -> int:
        return int(self._pool.get_stats().get("connections_errors", 0))

    def run(self, plan: Plan, *, auth: AuthContext, info: RequestInfo, prefs: Preferences) -> ResultSet:
        role_settings = self._schema.current.role_settings.get(auth.role, ())
        inline_commit = plan.read_only and not _needs_check(plan, prefs) and prefs.get("tx") != "rollback"
        batch = sql.SQL("{}; {}; {}{}").format(
            _begin(plan), _preamble(auth, info, role_settings, prefs.timezone, plan.settings), plan.statement,
            sql.SQL("; COMMIT" if inline_commit else ""))
        # A pooled connection broken by a database restart fails before anything is committed (a batch
        # only commits itself when read-only), so running the request again on another one is safe.
        for _attempt in range(self._pool.max_size + 1):
            connect_errors = self._connect_errors()
            wait = self._unreachable_wait if self._unreachable.is_set() else None
            try:
                with self._pool.connection(timeout=wait) as conn:
                    try:
                        cursor = conn.execute(batch)
                        cursor.nextset()  # past BEGIN
                        cursor.nextset()  # past the set_config row
                        row = cursor.fetchone()
                    except psycopg.Error as exc:
                        if _connection_lost(conn, exc):
                            self._mark_unreachable(exc)
                            _log.warning("retrying a request on a fresh connection: %s", exc)
                            continue
                        _rollback(conn)
                        raise errors.from_db_error(exc, authed=auth.authed) from None
                    self._mark_reachable()
                    assert row is not None  # the result statement always aggregates to exactly one row
                    result = ResultSet(total=row[0], page_total=row[1], body=row[2], inserted=row[3],
                                       guc_headers=row[4], guc_status=row[5])
                    if not inline_commit:
                        self._finish(conn, plan, result, auth=auth, prefs=prefs)
                    return result
            except PoolTimeout:
                # New connections failed while we waited: the database is down, not the pool exhausted.
                if self._unreachable.is_set() or self._connect_errors() > connect_errors:
                    self._mark_unreachable("no connection could be opened")
                    raise _unavailable() from None
                raise ApiError(504, "PGRST003", "Timed out acquiring connection from connection pool.") from None
        raise _unavailable()

    @staticmethod
    def _finish(conn: psycopg.Connection[Any], plan: Plan, result: ResultSet, *, auth: AuthContext,
                prefs: Preferences) -> None:
        try:
            _check(plan, result, prefs)
            conn.execute("ROLLBACK" if prefs.get("tx") == "rollback" else "COMMIT")
        except psycopg.Error as exc:  # e.g. a deferred constraint failing at COMMIT
            _rollback(conn)
            raise errors.from_db_error(exc, authed=auth.authed) from None
        except BaseException:
            _rollback(conn)
            raise


def headers_json(headers: Mapping[str, str]) -> str:
    return json.dumps({key.lower(): value for key, value in headers.items()}, separators=(",", ":"))
