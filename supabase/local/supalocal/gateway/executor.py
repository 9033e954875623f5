"""Runs one request: ONE transaction on a pooled `authenticator` connection, like PostgREST.

The transaction is sent as one batch (simple-query protocol, one round trip):
BEGIN [READ ONLY]; SELECT set_config('role', ...), set_config('request.jwt.claims', ...), the request
method/path/headers and the role's own settings (e.g. statement_timeout); the request's statement.
Read-only requests with nothing to check append COMMIT to the batch; the others COMMIT after their
checks, or ROLLBACK on error, on a failed singular/max-affected check, or with Prefer: tx=rollback.
RLS is therefore Postgres' own, evaluated as the JWT's role. Everything in the batch is composed with
psycopg's `sql` (identifiers and literals quoted by psycopg), never with query parameters.
"""

from __future__ import annotations

import json
import logging
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
from supalocal.gateway.schema_cache import SchemaCacheHolder

_log = logging.getLogger(__name__)


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


def _preamble(auth: AuthContext, info: RequestInfo, role_settings: tuple[tuple[str, str], ...],
              timezone: str | None) -> sql.Composable:
    settings: list[tuple[str, str]] = [
        ("role", auth.role),
        ("request.jwt.claims", auth.claims_json),
        ("request.method", info.method),
        ("request.path", info.path),
        ("request.headers", info.headers_json),
        *role_settings,
    ]
    if timezone is not None:
        settings.append(("timezone", timezone))
    calls = [sql.SQL("set_config({}, {}, true)").format(sql.Literal(key), sql.Literal(value))
             for key, value in settings]
    return sql.SQL("SELECT {}").format(sql.SQL(", ").join(calls))


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
        conn.execute("ROLLBACK")


class Executor:
    def __init__(self, pool: ConnectionPool[Any], schema: SchemaCacheHolder) -> None:
        self._pool = pool
        self._schema = schema

    def run(self, plan: Plan, *, auth: AuthContext, info: RequestInfo, prefs: Preferences) -> ResultSet:
        role_settings = self._schema.current.role_settings.get(auth.role, ())
        inline_commit = plan.read_only and not _needs_check(plan, prefs) and prefs.get("tx") != "rollback"
        batch = sql.SQL("{}; {}; {}{}").format(
            sql.SQL("BEGIN READ ONLY" if plan.read_only else "BEGIN"),
            _preamble(auth, info, role_settings, prefs.timezone), plan.statement,
            sql.SQL("; COMMIT" if inline_commit else ""))
        # A pooled connection broken by a database restart fails before anything is committed (a batch
        # only commits itself when read-only), so running the request again on another one is safe.
        for _attempt in range(self._pool.max_size + 1):
            try:
                with self._pool.connection() as conn:
                    try:
                        cursor = conn.execute(batch)
                        cursor.nextset()  # past BEGIN
                        cursor.nextset()  # past the set_config row
                        row = cursor.fetchone()
                    except psycopg.Error as exc:
                        if conn.broken:
                            _log.warning("retrying a request on a fresh connection: %s", exc)
                            continue
                        _rollback(conn)
                        raise errors.from_db_error(exc, authed=auth.authed) from None
                    assert row is not None  # the result statement always aggregates to exactly one row
                    result = ResultSet(total=row[0], page_total=row[1], body=row[2], inserted=row[3],
                                       guc_headers=row[4], guc_status=row[5])
                    if not inline_commit:
                        self._finish(conn, plan, result, auth=auth, prefs=prefs)
                    return result
            except PoolTimeout:
                raise ApiError(504, "PGRST003", "Timed out acquiring connection from connection pool.") from None
        raise ApiError(503, "PGRST000", "Database connection error. Retrying the connection.")

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
