"""The real Supabase CLI (package.json's pin) against the local stack: the stack was pushed with `db push`, so
`migration list` shows every local migration applied; `db lint` finds nothing in our schemas; `inspect db`
reads the statistics pg_stat_statements keeps, as on hosted Supabase."""

from __future__ import annotations

import re

import psycopg
import pytest

from supalocal import cluster, supabase_cli
from supalocal.settings import StackSettings

pytestmark = pytest.mark.stack


def _table_rows(output: str) -> list[list[str]]:
    """Data rows of the CLI's pretty table (cells stripped), without header and rule."""
    lines = [line for line in output.splitlines() if "|" in line]
    rows = [[cell.strip() for cell in line.split("|")] for line in lines[1:]]
    return [row for row in rows if not all(set(cell) <= {"-"} for cell in row)]


def test_migration_list_shows_every_local_migration_applied(stack_settings: StackSettings) -> None:
    rows = supabase_cli.migration_list(stack_settings)
    files = [path.name.split("_", 1)[0] for path in cluster.migration_files()]
    assert len(files) >= 23  # at least those of this commit; the comparisons below are exact
    assert [row.local for row in rows] == files
    assert [row.remote for row in rows] == files


def test_up_knows_which_migrations_a_database_lacks(stack_settings: StackSettings) -> None:
    # The loaded stack holds every migration; a version missing from its history is pending (what `up` then
    # applies with `supabase db push`, as for a clone that pulled new migrations). The history row is put back.
    assert cluster.pending_migrations(stack_settings) == []
    newest = cluster.migration_files()[-1].name
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        conn.execute("create temp table history_copy as select * from supabase_migrations.schema_migrations")
        try:
            conn.execute("delete from supabase_migrations.schema_migrations where version = %s",
                         (newest.split("_", 1)[0],))
            assert cluster.pending_migrations(stack_settings) == [newest]
        finally:
            conn.execute("insert into supabase_migrations.schema_migrations select * from history_copy c "
                         "where not exists (select 1 from supabase_migrations.schema_migrations m "
                         "where m.version = c.version)")
    assert cluster.pending_migrations(stack_settings) == []


def test_db_lint_reports_nothing_in_our_schemas_and_would_report_a_real_finding(
        stack_settings: StackSettings, pg: psycopg.Connection) -> None:
    # A probe with a real finding (text assigned to text[]), in a schema of its own: the filter keeps it, so
    # the empty result for public/private is the linter's, not the filter's.
    pg.execute("""create schema lint_probe;
                  create function lint_probe.probe() returns text[] language plpgsql as $$
                  declare v text[] := 'x'::text; begin return v; end $$""")
    pg.commit()
    try:
        findings = supabase_cli.lint(stack_settings)
    finally:
        pg.execute("drop schema lint_probe cascade")
        pg.commit()
    assert [(f["function"], [i["detail"] for i in f["issues"]]) for f in findings] == [
        ("lint_probe.probe", ['cast "text" value to "text[]" type'])]


def test_inspect_db_outliers_prints_the_slowest_statement(stack_settings: StackSettings,
                                                          pg: psycopg.Connection) -> None:
    pg.execute("select extensions.pg_stat_statements_reset()")
    pg.execute("select pg_sleep(0.3) as outliers_probe")
    pg.commit()
    rows = _table_rows(supabase_cli.run(stack_settings, "inspect", "db", "outliers"))
    assert rows, "outliers printed no rows"
    query, exec_time, _share, calls, _io = rows[0]
    assert "outliers_probe" in query
    assert calls == "1"
    match = re.fullmatch(r"(\d\d):(\d\d):(\d\d(?:\.\d+)?)", exec_time)
    assert match is not None and float(match.group(3)) >= 0.3


@pytest.mark.parametrize("command", ["calls", "index-stats", "locks", "bloat", "long-running-queries"])
def test_inspect_db_reports_run_against_the_local_stack(stack_settings: StackSettings, command: str) -> None:
    output = supabase_cli.run(stack_settings, "inspect", "db", command)
    header = next(line for line in output.splitlines() if "|" in line)
    assert len(header.split("|")) >= 2
