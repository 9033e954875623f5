"""The pg_cron path of the partition schedule, which the default stack (like a hosted project, where pg_cron is
off until enabled) never takes: with pg_cron enabled before the migrations, 20261123100800 schedules the job, and
its command creates a missing month. Runs in one transaction that is rolled back."""

from __future__ import annotations

import psycopg
import pytest

from supalocal import cluster

pytestmark = pytest.mark.stack

SCHEDULE_MIGRATION = next(p for p in cluster.migration_files() if p.name.endswith("_event_partition_schedule.sql"))
JOB = "smartpractice-learning-event-partitions"


def test_with_pg_cron_enabled_the_migration_schedules_a_job_that_creates_missing_months(
        pg: psycopg.Connection) -> None:
    assert pg.execute("select count(*) from pg_extension where extname = 'pg_cron'").fetchone() == (0,)
    with pg.transaction(force_rollback=True):
        pg.execute("create extension pg_cron")
        pg.execute(SCHEDULE_MIGRATION.read_text().encode())
        row = pg.execute("select schedule, command from cron.job where jobname = %s", (JOB,)).fetchone()
        assert row is not None and row[0] == "5 0 1 * *"
        # the partition three months ahead is empty: drop it, then run the job's command as pg_cron would
        month = pg.execute("select to_char(date_trunc('month', now()) + interval '3 months', 'YYYYMM')").fetchone()
        assert month is not None
        pg.execute(f"drop table event_partitions.learning_events_p{month[0]}")
        pg.execute(str(row[1]).encode())
        exists = pg.execute("select to_regclass(%s) is not null",
                            (f"event_partitions.learning_events_p{month[0]}",)).fetchone()
        assert exists == (True,)
