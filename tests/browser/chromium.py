"""Debian's Chromium for the browser tests, installed when missing (as `supalocal up` installs PostgreSQL).

Playwright's own browser download cannot work on these machines (no internet but the package registries), so
the tests drive /usr/bin/chromium from Debian's `chromium` package. The flags are the ones known to work here
headless as root: no sandbox, no GPU, and none of Chromium's background connections (refused by this closed
network, many at a time) — see the launch options in conftest.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
APT_PACKAGES = ("chromium", "fonts-liberation")
LAUNCH_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage")


class ChromiumMissingError(RuntimeError):
    """Chromium is not installed and could not be."""


def ensure_chromium() -> Path:
    """The path of Debian's Chromium, installing the packages first if needed (needs root, as on CI)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ChromiumMissingError(f"Chromium is missing; run as root: apt-get install {' '.join(APT_PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *APT_PACKAGES]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise ChromiumMissingError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    if not CHROMIUM.exists():
        raise ChromiumMissingError(f"apt-get installed {' '.join(APT_PACKAGES)} but {CHROMIUM} is missing")
    return CHROMIUM
