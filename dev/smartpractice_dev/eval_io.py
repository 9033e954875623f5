"""Evaluation harness input and metrics: long-format answer logs, a seeded split by learner, AUC/log-loss/ECE.

Format (CSV or TSV, optionally .gz; the header names the columns, aliases accepted):
    user_id (user, student_id, studentId, Anon Student Id), item_id (problem_id, question_id, item, Problem Name),
    skill_id (skill, skill_name, kc, KC(Default); several skills joined by ';', '~~' or, for numeric ids, '_'),
    correct (0/1, true/false; Correct First Attempt), timestamp (order_id, start_time, time; numbers or ISO-8601).
Header names are compared lower-cased with runs of other characters read as '_' ("KC(Default)" = kc_default).

Real logs are not clean, so reading is forgiving where the meaning is unambiguous and says what it did:
- Rows are ordered per learner by timestamp, then by file order. An empty skill is the skill "NA".
- One answer written as several rows, one per skill (ASSISTments 2009 "skill_builder" does this: same user,
  problem, order_id and outcome), becomes one answer with all those skills; counting it once per row would
  let a learner's later rows be "predicted" from an outcome already seen.
- Rows whose learner, item, time or outcome is missing or not binary (partial credit) are skipped and counted.
- Bytes that are not UTF-8 (latin-1 exports) are replaced, not fatal: names only serve as keys.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

ALIASES = {
    "user": ("user_id", "user", "student_id", "studentid", "anon_student_id", "learner_id"),
    "item": ("item_id", "problem_id", "question_id", "item", "problem", "problem_name", "assistment_id"),
    "skill": ("skill_id", "skill", "skill_name", "kc", "skills", "kc_id", "kc_default", "kc_subskills",
              "concept_id", "tag"),
    "correct": ("correct", "is_correct", "outcome", "correct_first_attempt"),
    "time": ("timestamp", "order_id", "start_time", "time", "ms_first_response", "unix_time",
             "first_transaction_time", "step_start_time"),
}
_TRUE = {"1", "1.0", "true", "t", "yes", "correct"}
_FALSE = {"0", "0.0", "false", "f", "no", "incorrect"}


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
    skipped_rows: int = 0  # rows without a learner, an item or a binary outcome
    merged_rows: int = 0  # extra rows of one answer written once per skill

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


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _column(header: list[str], role: str) -> int:
    lowered = [_normalise(h) for h in header]
    for alias in ALIASES[role]:
        if alias in lowered:
            return lowered.index(alias)
    raise ValueError(f"no {role} column: expected one of {ALIASES[role]}, got {header}")


def _time(raw: str, *, row: int) -> float:
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"row {row}: timestamp {raw!r} is neither a number nor ISO-8601") from None


def split_skills(raw: str, separator: str | None = None) -> tuple[str, ...]:
    """Several skills in one cell: ';' always separates; '_' only when every part is a number (ids like 12_45)."""
    text = raw.strip()
    if not text:
        return ("NA",)
    if separator is not None:
        parts = text.split(separator)
    elif ";" in text:
        parts = text.split(";")
    elif "~~" in text:  # PSLC DataShop / KDD Cup 2010 exports
        parts = text.split("~~")
    else:
        pieces = text.split("_")
        parts = pieces if all(p.strip().lstrip("-").replace(".", "", 1).isdigit() for p in pieces) else [text]
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip())) or ("NA",)


def _outcome(raw: str) -> int | None:
    text = raw.strip().lower()
    return 1 if text in _TRUE else 0 if text in _FALSE else None


_Row = tuple[int, float, int, int, tuple[int, ...], int]  # user, time, file order, item, skills, correct


def _merge_rows_per_skill(rows: list[_Row]) -> tuple[list[_Row], int]:
    """Rows sorted by (user, time, order): consecutive rows of one answer (same user, time, item and outcome)
    become one row with the union of their skills."""
    merged: list[_Row] = []
    for row in rows:
        last = merged[-1] if merged else None
        if last is not None and (last[0], last[1], last[3], last[5]) == (row[0], row[1], row[3], row[5]):
            merged[-1] = (*last[:4], tuple(dict.fromkeys(last[4] + row[4])), last[5])
        else:
            merged.append(row)
    return merged, len(rows) - len(merged)


def read_answers(path: Path, *, skill_separator: str | None = None) -> AnswerLog:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as handle:
        text: io.TextIOBase = handle
        sample = text.readline()
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
        header = next(csv.reader([sample], delimiter=delimiter))
        columns = {role: _column(header, role) for role in ALIASES}
        width = max(columns.values()) + 1
        users: dict[str, int] = {}
        items: dict[str, int] = {}
        skills: dict[str, int] = {}
        rows: list[_Row] = []
        skipped = 0
        for n, record in enumerate(csv.reader(text, delimiter=delimiter)):
            if not record:
                continue
            correct = _outcome(record[columns["correct"]]) if len(record) >= width else None
            user, item = (record[columns["user"]].strip(), record[columns["item"]].strip()) if correct is not None \
                else ("", "")
            moment = record[columns["time"]].strip() if correct is not None else ""
            if not user or not item or correct is None or not moment:
                skipped += 1
                continue
            names = split_skills(record[columns["skill"]], skill_separator)
            rows.append((users.setdefault(user, len(users)), _time(moment, row=n + 2), n,
                         items.setdefault(item, len(items)),
                         tuple(skills.setdefault(s, len(skills)) for s in names), correct))
    if not rows:
        raise ValueError(f"{path}: no usable answers ({skipped} rows skipped: a learner, an item and a 0/1 outcome "
                         "are needed)")
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    rows, merged = _merge_rows_per_skill(rows)
    return AnswerLog(
        user=np.array([r[0] for r in rows], dtype=np.int64), item=np.array([r[3] for r in rows], dtype=np.int64),
        skills=tuple(r[4] for r in rows), correct=np.array([r[5] for r in rows], dtype=np.int8),
        user_names=tuple(users), item_names=tuple(items), skill_names=tuple(skills),
        skipped_rows=skipped, merged_rows=merged)


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
