"""Where a bench phase's WAL records go: pg_walinspect over the phase's LSN range, grouped by resource manager,
record type and the relation of the record's first block (`bench_db.py --wal-breakdown`).

Each row: records and full-page images per transaction of the phase, and bytes per transaction. Relations are
named through pg_filenode_relation, so a table, each of its indexes, a partition and the catalog show apart;
records without a block (commits, multixact ids, running-xacts) show the resource manager only. Everything in
the range is counted, as pg_stat_wal counts it: autovacuum and the checkpointer's records too.
"""

from __future__ import annotations

from typing import Any

import psycopg

ENABLE = b"create extension if not exists pg_walinspect with schema extensions"

BREAKDOWN = b"""
with r as (
  select resource_manager as rmgr, split_part(record_type, ' ', 1) as type, record_length, fpi_length,
         substring(block_ref from 'rel \\d+/\\d+/(\\d+)')::oid as filenode,
         block_ref ~ 'FPW' as has_fpi
  from extensions.pg_get_wal_records_info(%s::pg_lsn, %s::pg_lsn)
)
select rmgr, type, coalesce(pg_filenode_relation(0, filenode)::text, filenode::text, '') as rel,
       count(*) as records, count(*) filter (where has_fpi) as fpi, sum(record_length)::bigint as bytes
from r group by 1, 2, 3 order by 4 desc, 6 desc
"""


def print_breakdown(conn: psycopg.Connection[Any], phase: str, lsn0: str, lsn1: str, txs: int,
                    limit: int = 40) -> None:
    """Prints the top `limit` (resource manager, record type, relation) groups per transaction of the phase."""
    rows = conn.execute(BREAKDOWN, (lsn0, lsn1)).fetchall()
    total = sum(int(r[3]) for r in rows) or 1
    print(f"-- {phase}: WAL records by resource manager / type / relation, per transaction ({txs:,} transactions, "
          f"{total:,} records)")
    for rmgr, rtype, rel, records, fpi, nbytes in rows[:limit]:
        print(f"  {records / txs:>7.3f} rec {fpi / txs:>6.3f} fpi {nbytes / txs:>8,.0f} B  "
              f"{rmgr:<12} {rtype:<18} {rel}")
    rest = rows[limit:]
    if rest:
        print(f"  {sum(int(r[3]) for r in rest) / txs:>7.3f} rec in {len(rest)} more groups")
