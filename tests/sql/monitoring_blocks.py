"""sql/monitoring_queries.sql as named blocks, and the pgTAP file generated from them.

A block starts at a marker line `-- name: <query_name>` and holds comments plus one statement.
`python -m tests.sql.monitoring_blocks` rewrites supabase/tests/090_monitoring_queries_test.sql
(pgTAP files cannot include files outside supabase/tests under `supabase test db`, so the pgTAP
copy is generated and a test keeps it in sync).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MONITORING_SQL = REPO_ROOT / "sql" / "monitoring_queries.sql"
PGTAP_FILE = REPO_ROOT / "supabase" / "tests" / "090_monitoring_queries_test.sql"

_MARKER = re.compile(r"^-- name: ([a-z][a-z0-9_]*)[ \t]*$", re.MULTILINE)
_DOLLAR_TAG = "$mq$"


@dataclass(frozen=True, slots=True)
class Block:
    name: str
    sql: str  # the block's comments and statement, without the trailing semicolon

    @property
    def statement(self) -> str:
        """The SQL without comment lines."""
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        return "\n".join(lines).strip()


def parse_blocks(text: str) -> list[Block]:
    markers = list(_MARKER.finditer(text))
    blocks = []
    for marker, following in zip(markers, [*markers[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[marker.end() : end].strip()
        blocks.append(Block(name=marker.group(1), sql=body.removesuffix(";").rstrip()))
    return blocks


def render_pgtap(blocks: list[Block]) -> str:
    header = (
        "-- GENERATED from sql/monitoring_queries.sql by `python -m tests.sql.monitoring_blocks`; do not edit.\n"
        "-- Every monitoring block runs against a database with activity in every learner table.\n"
        "begin;\n\n"
        "do $$ begin perform tests.create_active_learners(); end $$;\n\n"
        f"select plan({len(blocks)});\n\n"
    )
    body = "".join(
        f"select lives_ok({_DOLLAR_TAG}\n{block.statement}\n{_DOLLAR_TAG}, 'monitoring query {block.name} runs');\n\n"
        for block in blocks
    )
    return header + body + "select * from finish();\nrollback;\n"


def main() -> None:
    PGTAP_FILE.write_text(render_pgtap(parse_blocks(MONITORING_SQL.read_text())))
    print(f"wrote {PGTAP_FILE}")


if __name__ == "__main__":
    main()
