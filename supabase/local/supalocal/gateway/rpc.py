"""POST/GET /rest/v1/rpc/<fn>: overload resolution by argument names and the call statement.

Arguments are typed from pg_proc like PostgREST does: the JSON object goes through
`json_to_record(...) AS pgrst_args(<name> <type>, ...)` and the function is called in named notation,
so Postgres converts every JSON value to the declared parameter type. Scalar, composite (one row, an
object), set-returning (an array) and void (204) functions are supported; filters, select, order and
limit apply to the function's result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg import sql

from supalocal.gateway import errors
from supalocal.gateway.grammar import QueryParts
from supalocal.gateway.negotiation import Media, Preferences
from supalocal.gateway.plans import Plan
from supalocal.gateway.schema_cache import Function, ReturnKind
from supalocal.gateway.sqlgen import BodyShape, order_sql, range_sql, result_sql, select_sql, where_sql

_SOURCE = ("pgrst_source",)


def param_names(candidates: Iterable[Function]) -> frozenset[str]:
    return frozenset(name for function in candidates for name in function.param_names)


def resolve(candidates: Sequence[Function], *, schema: str, name: str, arg_names: Iterable[str]) -> Function:
    """The one overload whose named parameters accept exactly these argument names."""
    keys = frozenset(arg_names)
    matches = [function for function in candidates
               if not function.has_unnamed_params and function.required_names <= keys <= function.param_names]
    if not matches:
        if any(function.has_unnamed_params for function in candidates):
            raise errors.not_implemented(f"{schema}.{name} has unnamed parameters; only named-argument calls "
                                         "are supported")
        raise errors.function_not_found(schema, name, keys)
    if len(matches) > 1:
        raise errors.ambiguous_function(function.signature() for function in matches)
    function = matches[0]
    if function.return_kind is ReturnKind.UNSUPPORTED:
        raise errors.not_implemented(
            f"{schema}.{name} returns an anonymous record without OUT parameters; "
            "it cannot be called over HTTP")
    return function


def _call_sql(function: Function, args: Mapping[str, Any]) -> sql.Composable:
    target = sql.Identifier(function.schema, function.name)
    scalar = function.return_kind is ReturnKind.SCALAR
    alias = sql.SQL(" pgrst_call(pgrst_scalar)" if scalar else " pgrst_call")
    provided = [param for param in function.params if param.name in args]
    if not provided:
        return sql.SQL("SELECT pgrst_call.* FROM {}(){}").format(target, alias)
    record = json.dumps({param.name: args[param.name] for param in provided})
    definitions = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(p.name), sql.SQL(p.type))
                                     for p in provided)
    named = sql.SQL(", ").join(
        sql.SQL("{}{} := pgrst_args.{}").format(sql.SQL("VARIADIC " if p.variadic else ""),
                                                sql.Identifier(p.name), sql.Identifier(p.name))
        for p in provided)
    return sql.SQL(
        "SELECT pgrst_call.* FROM json_to_record({}::json) AS pgrst_args({}), LATERAL {}({}){}"
    ).format(sql.Literal(record), definitions, target, named, alias)


def call_plan(function: Function, args: Mapping[str, Any], parts: QueryParts, *, media: Media,
              prefs: Preferences, read_only: bool, head: bool) -> Plan:
    scalar = function.return_kind is ReturnKind.SCALAR
    void = function.return_kind is ReturnKind.VOID
    if (scalar or void) and (parts.conditions or parts.order or not parts.selects_everything):
        raise errors.not_implemented("select, filters and order on functions returning a scalar or void")
    where = where_sql(parts.conditions, _SOURCE)
    rows = sql.SQL("SELECT {} FROM pgrst_source{}{}{}").format(
        sql.SQL("pgrst_source.pgrst_scalar") if scalar else select_sql(parts.select, _SOURCE), where,
        order_sql(parts.order, _SOURCE), range_sql(parts.limit, parts.offset))
    total = sql.SQL("(SELECT pg_catalog.count(*) FROM pgrst_source{})").format(where) if prefs.count else None
    shape = BodyShape(singular=media.singular or not function.returns_set, strip_nulls=media.strip_nulls,
                      scalar=scalar, omit=head or void)
    statement = result_sql(with_cte=_call_sql(function, args), rows=rows, shape=shape, total=total)
    return Plan(statement, "call", read_only=read_only, singular=media.singular, has_body=not (head or void),
                offset=parts.offset, void=void, applied=("count", "max-affected"), settings=function.settings,
                isolation=function.isolation)
