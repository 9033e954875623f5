"""Statements for table and view requests: read (GET/HEAD), insert/upsert (POST), update (PATCH), DELETE.

Each request becomes ONE statement shaped by `sqlgen.result_sql`; mutations run as a data-modifying CTE
so the representation, the affected-row count and the upsert's inserted count come back together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from supalocal.gateway import errors
from supalocal.gateway.grammar import Field, QueryParts, SelectItem
from supalocal.gateway.negotiation import Media, Preferences
from supalocal.gateway.schema_cache import Table
from supalocal.gateway.sqlgen import (
    BodyShape,
    order_sql,
    range_sql,
    result_sql,
    select_sql,
    where_sql,
)

_SOURCE = ("pgrst_source",)


@dataclass(frozen=True, slots=True)
class Plan:
    """One statement plus what the response needs to know about it."""

    statement: sql.Composed
    action: str  # read | create | update | delete | call
    read_only: bool
    singular: bool
    has_body: bool
    offset: int = 0
    void: bool = False
    applied: tuple[str, ...] = ()  # preference keys honoured (Preference-Applied)
    merge_upsert: bool = False
    settings: tuple[tuple[str, str], ...] = ()  # a called function's hoisted SET clauses
    isolation: str | None = None  # a called function's default_transaction_isolation


def _table_sql(table: Table) -> sql.Composable:
    return sql.Identifier(table.schema, table.name)


def _qualifier(table: Table) -> tuple[str, ...]:
    return (table.schema, table.name)


def read_plan(table: Table, parts: QueryParts, *, media: Media, prefs: Preferences, head: bool) -> Plan:
    qualifier = _qualifier(table)
    where = where_sql(parts.conditions, qualifier)
    rows = sql.SQL("SELECT {} FROM {}{}{}{}").format(
        select_sql(parts.select, qualifier), _table_sql(table), where, order_sql(parts.order, qualifier),
        range_sql(parts.limit, parts.offset))
    total = (sql.SQL("(SELECT pg_catalog.count(*) FROM {}{})").format(_table_sql(table), where)
             if prefs.count else None)
    shape = BodyShape(singular=media.singular, strip_nulls=media.strip_nulls, omit=head)
    return Plan(result_sql(rows=rows, shape=shape, total=total), "read", read_only=True,
                singular=media.singular, has_body=not head, offset=parts.offset, applied=("count",))


def _check_columns(table: Table, names: Sequence[str]) -> None:
    for name in names:
        if not table.has_column(name):
            raise errors.column_not_found(table.name, name)


def _representation(table: Table, parts: QueryParts, *, expand_star: bool) -> sql.Composable:
    items: Sequence[SelectItem] = parts.select
    if expand_star:  # the CTE carries an extra bookkeeping column that '*' must not show
        items = [expanded for item in parts.select
                 for expanded in ([SelectItem(Field(name)) for name in table.column_names]
                                  if item.field is None else [item])]
    return sql.SQL("SELECT {} FROM pgrst_source").format(select_sql(items, _SOURCE))


def _rows_from_body(body: Any) -> list[Mapping[str, Any]]:
    rows = body if isinstance(body, list) else [body]
    if not all(isinstance(row, dict) for row in rows):
        raise errors.invalid_body("Request body must be a JSON object or an array of JSON objects")
    return rows


def _insert_columns(table: Table, parts: QueryParts, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if parts.columns is not None:
        columns = list(dict.fromkeys(parts.columns))
    else:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        if any(set(row) != set(rows[0]) for row in rows):
            raise errors.invalid_body("All object keys must match")
    _check_columns(table, columns)
    return columns


def _values_with_defaults(table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
                          ) -> sql.Composable:
    """Prefer: missing=default: a key absent from a row takes the column DEFAULT, not NULL."""
    tbl = _table_sql(table)
    rendered_rows = []
    for row in rows:
        cells = [sql.SQL("(json_populate_record(NULL::{}, {}::json)).{}").format(
                     tbl, sql.Literal(json.dumps(row)), sql.Identifier(column))
                 if column in row else sql.SQL("DEFAULT") for column in columns]
        rendered_rows.append(sql.SQL("({})").format(sql.SQL(", ").join(cells)))
    return sql.SQL("VALUES {}").format(sql.SQL(", ").join(rendered_rows))


def _conflict_clause(table: Table, parts: QueryParts, prefs: Preferences, columns: Sequence[str]
                     ) -> tuple[sql.Composable, bool]:
    """ON CONFLICT for Prefer: resolution=...; PostgREST applies it only with a target (on_conflict or PK)."""
    resolution = prefs.get("resolution")
    target = parts.on_conflict if parts.on_conflict is not None else table.primary_key
    if resolution is None or not target:
        return sql.SQL(""), False
    _check_columns(table, target)
    target_sql = sql.SQL(", ").join(sql.Identifier(name) for name in target)
    if resolution == "ignore-duplicates" or not columns:
        return sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(target_sql), True
    updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name))
                                 for name in columns)
    return sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(target_sql, updates), True


def _returning(table: Table, representation: bool, *, detect_inserts: bool = False) -> sql.Composable:
    if not representation:
        return sql.SQL(" RETURNING 1 AS pgrst_affected")  # needs no SELECT privilege (return=minimal)
    extra = (sql.SQL(", ({}.xmax = 0) AS pgrst_inserted").format(_table_sql(table)) if detect_inserts
             else sql.SQL(""))
    return sql.SQL(" RETURNING {}.*{}").format(_table_sql(table), extra)


def _mutation_shape(media: Media, prefs: Preferences) -> BodyShape:
    return BodyShape(singular=media.singular, strip_nulls=media.strip_nulls, omit=not prefs.representation)


def _insert_source(table: Table, parts: QueryParts, prefs: Preferences, rows: Sequence[Mapping[str, Any]],
                   columns: Sequence[str]) -> sql.Composable | None:
    """The INSERT itself, or None when the body holds no row at all (`[]`)."""
    tbl = _table_sql(table)
    if not columns:
        if not rows:
            return None
        if len(rows) == 1 and parts.columns is None:
            return sql.SQL("INSERT INTO {} DEFAULT VALUES").format(tbl)
        raise errors.not_implemented("bulk insert of empty objects is not supported")
    column_list = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    if prefs.get("missing") == "default" and any(set(columns) - set(row) for row in rows):
        values = _values_with_defaults(table, columns, rows)
    else:
        values = sql.SQL("SELECT {} FROM json_populate_recordset(NULL::{}, {}::json) pgrst_body").format(
            sql.SQL(", ").join(sql.Identifier("pgrst_body", c) for c in columns), tbl,
            sql.Literal(json.dumps(rows)))
    return sql.SQL("INSERT INTO {} ({}) {}").format(tbl, column_list, values)


def insert_plan(table: Table, parts: QueryParts, body: Any, *, media: Media, prefs: Preferences) -> Plan:
    rows = _rows_from_body(body)
    columns = _insert_columns(table, parts, rows)
    source = _insert_source(table, parts, prefs, rows, columns)
    shape = _mutation_shape(media, prefs)
    if source is None:
        nothing = sql.SQL("SELECT * FROM {} WHERE false").format(_table_sql(table))
        return Plan(result_sql(rows=nothing, shape=shape), "create", False, media.singular,
                    prefs.representation, applied=("return", "count"))
    conflict, upserting = _conflict_clause(table, parts, prefs, columns)
    merge = upserting and prefs.get("resolution") == "merge-duplicates"
    detect = merge and prefs.representation and table.is_plain_table
    dml = sql.SQL("{}{}{}").format(source, conflict,
                                   _returning(table, prefs.representation, detect_inserts=detect))
    inserted = (sql.SQL("(SELECT pg_catalog.count(*) FROM pgrst_source WHERE pgrst_inserted)") if detect
                else None)
    statement = result_sql(with_cte=dml, rows=_representation(table, parts, expand_star=detect), shape=shape,
                           inserted=inserted)
    applied = ("resolution", "missing", "return", "count") if upserting else ("missing", "return", "count")
    return Plan(statement, "create", False, media.singular, prefs.representation, applied=applied,
                merge_upsert=merge)


def _reject_limits(parts: QueryParts, verb: str) -> None:
    if parts.limit is not None or parts.offset or parts.order:
        raise errors.not_implemented(f"limit/offset/order on {verb} are not supported")


def update_plan(table: Table, parts: QueryParts, body: Any, *, media: Media, prefs: Preferences) -> Plan:
    _reject_limits(parts, "PATCH")
    if not isinstance(body, dict):
        raise errors.invalid_body("Request body for PATCH must be a JSON object")
    columns = list(body) if parts.columns is None else list(dict.fromkeys(parts.columns))
    _check_columns(table, columns)
    tbl = _table_sql(table)
    if not columns:
        source: sql.Composable = sql.SQL("SELECT {}.* FROM {} WHERE false").format(tbl, tbl)
    else:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), sql.Identifier("pgrst_body", c)) for c in columns)
        source = sql.SQL(
            "UPDATE {} SET {} FROM (SELECT * FROM json_populate_record(NULL::{}, {}::json)) pgrst_body{}{}"
        ).format(tbl, assignments, tbl, sql.Literal(json.dumps(body)),
                 where_sql(parts.conditions, _qualifier(table)), _returning(table, prefs.representation))
    statement = result_sql(with_cte=source, rows=_representation(table, parts, expand_star=False),
                           shape=_mutation_shape(media, prefs))
    return Plan(statement, "update", False, media.singular, prefs.representation,
                applied=("return", "count", "max-affected"))


def delete_plan(table: Table, parts: QueryParts, *, media: Media, prefs: Preferences) -> Plan:
    _reject_limits(parts, "DELETE")
    source = sql.SQL("DELETE FROM {}{}{}").format(
        _table_sql(table), where_sql(parts.conditions, _qualifier(table)),
        _returning(table, prefs.representation))
    statement = result_sql(with_cte=source, rows=_representation(table, parts, expand_star=False),
                           shape=_mutation_shape(media, prefs))
    return Plan(statement, "delete", False, media.singular, prefs.representation,
                applied=("return", "count", "max-affected"))
