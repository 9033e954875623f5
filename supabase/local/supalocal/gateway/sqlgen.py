"""SQL rendering of parsed query parts, with psycopg's `sql` module only.

Every name goes through `sql.Identifier` (quoted, so no name can end the identifier) and every value
through `sql.Literal` (quoted by psycopg for the connection). Values are rendered as untyped literals so
Postgres infers the column type, exactly like PostgREST. No query is executed with separate parameters,
so a '%' in a name or value can never be taken for a placeholder. Cast types are only accepted when they
match a plain type-name pattern (letters, digits, '_', spaces, optional '[]'), checked in the grammar.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from supalocal.gateway.grammar import Condition, Field, Filter, OrderTerm, SelectItem

Qualifier = tuple[str, ...]

_BINARY_OPERATORS = {
    "eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE",
    "ilike": "ILIKE", "match": "~", "imatch": "~*", "cs": "@>", "cd": "<@", "ov": "&&", "sl": "<<",
    "sr": ">>", "nxr": "&<", "nxl": "&>", "adj": "-|-", "isdistinct": "IS DISTINCT FROM",
}
_FTS_FUNCTIONS = {"fts": "to_tsquery", "plfts": "plainto_tsquery", "phfts": "phraseto_tsquery",
                  "wfts": "websearch_to_tsquery"}
_IS_SQL = {"null": "IS NULL", "not_null": "IS NOT NULL", "true": "IS TRUE", "false": "IS FALSE",
           "unknown": "IS UNKNOWN"}
_INDEX_RE = re.compile(r"-?[0-9]+")


def field_sql(field: Field, qualifier: Qualifier) -> sql.Composable:
    column: sql.Composable = sql.Identifier(*qualifier, field.name)
    if not field.path:
        return column
    parts = [column]
    for arrow, key in field.path:
        # An integer key indexes a JSON array; it is rendered from the validated digits.
        parts += [sql.SQL(arrow), sql.SQL(key) if _INDEX_RE.fullmatch(key) else sql.Literal(key)]
    return sql.SQL("({})").format(sql.SQL(" ").join(parts))


def select_sql(items: Sequence[SelectItem], qualifier: Qualifier) -> sql.Composable:
    rendered: list[sql.Composable] = []
    for item in items:
        if item.field is None:
            rendered.append(sql.SQL("{}.*").format(sql.Identifier(*qualifier)))
            continue
        expr = field_sql(item.field, qualifier)
        if item.cast is not None:
            expr = sql.SQL("CAST({} AS {})").format(expr, sql.SQL(item.cast))
        rendered.append(sql.SQL("{} AS {}").format(expr, sql.Identifier(item.output_name)))
    return sql.SQL(", ").join(rendered)


def _like_pattern(operator: str, value: str) -> str:
    return value.replace("*", "%") if operator in ("like", "ilike") else value


def _filter_sql(condition: Filter, qualifier: Qualifier) -> sql.Composable:
    lhs = field_sql(condition.field, qualifier)
    op = condition.operation
    expr: sql.Composable
    if op.operator == "in":
        assert isinstance(op.value, tuple)
        expr = (sql.SQL("{} IN ({})").format(lhs, sql.SQL(", ").join(sql.Literal(v) for v in op.value))
                if op.value else sql.SQL("false"))
    else:
        assert isinstance(op.value, str)
        if op.operator == "is":
            expr = sql.SQL("{} {}").format(lhs, sql.SQL(_IS_SQL[op.value]))
        elif op.operator in _FTS_FUNCTIONS:
            function = sql.SQL(_FTS_FUNCTIONS[op.operator])
            args = ([sql.Literal(op.fts_config)] if op.fts_config else []) + [sql.Literal(op.value)]
            expr = sql.SQL("{} @@ {}({})").format(lhs, function, sql.SQL(", ").join(args))
        else:
            rhs: sql.Composable = sql.Literal(_like_pattern(op.operator, op.value))
            if op.quantifier is not None:
                rhs = sql.SQL("ANY({})" if op.quantifier == "any" else "ALL({})").format(rhs)
            expr = sql.SQL("{} {} {}").format(lhs, sql.SQL(_BINARY_OPERATORS[op.operator]), rhs)
    return sql.SQL("NOT ({})").format(expr) if op.negated else expr


def condition_sql(condition: Condition, qualifier: Qualifier) -> sql.Composable:
    if isinstance(condition, Filter):
        return _filter_sql(condition, qualifier)
    joiner = sql.SQL(" AND " if condition.operator == "and" else " OR ")
    children = joiner.join(condition_sql(child, qualifier) for child in condition.children)
    expr = sql.SQL("({})").format(children)
    return sql.SQL("NOT {}").format(expr) if condition.negated else expr


def where_sql(conditions: Sequence[Condition], qualifier: Qualifier) -> sql.Composable:
    if not conditions:
        return sql.SQL("")
    return sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(condition_sql(c, qualifier) for c in conditions))


def order_sql(terms: Sequence[OrderTerm], qualifier: Qualifier) -> sql.Composable:
    if not terms:
        return sql.SQL("")
    rendered = []
    for term in terms:
        direction = " DESC" if term.descending else " ASC"
        nulls = {"first": " NULLS FIRST", "last": " NULLS LAST", None: ""}[term.nulls]
        rendered.append(sql.SQL("{}{}").format(field_sql(term.field, qualifier), sql.SQL(direction + nulls)))
    return sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(rendered))


def range_sql(limit: int | None, offset: int) -> sql.Composable:
    parts = []
    if limit is not None:
        parts.append(sql.SQL(" LIMIT {}").format(sql.Literal(limit)))
    if offset:
        parts.append(sql.SQL(" OFFSET {}").format(sql.Literal(offset)))
    return sql.Composed(parts)


@dataclass(frozen=True, slots=True)
class BodyShape:
    """How the rows of `_postgrest_t` become the response body."""

    singular: bool = False  # Accept: application/vnd.pgrst.object+json
    strip_nulls: bool = False
    scalar: bool = False  # function returning a base type: rows are (pgrst_scalar)
    omit: bool = False  # HEAD, return=minimal, void functions


def body_sql(shape: BodyShape) -> sql.Composable:
    if shape.omit:
        return sql.SQL("NULL::text")
    if shape.scalar:
        row = "_postgrest_t.pgrst_scalar"
    elif shape.strip_nulls:
        row = "json_strip_nulls(row_to_json(_postgrest_t))"
    else:
        row = "_postgrest_t"
    if shape.singular:
        return sql.SQL(f"(json_agg({row}) -> 0)::text")
    return sql.SQL(f"coalesce(json_agg({row}), '[]')::text")


def result_sql(*, rows: sql.Composable, shape: BodyShape, total: sql.Composable | None = None,
               with_cte: sql.Composable | None = None,
               inserted: sql.Composable | None = None) -> sql.Composed:
    """The one statement every request runs: rows + counts + the response GUCs, in PostgREST's shape."""
    prefix = sql.SQL("WITH pgrst_source AS ({}) ").format(with_cte) if with_cte is not None else sql.SQL("")
    return sql.SQL(
        "{prefix}SELECT {total} AS total, pg_catalog.count(_postgrest_t) AS page_total, {body} AS body, "
        "{inserted} AS inserted, "
        "nullif(current_setting('response.headers', true), '') AS guc_headers, "
        "nullif(current_setting('response.status', true), '') AS guc_status "
        "FROM ({rows}) _postgrest_t"
    ).format(prefix=prefix, total=total if total is not None else sql.SQL("NULL::bigint"),
             body=body_sql(shape), inserted=inserted if inserted is not None else sql.SQL("NULL::bigint"),
             rows=rows)
