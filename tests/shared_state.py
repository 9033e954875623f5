"""The database state every learner shares, which tests move as a side effect: restored after each test.

Answers move the bank's Elo difficulties (question_skills) and exposure counts (question_difficulty_params);
a maintenance run refits BKT (bkt_params) and IRT (question_difficulty_params), fills the cohort cache and
records its steps for the run date (maintenance_runs). A test that reads any of these would otherwise see
what the tests before it left (a different answer when run alone, in another order or on a fresh clone).

Snapshots are kept in memory (COPY text), so they survive the Postgres restarts of the fault tests and add
no object to the schemas the tests inspect. One is taken when the session first reaches the stack; each
stack test is then put back to the state it found (its module's arrangements, e.g. the security matrix's
cast, in place), and each module to the session's state once its module-scoped fixtures are gone.
A checksum query (row hashes) tells whether anything moved; only then are tables restored: the model tables row by row
on their key (rows of content a test created and deletes itself are left alone), the bookkeeping tables
(cohort cache, maintenance_runs) as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from supalocal.settings import StackSettings

# table -> key columns; `whole` tables are replaced entirely, the others updated on their key.
MODEL_TABLES: dict[str, tuple[str, ...]] = {
    "public.question_skills": ("question_id", "skill_id"),
    "public.question_difficulty_params": ("question_id",),
    "public.bkt_params": ("skill_id",),
}
WHOLE_TABLES: dict[str, tuple[str, ...]] = {
    "private.cohort_mastery_stats": ("scope",),
    "private.cohort_release_seeds": ("released_on",),
    "public.maintenance_runs": ("run_date", "step"),
}
TABLES = {**MODEL_TABLES, **WHOLE_TABLES}
RESTORED: list[tuple[str, list[str]]] = []  # (test node id, tables it moved), printed in the terminal summary


def _ident(table: str) -> sql.Identifier:
    schema, name = table.split(".")
    return sql.Identifier(schema, name)


def _checksum_sql() -> sql.Composed:
    """Per table: row count and the sum of each row's 64-bit hash (order-free, so no sort: ~2 ms in all)."""
    parts = [sql.SQL("(select count(*) || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0) from {} t)").format(
        _ident(table)) for table in TABLES]
    return sql.SQL("select ") + sql.SQL(", ").join(parts)


@dataclass(frozen=True, slots=True)
class Snapshot:
    checksums: tuple[str, ...]
    rows: dict[str, bytes]  # table -> COPY text


# Taken once, by the stack_settings fixture (tests/conftest.py), with the settings of the cluster it is of.
SESSION: tuple[StackSettings, Snapshot] | None = None
MODULES_ON_STACK: set[str] = set()  # modules that ran a stack test: restored to SESSION when they finish


_CONN: psycopg.Connection | None = None


def connection(settings: StackSettings) -> psycopg.Connection:
    """One superuser connection for the checks (a scram login per test costs more than the check), opened
    again when the server went away (the fault tests restart it)."""
    global _CONN
    if _CONN is not None and not _CONN.closed and not _CONN.broken:
        try:
            _CONN.execute("select 1")
            return _CONN
        except psycopg.OperationalError:
            _CONN.close()
    _CONN = psycopg.connect(settings.dsn(), autocommit=True)
    return _CONN


def session_snapshot() -> Snapshot:
    assert SESSION is not None, "the stack_settings fixture takes the session's snapshot"
    return SESSION[1]


def checksums(conn: psycopg.Connection) -> tuple[str, ...]:
    row = conn.execute(_checksum_sql()).fetchone()
    assert row is not None
    return tuple(str(v) for v in row)


def take(conn: psycopg.Connection) -> Snapshot:
    rows: dict[str, bytes] = {}
    with conn.cursor() as cur:
        for table in TABLES:
            with cur.copy(sql.SQL("copy {} to stdout").format(_ident(table))) as copy:
                rows[table] = b"".join(bytes(block) for block in copy)
    return Snapshot(checksums(conn), rows)


def take_unless_unchanged(conn: psycopg.Connection, snapshot: Snapshot) -> Snapshot:
    """`snapshot` when the tables still hold it (the usual case: one checksum query), else a new one."""
    return snapshot if checksums(conn) == snapshot.checksums else take(conn)


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute("select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 "
                        "and not attisdropped order by attnum", (table,)).fetchall()
    return [str(r[0]) for r in rows]


def restore(conn: psycopg.Connection, snapshot: Snapshot) -> list[str]:
    """Puts back every table whose content differs from the snapshot; returns their names."""
    now = checksums(conn)
    moved = [table for table, before, after in zip(TABLES, snapshot.checksums, now, strict=True) if before != after]
    if not moved:
        return []
    with conn.transaction(), conn.cursor() as cur:
        for table in moved:
            cur.execute(sql.SQL("create temp table shared_state_snapshot (like {}) on commit drop").format(
                _ident(table)))
            with cur.copy("copy shared_state_snapshot from stdin") as copy:
                copy.write(snapshot.rows[table])
            if table in WHOLE_TABLES:
                cur.execute(sql.SQL("delete from {}").format(_ident(table)))
                cur.execute(sql.SQL("insert into {} select * from shared_state_snapshot").format(_ident(table)))
            else:
                key = TABLES[table]
                columns = [c for c in _columns(conn, table) if c not in key]
                cur.execute(sql.SQL("update {} t set ({}) = row({}) from shared_state_snapshot s "
                                    "where {} and (t.*) is distinct from (s.*)").format(
                    _ident(table),
                    sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                    sql.SQL(", ").join(sql.Identifier("s", c) for c in columns),
                    sql.SQL(" and ").join(sql.SQL("t.{0} = s.{0}").format(sql.Identifier(c)) for c in key)))
            cur.execute("drop table shared_state_snapshot")
    return moved
