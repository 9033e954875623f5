"""Debian's Chromium for the browser tests, installed when missing (as `supalocal up` installs PostgreSQL).

Playwright's own browser download cannot work on these machines (no internet but the package registries), so
the tests drive /usr/bin/chromium from Debian's `chromium` package. The flags are the ones known to work here
headless as root: no sandbox, no GPU, and none of Chromium's background connections (refused by this closed
network, many at a time) — see the launch options in conftest.py.
"""

from __future__ import annotations

from pathlib import Path

from supalocal import apt

CHROMIUM = Path("/usr/bin/chromium")
APT_PACKAGES = ("chromium", "fonts-liberation")
LAUNCH_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage")


class ChromiumMissingError(RuntimeError):
    """Chromium is not installed and could not be."""


def ensure_chromium() -> Path:
    """The path of Debian's Chromium, installing the packages first if needed (needs root, as on CI)."""
    try:
        apt.install_missing(APT_PACKAGES, present=CHROMIUM.exists, what=str(CHROMIUM))
    except apt.AptError as exc:
        raise ChromiumMissingError(str(exc)) from exc
    return CHROMIUM
