"""The database state every learner shares, which tests move as a side effect: restored after each test.

Answers move the bank's Elo difficulties (question_skills) and exposure counts (question_difficulty_params);
a maintenance run refits BKT (bkt_params) and IRT (question_difficulty_params), fills the cohort cache and
records its steps for the run date (maintenance_runs). A test that reads any of these would otherwise see
what the tests before it left (a different answer when run alone, in another order or on a fresh clone).

The snapshot is taken once per session, before the first stack test, and kept in memory (COPY text), so it
survives the Postgres restarts of the fault tests and adds no object to the schemas the tests inspect.
After each stack test one checksum query tells whether anything moved; only then are the tables restored:
the model tables row by row on their key (rows of content a test created and deletes itself are left
alone), the bookkeeping tables (cohort cache, maintenance_runs) as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

# table -> key columns; `whole` tables are replaced entirely, the others updated on their key.
MODEL_TABLES: dict[str, tuple[str, ...]] = {
    "public.question_skills": ("question_id", "skill_id"),
    "public.question_difficulty_params": ("question_id",),
    "public.bkt_params": ("skill_id",),
}
WHOLE_TABLES: dict[str, tuple[str, ...]] = {
    "private.cohort_mastery_stats": ("scope",),
    "public.maintenance_runs": ("run_date", "step"),
}
TABLES = {**MODEL_TABLES, **WHOLE_TABLES}
RESTORED: list[tuple[str, list[str]]] = []  # (test node id, tables it moved), printed in the terminal summary


def _ident(table: str) -> sql.Identifier:
    schema, name = table.split(".")
    return sql.Identifier(schema, name)


def _checksum_sql() -> sql.Composed:
    parts = [sql.SQL("(select md5(coalesce(string_agg(t::text, '|' order by {}), '')) from {} t)").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in key), _ident(table)) for table, key in TABLES.items()]
    return sql.SQL("select ") + sql.SQL(", ").join(parts)


@dataclass(frozen=True, slots=True)
class Snapshot:
    checksums: tuple[str, ...]
    rows: dict[str, bytes]  # table -> COPY text


SNAPSHOT: Snapshot | None = None  # taken once, by the stack_settings fixture (tests/conftest.py)


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
