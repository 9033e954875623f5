"""functions/requirements.txt (what Cloud Functions installs) lists exactly the project's runtime deps."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_requirements_match_pyproject() -> None:
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    deploy = [line.strip() for line in (ROOT / "functions" / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert sorted(deploy) == sorted(runtime)
