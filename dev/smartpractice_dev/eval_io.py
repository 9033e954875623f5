"""Evaluation harness input and metrics: long-format answer logs, a seeded split by learner, AUC/log-loss/ECE.

Format (CSV or TSV, optionally .gz; the header names the columns, aliases accepted):
    user_id (user, student_id, studentId), item_id (problem_id, question_id, item),
    skill_id (skill, skill_name, kc; several skills joined by ';' or, for numeric ids, '_'),
    correct (0/1), timestamp (order_id, start_time, time; numbers or ISO-8601).
Rows are ordered per learner by timestamp, then by file order. Rows with an empty skill get the skill "NA".
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

ALIASES = {
    "user": ("user_id", "user", "student_id", "studentid", "anon_student_id"),
    "item": ("item_id", "problem_id", "question_id", "item", "problem"),
    "skill": ("skill_id", "skill", "skill_name", "kc", "skills", "kc_id"),
    "correct": ("correct", "is_correct", "outcome"),
    "time": ("timestamp", "order_id", "start_time", "time", "ms_first_response", "unix_time"),
}


@dataclass(frozen=True, slots=True)
class AnswerLog:
    """Encoded answers sorted by (learner, time): indices into the name lists."""

    user: npt.NDArray[np.int64]
    item: npt.NDArray[np.int64]
    skills: tuple[tuple[int, ...], ...]
    correct: npt.NDArray[np.int8]
    user_names: tuple[str, ...]
    item_names: tuple[str, ...]
    skill_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.user.size)

    def learner_slices(self) -> Iterator[tuple[int, int, int]]:
        """(learner index, start, stop) of each learner's contiguous rows."""
        if not len(self):
            return
        edges = np.flatnonzero(np.diff(self.user)) + 1
        starts = np.concatenate([[0], edges])
        stops = np.concatenate([edges, [len(self)]])
        for start, stop in zip(starts, stops, strict=True):
            yield int(self.user[start]), int(start), int(stop)


def _column(header: list[str], role: str) -> int:
    lowered = [h.strip().lower() for h in header]
    for alias in ALIASES[role]:
        if alias in lowered:
            return lowered.index(alias)
    raise ValueError(f"no {role} column: expected one of {ALIASES[role]}, got {header}")


def _time(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return datetime.fromisoformat(raw.strip().replace("Z", "+00:00")).timestamp()


def split_skills(raw: str, separator: str | None = None) -> tuple[str, ...]:
    """Several skills in one cell: ';' always separates; '_' only when every part is a number (ids like 12_45)."""
    text = raw.strip()
    if not text:
        return ("NA",)
    if separator is not None:
        parts = text.split(separator)
    elif ";" in text:
        parts = text.split(";")
    else:
        pieces = text.split("_")
        parts = pieces if all(p.strip().lstrip("-").replace(".", "", 1).isdigit() for p in pieces) else [text]
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip())) or ("NA",)


def read_answers(path: Path, *, skill_separator: str | None = None) -> AnswerLog:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        text: io.TextIOBase = handle
        sample = text.readline()
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
        header = next(csv.reader([sample], delimiter=delimiter))
        columns = {role: _column(header, role) for role in ALIASES}
        users: dict[str, int] = {}
        items: dict[str, int] = {}
        skills: dict[str, int] = {}
        rows: list[tuple[int, float, int, int, tuple[int, ...], int]] = []
        for n, record in enumerate(csv.reader(text, delimiter=delimiter)):
            if not record:
                continue
            correct = float(record[columns["correct"]])
            if correct not in (0.0, 1.0):
                raise ValueError(f"row {n + 2}: correct must be 0 or 1, got {record[columns['correct']]!r}")
            names = split_skills(record[columns["skill"]], skill_separator)
            rows.append((users.setdefault(record[columns["user"]], len(users)), _time(record[columns["time"]]), n,
                         items.setdefault(record[columns["item"]], len(items)),
                         tuple(skills.setdefault(s, len(skills)) for s in names), int(correct)))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return AnswerLog(
        user=np.array([r[0] for r in rows], dtype=np.int64), item=np.array([r[3] for r in rows], dtype=np.int64),
        skills=tuple(r[4] for r in rows), correct=np.array([r[5] for r in rows], dtype=np.int8),
        user_names=tuple(users), item_names=tuple(items), skill_names=tuple(skills))


def split_learners(log: AnswerLog, *, test_fraction: float, seed: int) -> npt.NDArray[np.bool_]:
    """A seeded split by learner: True for the rows of test learners (disjoint from training learners)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    rng = np.random.default_rng(seed)
    n_users = len(log.user_names)
    test_users = rng.permutation(n_users)[: max(1, round(test_fraction * n_users))]
    is_test = np.zeros(n_users, dtype=np.bool_)
    is_test[test_users] = True
    result: npt.NDArray[np.bool_] = is_test[log.user]
    return result


# --- metrics ------------------------------------------------------------------------------------------------
