"""Figures the reliability and security tests report (attempts tried, succeeded, lost, 5xx).

Tests call `record(...)`; `tests/conftest.py` prints every recorded row as one table at the end of the
run (pytest's terminal summary), so a CI log shows the numbers behind the assertions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    check: str  # what was tried, e.g. "cross-user: learner A → B's rows, every table × verb"
    tried: int  # attempts made
    succeeded: int  # attempts that did what they asked (for attacks: reached another's data)
    lost: int = 0  # acknowledged writes missing afterwards
    server_errors: int = 0  # responses with status ≥ 500
    note: str = ""


_RECORDED: list[Figure] = []


def record(*, check: str, tried: int, succeeded: int, lost: int = 0, server_errors: int = 0, note: str = "") -> None:
    _RECORDED.append(Figure(check, tried, succeeded, lost, server_errors, note))


def recorded() -> tuple[Figure, ...]:
    return tuple(_RECORDED)


def table() -> list[str]:
    """The recorded figures as aligned text lines (empty when nothing was recorded)."""
    if not _RECORDED:
        return []
    header = ("check", "tried", "succeeded", "lost", "5xx", "note")
    rows = [(f.check, str(f.tried), str(f.succeeded), str(f.lost), str(f.server_errors), f.note) for f in _RECORDED]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join
    return [line(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
