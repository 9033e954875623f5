"""supalocal.apt: concurrent installers run apt-get once, one at a time; failures name the command.

A fake apt-get on PATH stands in for Debian's: it logs each call, refuses to run beside another call (as dpkg's
frontend lock does) and "installs" by creating a marker file after a pause long enough for a second caller to
arrive while the first is still installing.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from supalocal import apt

FAKE_APT_GET = """#!/bin/sh
dir="$(dirname "$0")"
if ! mkdir "$dir/running" 2>/dev/null; then
  echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2
  exit 100
fi
echo "$*" >> "$dir/calls"
case " $* " in
  *" install "*) sleep 0.4; [ -n "$FAIL_INSTALL" ] && { rmdir "$dir/running"; echo "E: broken" >&2; exit 100; }
                  touch "$dir/installed" ;;
esac
rmdir "$dir/running"
"""


@pytest.fixture()
def fake_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "apt-get"
    script.write_text(FAKE_APT_GET)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(apt, "LOCK_FILE", tmp_path / "lock" / "apt.lock")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    return tmp_path


def _calls(folder: Path) -> list[str]:
    path = folder / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_two_concurrent_installs_run_apt_get_once_and_both_find_the_packages(fake_apt: Path) -> None:
    def present() -> bool:
        return (fake_apt / "installed").exists()

    errors: list[BaseException] = []

    def install() -> None:
        try:
            apt.install_missing(("pkg-a", "pkg-b"), present=present, what="pkg-a")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=install) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    timeout = f"-o DPkg::Lock::Timeout={apt.DPKG_LOCK_TIMEOUT_SECONDS}"
    assert _calls(fake_apt) == [f"{timeout} update -qq", f"{timeout} install -y -qq pkg-a pkg-b"]
    assert present()


def test_present_packages_run_nothing(fake_apt: Path) -> None:
    apt.install_missing(("pkg-a",), present=lambda: True, what="pkg-a")
    assert _calls(fake_apt) == []


def test_a_failed_install_names_the_command_and_apt_gets_error(fake_apt: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIL_INSTALL", "1")
    with pytest.raises(apt.AptError, match=r"(?s)apt-get .*install -y -qq pkg-a failed \(100\):\n.*E: broken"):
        apt.install_missing(("pkg-a",), present=lambda: False, what="pkg-a")


def test_an_install_that_leaves_the_packages_missing_is_an_error(fake_apt: Path) -> None:
    with pytest.raises(apt.AptError, match="apt-get installed pkg-a but pkg-a still missing"):
        apt.install_missing(("pkg-a",), present=lambda: False, what="pkg-a")


def test_without_root_the_error_says_what_to_run(fake_apt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(apt.AptError, match=r"pkg-a missing; run as root: apt-get install pkg-a pkg-b"):
        apt.install_missing(("pkg-a", "pkg-b"), present=lambda: False, what="pkg-a")
    assert _calls(fake_apt) == []
