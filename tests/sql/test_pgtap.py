"""Runs every pgTAP file of supabase/tests/ with psql and checks its TAP stream.

000-setup-tests-hooks.sql installs the `tests` helper schema (as `supabase test db` runs it first);
it is applied once per module, so any single file can also be run on its own.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from supalocal.settings import SUPABASE_DIR, StackSettings

TEST_DIR = SUPABASE_DIR / "tests"
SETUP_FILE = TEST_DIR / "000-setup-tests-hooks.sql"
PGTAP_FILES = sorted(TEST_DIR.glob("*.sql"))

_PLAN = re.compile(r"^1\.\.(\d+)$")
_RESULT = re.compile(r"^(not ok|ok) (\d+)(?: - (.*))?$")
_SKIPPED = re.compile(r"^ok (\d+) # SKIP(?: (.*))?$", re.IGNORECASE)
# The only reviewed reason to skip: pg_cron is off by default on hosted and in the local bootstrap.
ALLOWED_SKIPS = ("pg_cron is not enabled",)


@dataclass(frozen=True, slots=True)
class TapReport:
    planned: int | None
    passed: tuple[int, ...]
    failed: tuple[str, ...]
    diagnostics: tuple[str, ...]
    skipped: tuple[tuple[int, str], ...] = ()


def parse_tap(output: str) -> TapReport:
    planned: int | None = None
    passed: list[int] = []
    failed: list[str] = []
    diagnostics: list[str] = []
    skipped: list[tuple[int, str]] = []
    for raw in output.splitlines():
        line = raw.strip()
        if plan := _PLAN.match(line):
            planned = int(plan.group(1))
        elif skip := _SKIPPED.match(line):
            skipped.append((int(skip.group(1)), skip.group(2) or ""))
        elif result := _RESULT.match(line):
            if result.group(1) == "ok":
                passed.append(int(result.group(2)))
            else:
                failed.append(line)
        elif line.startswith("#"):
            diagnostics.append(line)
    return TapReport(planned, tuple(passed), tuple(failed), tuple(diagnostics), tuple(skipped))


def run_psql(settings: StackSettings, path: Path) -> subprocess.CompletedProcess[str]:
    # Same flags pg_prove uses: unaligned, tuples only, quiet, stop on the first error.
    cmd = ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", settings.db_host,
           "-p", str(settings.db_port), "-U", "postgres", "-d", settings.db_name, "-f", str(path)]
    env = {**os.environ, "PGPASSWORD": settings.db_password}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=300)


def test_parse_tap_reads_plan_passes_failures_and_diagnostics() -> None:
    report = parse_tap("1..4\nok 1 - a\nnot ok 2 - b\n# Failed test 2\nok 3\nok 4 # SKIP why not\n\nstray output\n")
    assert report == TapReport(planned=4, passed=(1, 3), failed=("not ok 2 - b",), diagnostics=("# Failed test 2",),
                               skipped=((4, "why not"),))


def test_every_pgtap_file_is_supabase_test_db_compatible() -> None:
    assert len(PGTAP_FILES) >= 9
    for path in PGTAP_FILES:
        text = path.read_text()
        assert re.search(r"^begin;\s*$", text, re.MULTILINE), path.name
        assert re.search(r"^select (plan\(\d+\)|no_plan\(\));$", text, re.MULTILINE), path.name
        assert text.rstrip().endswith("select * from finish();\nrollback;"), path.name


@pytest.fixture(scope="module")
def helpers_installed(stack_settings: StackSettings) -> None:
    proc = run_psql(stack_settings, SETUP_FILE)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.stack
@pytest.mark.parametrize("path", PGTAP_FILES, ids=lambda p: p.name)
def test_pgtap_file(stack_settings: StackSettings, helpers_installed: None, path: Path) -> None:
    proc = run_psql(stack_settings, path)
    report = parse_tap(proc.stdout)
    details = "\n".join([*report.failed, *report.diagnostics, proc.stderr])
    assert proc.returncode == 0, details
    assert report.planned is not None and report.planned > 0, proc.stdout
    assert report.failed == (), details
    assert [why for _, why in report.skipped if not why.startswith(ALLOWED_SKIPS)] == [], details
    ran = sorted([*report.passed, *(number for number, _ in report.skipped)])
    assert ran == list(range(1, report.planned + 1)), details
