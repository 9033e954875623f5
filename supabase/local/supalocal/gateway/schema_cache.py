"""The schema cache: tables, views and functions of the exposed schema, plus the API roles' settings.

A function's own `SET` clauses (pg_proc.proconfig) are kept when PostgREST v12+ hoists them into the
transaction: those matching `db-hoisted-tx-settings` (default statement_timeout,
plan_filter.statement_cost_limit, default_transaction_isolation; docs: configuration), selected with the
same `setting ~ ANY(...)` as PostgREST's SchemaCache.hs, plus `default_transaction_isolation` as the
call's isolation level (docs: Transactions, "Isolation Level" and "Function Settings").

Like PostgREST it is reloaded on `NOTIFY pgrst, 'reload schema'` (a dedicated LISTEN connection) and,
to let tests create objects on the fly, once on a cache miss before answering 404.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

_log = logging.getLogger(__name__)
HOISTED_TX_SETTINGS = ("statement_timeout", "plan_filter.statement_cost_limit", "default_transaction_isolation")
ISOLATION_LEVELS = frozenset({"read uncommitted", "read committed", "repeatable read", "serializable"})


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class Table:
    schema: str
    name: str
    kind: str  # pg_class.relkind: r table, p partitioned, v view, m matview, f foreign
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def has_column(self, name: str) -> bool:
        return any(column.name == name for column in self.columns)

    @property
    def is_plain_table(self) -> bool:
        return self.kind in ("r", "p")


class ReturnKind(enum.Enum):
    VOID = "void"
    SCALAR = "scalar"
    COMPOSITE = "composite"
    UNSUPPORTED = "unsupported"  # e.g. `returns setof record` without OUT parameters


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str
    has_default: bool
    variadic: bool


@dataclass(frozen=True, slots=True)
class Function:
    schema: str
    name: str
    params: tuple[Param, ...]  # input parameters only, in declaration order
    returns_set: bool
    return_kind: ReturnKind
    volatility: str  # i immutable, s stable, v volatile
    # Hoisted SET clauses, applied as transaction-scoped settings of a call (after the role's own).
    settings: tuple[tuple[str, str], ...] = ()
    isolation: str | None = None  # its default_transaction_isolation: the call's isolation level

    @property
    def param_names(self) -> frozenset[str]:
        return frozenset(param.name for param in self.params)

    @property
    def required_names(self) -> frozenset[str]:
        return frozenset(param.name for param in self.params if not param.has_default)

    @property
    def has_unnamed_params(self) -> bool:
        return any(param.name == "" for param in self.params)

    def signature(self) -> str:
        args = ", ".join(f"{param.name} => {param.type}" for param in self.params)
        return f"{self.schema}.{self.name}({args})"


@dataclass(frozen=True, slots=True)
class SchemaCache:
    tables: Mapping[str, Table]
    functions: Mapping[str, tuple[Function, ...]]
    role_settings: Mapping[str, tuple[tuple[str, str], ...]]


_TABLES_SQL = """
select c.relname as name, c.relkind::text as kind,
  coalesce((select json_agg(json_build_object('name', a.attname,
                                              'type', format_type(a.atttypid, a.atttypmod)) order by a.attnum)
            from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
           '[]') as columns,
  coalesce((select array_agg(a.attname::text order by k.ord)
            from pg_index i cross join lateral unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
            where i.indrelid = c.oid and i.indisprimary), '{}') as primary_key
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = %(schema)s and c.relkind in ('r', 'p', 'v', 'm', 'f')
"""

_FUNCTIONS_SQL = """
select p.proname as name, p.provolatile::text as volatility, p.proretset as returns_set,
  p.pronargdefaults as n_defaults, t.typtype::text as ret_typtype,
  p.prorettype = 'pg_catalog.void'::regtype as returns_void,
  p.prorettype = 'pg_catalog.record'::regtype as returns_record,
  coalesce(p.proargnames, array[]::text[]) as arg_names,
  coalesce(p.proargmodes::text[], array[]::text[]) as arg_modes,
  array(select format_type(a.typ, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]))
        with ordinality a(typ, ord) order by a.ord) as arg_types,
  array(select c.setting from unnest(p.proconfig) with ordinality c(setting, ord)
        where c.setting ~ any(%(hoisted)s) order by c.ord) as hoisted,
  (select lower((regexp_split_to_array((regexp_split_to_array(c, '='))[2], ','))[1])
   from unnest(p.proconfig) c where c like 'default_transaction_isolation%%' limit 1) as isolation
from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_type t on t.oid = p.prorettype
where n.nspname = %(schema)s and p.prokind = 'f'
"""

_ROLE_SETTINGS_SQL = """
select r.rolname::text as role, s.setconfig as config
from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
where r.rolname = any(%(roles)s)
  and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
order by s.setdatabase
"""


def _return_kind(row: Mapping[str, Any], has_out_params: bool) -> ReturnKind | None:
    if row["returns_void"]:
        return ReturnKind.VOID
    if row["returns_record"]:
        return ReturnKind.COMPOSITE if has_out_params else ReturnKind.UNSUPPORTED
    if row["ret_typtype"] == "c":
        return ReturnKind.COMPOSITE
    if row["ret_typtype"] == "p":
        return None  # trigger, internal, polymorphic: not callable over HTTP
    return ReturnKind.SCALAR


def _function_from_row(schema: str, row: Mapping[str, Any]) -> Function | None:
    types: Sequence[str] = row["arg_types"]
    modes: Sequence[str] = row["arg_modes"] or ["i"] * len(types)
    names: Sequence[str] = row["arg_names"]
    inputs = [(names[i] if i < len(names) else "", types[i], modes[i])
              for i in range(len(types)) if modes[i] in ("i", "b", "v")]
    first_default = len(inputs) - int(row["n_defaults"])
    params = tuple(Param(name=name, type=typ, has_default=i >= first_default, variadic=mode == "v")
                   for i, (name, typ, mode) in enumerate(inputs))
    kind = _return_kind(row, has_out_params=any(mode in ("o", "b", "t") for mode in modes))
    if kind is None:
        return None
    settings = tuple((key, value) for key, _, value in (item.partition("=") for item in row["hoisted"]))
    isolation = row["isolation"] if row["isolation"] in ISOLATION_LEVELS else None
    return Function(schema=schema, name=row["name"], params=params, returns_set=row["returns_set"],
                    return_kind=kind, volatility=row["volatility"], settings=settings, isolation=isolation)


def load_schema_cache(conn: psycopg.Connection[Any], *, schema: str, roles: Sequence[str]) -> SchemaCache:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_TABLES_SQL, {"schema": schema})
        tables = {
            row["name"]: Table(schema=schema, name=row["name"], kind=row["kind"],
                               columns=tuple(Column(c["name"], c["type"]) for c in row["columns"]),
                               primary_key=tuple(row["primary_key"]))
            for row in cur.fetchall()
        }
        cur.execute(_FUNCTIONS_SQL, {"schema": schema, "hoisted": list(HOISTED_TX_SETTINGS)})
        functions: dict[str, list[Function]] = {}
        for row in cur.fetchall():
            function = _function_from_row(schema, row)
            if function is not None:
                functions.setdefault(function.name, []).append(function)
        cur.execute(_ROLE_SETTINGS_SQL, {"roles": list(roles)})
        settings: dict[str, dict[str, str]] = {}
        for row in cur.fetchall():
            for item in row["config"] or []:
                key, _, value = item.partition("=")
                settings.setdefault(row["role"], {})[key] = value
    return SchemaCache(tables=tables, functions={k: tuple(v) for k, v in functions.items()},
                       role_settings={role: tuple(values.items()) for role, values in settings.items()})


class SchemaCacheHolder:
    """The current schema cache, swapped atomically on reload; optionally listening for NOTIFY pgrst."""

    def __init__(self, pool: ConnectionPool[Any], *, schema: str, roles: Sequence[str]) -> None:
        self._pool = pool
        self._schema = schema
        self._roles = tuple(roles)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._cache = self._load()

    @property
    def current(self) -> SchemaCache:
        return self._cache

    def _load(self) -> SchemaCache:
        with self._pool.connection() as conn, conn.transaction():
            return load_schema_cache(conn, schema=self._schema, roles=self._roles)

    def reload(self, *, seen: SchemaCache | None = None) -> SchemaCache:
        """Reload; with `seen`, skip when another thread already replaced that snapshot."""
        with self._lock:
            if seen is None or self._cache is seen:
                self._cache = self._load()
            return self._cache

    def start_listener(self, conninfo: str) -> None:
        self._listener = threading.Thread(target=self._listen, args=(conninfo,), name="pgrst-listener",
                                          daemon=True)
        self._listener.start()

    def _listen(self, conninfo: str) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute("listen pgrst")
                    self.reload()  # anything may have changed while we were not listening
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            if note.payload in ("", "reload schema"):
                                self.reload()
            except Exception as exc:  # keep listening whatever happened (DB restart, pool closing)
                if not self._stop.is_set():
                    _log.warning("schema cache listener failed (%s); retrying", exc)
                    self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
