"""functions/requirements.txt (what Cloud Functions installs) lists exactly the project's runtime deps, and the
dev lock (requirements-dev.lock, what `make setup` installs) pins a release that satisfies every requirement."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def test_deploy_requirements_match_pyproject() -> None:
    runtime = PROJECT["dependencies"]
    deploy = [line.strip() for line in (ROOT / "functions" / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert sorted(deploy) == sorted(runtime)


def test_the_dev_lock_satisfies_pyproject() -> None:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements-dev.lock").read_text().splitlines():
        match = _PIN.match(line)
        if match and (match.group(3) is None or Marker(match.group(3)).evaluate()):
            pins[canonicalize_name(match.group(1))] = match.group(2)
    wanted = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        wanted += [spec for spec in extra if canonicalize_name(Requirement(spec).name) != PROJECT["name"]]
    for spec in wanted:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{spec} is not in requirements-dev.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements-dev.lock pins {name}=={pins[name]}, outside {spec}: run `make lock`")
