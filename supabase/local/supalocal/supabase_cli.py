"""The Supabase CLI (pinned in the root package.json, installed by `npm ci`) against the local cluster.

The local stack applies the migrations and the seed with `supabase db push`, the same tool and files as the
hosted deploy; `db lint`, `migration list` and `inspect db` run against it the same way, through `--db-url`
(no Docker needed for these).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from supalocal.settings import REPO_ROOT, StackSettings

SUPABASE_CLI = REPO_ROOT / "node_modules" / ".bin" / "supabase"
# Schemas whose lint findings are not ours: pgTAP (and other extensions) install their functions in
# `extensions`, as on hosted Supabase.
FOREIGN_SCHEMAS = frozenset({"extensions"})


class CliError(RuntimeError):
    """The Supabase CLI is missing or a command of it failed."""


def db_url(settings: StackSettings) -> str:
    """The cluster as the CLI's --db-url (percent-encoded; TCP with password; no TLS on loopback)."""
    return (f"postgresql://postgres:{quote(settings.db_password, safe='')}@{settings.db_host}:{settings.db_port}"
            f"/{settings.db_name}?sslmode=disable")


def run(settings: StackSettings, *args: str) -> str:
    """`supabase <args> --db-url <the cluster>` from the repo root (where supabase/ is); returns stdout."""
    if not SUPABASE_CLI.exists():
        raise CliError(f"{SUPABASE_CLI} is missing: run `make setup` (npm ci installs the pinned Supabase CLI)")
    proc = subprocess.run([str(SUPABASE_CLI), *args, "--db-url", db_url(settings)], capture_output=True,
                          text=True, env={**os.environ, "DO_NOT_TRACK": "1"}, cwd=REPO_ROOT, check=False)
    if proc.returncode != 0:
        raise CliError(f"supabase {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def push(settings: StackSettings) -> str:
    """Apply every pending migration, then the seed (config.toml's [db.seed])."""
    return run(settings, "db", "push", "--include-seed", "--yes")


def push_migrations(settings: StackSettings) -> str:
    """Apply the pending migrations only (the seed was applied when the schema was first loaded)."""
    return run(settings, "db", "push", "--yes")


@dataclass(frozen=True, slots=True)
class MigrationRow:
    local: str | None
    remote: str | None


_VERSION = re.compile(r"`?(\d{14})`?")


def migration_list(settings: StackSettings) -> list[MigrationRow]:
    """`supabase migration list`: one row per version, with the local file's and the database's version."""
    rows = []
    for line in run(settings, "migration", "list").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) != 3 or not any(_VERSION.fullmatch(c) for c in cells[:2]):
            continue  # header, rule or blank
        local, remote = (m.group(1) if (m := _VERSION.fullmatch(c)) else None for c in cells[:2])
        rows.append(MigrationRow(local=local, remote=remote))
    return rows


def lint(settings: StackSettings, *, level: str = "warning") -> list[dict[str, Any]]:
    """`supabase db lint --level <level>` findings (plpgsql_check), less those in FOREIGN_SCHEMAS."""
    out = run(settings, "db", "lint", "--level", level).strip()
    findings: list[dict[str, Any]] = json.loads(out) if out.startswith("[") else []
    return [f for f in findings if str(f["function"]).split(".", 1)[0] not in FOREIGN_SCHEMAS]
