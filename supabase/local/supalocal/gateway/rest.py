"""/rest/v1: authentication, routing to tables/views and rpc, request parsing and the schema-cache retry."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from werkzeug.wrappers import Request

from supalocal.gateway import errors
from supalocal.gateway.auth import Authenticator
from supalocal.gateway.errors import ApiError
from supalocal.gateway.executor import Executor, RequestInfo, headers_json
from supalocal.gateway.grammar import QueryParts, parse_query
from supalocal.gateway.negotiation import (
    EXPOSED_SCHEMAS,
    Media,
    Preferences,
    check_body_content_type,
    check_profile,
    negotiate,
    parse_prefer,
)
from supalocal.gateway.plans import Plan, delete_plan, insert_plan, read_plan, update_plan
from supalocal.gateway.responses import CORS_HEADERS, Response, build_response, error_response
from supalocal.gateway.rpc import call_plan, param_names, resolve
from supalocal.gateway.schema_cache import SchemaCache, SchemaCacheHolder

SCHEMA = EXPOSED_SCHEMAS[0]
_CACHE_MISS_CODES = frozenset({"PGRST202", "PGRST204", "PGRST205"})
_RANGE_RE = re.compile(r"\s*([0-9]+)-([0-9]*)\s*")
_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, apikey, Content-Type, Accept, Prefer, Range, "
                                    "Accept-Profile, Content-Profile, X-Client-Info",
    "Access-Control-Max-Age": "86400",
}


def apply_range_header(parts: QueryParts, header: str | None) -> QueryParts:
    """Intersect `Range: <lower>-[<upper>]` with limit/offset, as PostgREST does for GET."""
    if header is None:
        return parts
    match = _RANGE_RE.fullmatch(header)
    if match is None:
        raise errors.invalid_range("The Range header must look like '<lower>-<upper>' (items).")
    lower, upper = int(match[1]), (int(match[2]) if match[2] else None)
    if upper is not None and lower > upper:
        raise errors.invalid_range("The lower boundary must be lower than or equal to the upper boundary "
                                   "in the Range header.")
    start = max(lower, parts.offset)
    ends = [end for end in (upper, parts.offset + parts.limit - 1 if parts.limit is not None else None)
            if end is not None]
    limit = max(min(ends) - start + 1, 0) if ends else None
    return replace(parts, offset=start, limit=limit)


def _json_body(request: Request, *, empty_as: Any = None) -> Any:
    check_body_content_type(request.headers.get("Content-Type"))
    data = request.get_data()
    if not data.strip() and empty_as is not None:
        return empty_as
    try:
        return json.loads(data)
    except ValueError:
        raise errors.invalid_body("Empty or invalid json") from None


def restrict_range(parts: QueryParts, max_rows: int | None) -> QueryParts:
    """PostgREST's `db-max-rows` (Plan.hs treeRestrictRange, RangeQuery.hs restrictRange): a read of a
    table, a view or a function's result returns at most max_rows rows from its offset, whatever limit or
    Range was asked for; Content-Range then reports the rows actually returned. Mutations are not capped."""
    if max_rows is None or (parts.limit is not None and parts.limit <= max_rows):
        return parts
    return replace(parts, limit=max_rows)


class RestHandler:
    def __init__(self, *, schema: SchemaCacheHolder, executor: Executor, authenticator: Authenticator,
                 max_rows: int | None = None, clock: Callable[[], float] = time.time) -> None:
        self._schema = schema
        self._executor = executor
        self._auth = authenticator
        self._max_rows = max_rows
        self._clock = clock

    def handle(self, request: Request, route: str) -> Response:
        try:
            if request.method == "OPTIONS":
                return Response(status=200, headers={**CORS_HEADERS, **_PREFLIGHT_HEADERS})
            apikey = request.headers.get("apikey") or request.args.get("apikey")
            auth = self._auth.authenticate(authorization=request.headers.get("Authorization"), apikey=apikey,
                                           now=self._clock(), user_agent=request.headers.get("User-Agent"))
            segments = route.strip("/").split("/") if route.strip("/") else []
            if not segments:
                raise errors.not_implemented("the OpenAPI description at /rest/v1/ is not served")
            info = RequestInfo(request.method, route, headers_json(dict(request.headers.items())))
            if len(segments) == 1:
                plan, media, prefs = self._table_plan(request, segments[0])
                query = request.query_string.decode()
                location = f"/{segments[0]}" + (f"?{query}" if query else "")
            elif len(segments) == 2 and segments[0] == "rpc":
                plan, media, prefs = self._rpc_plan(request, segments[1])
                location = None
            else:
                raise errors.invalid_path()
            result = self._executor.run(plan, auth=auth, info=info, prefs=prefs)
            return build_response(plan, result, media=media, prefs=prefs,
                                  content_location=location if plan.action == "read" else None)
        except ApiError as error:
            return error_response(error)

    def _planned(self, build: Callable[[SchemaCache], Plan]) -> Plan:
        """Plan against the cache; on a miss reload it once (objects created since) and plan again."""
        cache = self._schema.current
        try:
            return build(cache)
        except ApiError as error:
            if error.code not in _CACHE_MISS_CODES:
                raise
        return build(self._schema.reload(seen=cache))

    @staticmethod
    def _pairs(request: Request) -> list[tuple[str, str]]:
        return [(key, value) for key, value in request.args.items(multi=True) if key != "apikey"]

    def _table_plan(self, request: Request, name: str) -> tuple[Plan, Media, Preferences]:
        method = request.method
        if method == "PUT":
            raise errors.not_implemented("PUT is not supported; upsert with POST and "
                                         "Prefer: resolution=merge-duplicates")
        if method not in ("GET", "HEAD", "POST", "PATCH", "DELETE"):
            raise errors.unsupported_method(method)
        reading = method in ("GET", "HEAD")
        check_profile(request.headers.get("Accept-Profile" if reading else "Content-Profile"))
        prefs = parse_prefer(request.headers.getlist("Prefer"))
        media = negotiate(request.headers.get("Accept"))
        parts = parse_query(self._pairs(request))
        if reading:
            parts = restrict_range(apply_range_header(parts, request.headers.get("Range")), self._max_rows)
        body = _json_body(request) if method in ("POST", "PATCH") else None

        def build(cache: SchemaCache) -> Plan:
            table = cache.tables.get(name)
            if table is None:
                raise errors.table_not_found(SCHEMA, name)
            if reading:
                return read_plan(table, parts, media=media, prefs=prefs, head=method == "HEAD")
            if method == "POST":
                return insert_plan(table, parts, body, media=media, prefs=prefs)
            if method == "PATCH":
                return update_plan(table, parts, body, media=media, prefs=prefs)
            return delete_plan(table, parts, media=media, prefs=prefs)

        return self._planned(build), media, prefs

    def _rpc_plan(self, request: Request, name: str) -> tuple[Plan, Media, Preferences]:
        method = request.method
        if method not in ("GET", "HEAD", "POST"):
            raise errors.invalid_rpc_method(method)
        reading = method != "POST"
        check_profile(request.headers.get("Accept-Profile" if reading else "Content-Profile"))
        prefs = parse_prefer(request.headers.getlist("Prefer"))
        media = negotiate(request.headers.get("Accept"))
        pairs = self._pairs(request)
        body: Any = {} if reading else _json_body(request, empty_as={})
        if not isinstance(body, dict):
            raise errors.not_implemented("rpc with a JSON array body (bulk calls) is not supported")

        def build(cache: SchemaCache) -> Plan:
            candidates = cache.functions.get(name, ())
            parts = parse_query(pairs, rpc_param_names=param_names(candidates) if reading else frozenset())
            if parts.columns is not None or parts.on_conflict is not None:
                raise errors.not_implemented("columns/on_conflict parameters on rpc are not supported")
            args = parts.rpc_args if reading else body
            function = resolve(candidates, schema=SCHEMA, name=name, arg_names=args.keys())
            # Plan.hs callReadPlan: GET/HEAD always read-only; POST read-only for STABLE and IMMUTABLE
            # functions, read-write for VOLATILE ones (docs: Transactions, "Access Mode on Functions").
            read_only = reading or function.volatility in ("s", "i")
            return call_plan(function, args, restrict_range(parts, self._max_rows), media=media, prefs=prefs,
                             read_only=read_only, head=method == "HEAD")

        return self._planned(build), media, prefs
