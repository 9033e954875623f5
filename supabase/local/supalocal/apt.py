"""Debian packages installed on demand (as root, as on CI), one installer at a time on a machine.

Two checkouts set up at once (a `make test` beside a `.ci/run`) both found Chromium missing and both ran
apt-get; the second failed at once on dpkg's frontend lock. So an install waits for this machine-wide lock, then
looks again (the other run may have installed the packages meanwhile), and apt itself waits for dpkg's locks
(DPkg::Lock::Timeout) in case something outside this project holds them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

LOCK_FILE = Path("/run/lock/supalocal-apt.lock")
DPKG_LOCK_TIMEOUT_SECONDS = 600


class AptError(RuntimeError):
    """The packages are missing and could not be installed."""


def install_missing(packages: Sequence[str], *, present: Callable[[], bool], what: str) -> None:
    """Install `packages` unless `present()` says they are there; `what` names them in errors."""
    if present():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise AptError(f"{what} missing; run as root: apt-get install {' '.join(packages)}")
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if present():
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        wait = ["-o", f"DPkg::Lock::Timeout={DPKG_LOCK_TIMEOUT_SECONDS}"]
        for command in (["apt-get", *wait, "update", "-qq"], ["apt-get", *wait, "install", "-y", "-qq", *packages]):
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                raise AptError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                               f"{done.stderr[-2000:]}")
    if not present():
        raise AptError(f"apt-get installed {' '.join(packages)} but {what} still missing")
