"""Evaluation harness input and metrics: long-format answer logs, a seeded split by learner, AUC/log-loss/ECE.

Format (CSV or TSV, optionally .gz; the header names the columns, aliases accepted):
    user_id (user, student_id, studentId, Anon Student Id), item_id (problem_id, question_id, item, Problem Name),
    skill_id (skill, skill_name, kc, KC(Default); several skills joined by ';', '~~' or, for numeric ids, '_'),
    correct (0/1, true/false; Correct First Attempt), timestamp (order_id, start_time, time; numbers or ISO-8601).
Optional: item_difficulty (seed_difficulty, authored_difficulty, difficulty_label), the question's authored
    difficulty seed — the product's label seed (private.predictor_label_seed_difficulty, what the nightly seed
    map is fitted and applied on; a new question's Elo rows are created from the same bases): a number in the
    predictor's logits (0 = a learner at θ = 0 has even chances, higher = harder) or a label easy / medium /
    hard, read as the product reads it (`label_seed`): each of the question's k skills at the label's Elo base
    1000 / 1200 / 1400 (private.label_elo_base), (d − 1200) · ln 10 / 400 = −1.151 / 0 / +1.151 logits, under
    the conjunctive rule (one skill: those; medium on two skills: log 3). Per question the first non-empty value
    counts (later different ones are counted as conflicts); a question without one gets NaN. Without the column,
    `AnswerLog.item_difficulty` is None and the harness skips its seeded cold-start rows.
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
import math
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
OPTIONAL_ALIASES = {
    "difficulty": ("item_difficulty", "seed_difficulty", "authored_difficulty", "difficulty_label"),
}
ELO_LOGIT = math.log(10.0) / 400.0  # one Elo point in logits
# A one-skill question's label seed in logits, at the labels' Elo bases 1000 / 1200 / 1400: the SQL's
# private.label_elo_base, the one definition (tests/integration/test_label_seed_stack.py ties the two).
DIFFICULTY_LABELS = {"easy": (1000 - 1200) * ELO_LOGIT, "medium": 0.0, "hard": (1400 - 1200) * ELO_LOGIT}
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
    item_difficulty: npt.NDArray[np.float64] | None = None  # authored seed per item (NaN: none); None: no column
    difficulty_conflicts: int = 0  # rows whose seed differs from the item's first one (the first is kept)

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


def _optional_column(header: list[str], role: str) -> int | None:
    lowered = [_normalise(h) for h in header]
    return next((lowered.index(a) for a in OPTIONAL_ALIASES[role] if a in lowered), None)


def label_seed(label: str, n_skills: int) -> float:
    """The product's label seed (private.predictor_label_seed_difficulty): every one of the question's k skills at
    the label's base x (logits), P = σ(−x)^k, b = log((1 − P) / P) within ±6; 0 without skills."""
    if n_skills <= 0:
        return 0.0
    x = DIFFICULTY_LABELS[label]
    log_p = -n_skills * (max(x, 0.0) + math.log1p(math.exp(-abs(x))))
    if log_p > -1e-9:
        return -6.0
    return min(6.0, max(-6.0, math.log(-math.expm1(log_p)) - log_p))


def parse_difficulty(raw: str) -> float:
    """An authored difficulty cell in logits: a finite number as is, easy / medium / hard via the Elo bases (as
    for one skill: read_answers applies the item's skill count); NaN for an empty or unreadable cell."""
    text = raw.strip().lower()
    if text in DIFFICULTY_LABELS:
        return DIFFICULTY_LABELS[text]
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


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
        difficulty_column = _optional_column(header, "difficulty")
        seeds: dict[int, float] = {}
        labels: dict[int, str] = {}  # items whose seed is a label: its seed depends on the item's skill count
        conflicts = 0
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
            item_index = items.setdefault(item, len(items))
            rows.append((users.setdefault(user, len(users)), _time(moment, row=n + 2), n, item_index,
                         tuple(skills.setdefault(s, len(skills)) for s in names), correct))
            if difficulty_column is not None and difficulty_column < len(record):
                seed = parse_difficulty(record[difficulty_column])
                if not math.isnan(seed):
                    if item_index not in seeds and record[difficulty_column].strip().lower() in DIFFICULTY_LABELS:
                        labels[item_index] = record[difficulty_column].strip().lower()
                    first = seeds.setdefault(item_index, seed)
                    conflicts += first != seed
    if not rows:
        raise ValueError(f"{path}: no usable answers ({skipped} rows skipped: a learner, an item and a 0/1 outcome "
                         "are needed)")
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    rows, merged = _merge_rows_per_skill(rows)
    if labels:
        n_skills: dict[int, int] = {}
        for r in rows:
            n_skills[r[3]] = max(n_skills.get(r[3], 0), len(r[4]))
        seeds.update({i: label_seed(label, n_skills.get(i, 1)) for i, label in labels.items()})
    return AnswerLog(
        user=np.array([r[0] for r in rows], dtype=np.int64), item=np.array([r[3] for r in rows], dtype=np.int64),
        skills=tuple(r[4] for r in rows), correct=np.array([r[5] for r in rows], dtype=np.int8),
        user_names=tuple(users), item_names=tuple(items), skill_names=tuple(skills),
        skipped_rows=skipped, merged_rows=merged,
        item_difficulty=None if difficulty_column is None else np.array(
            [seeds.get(i, math.nan) for i in range(len(items))], dtype=np.float64),
        difficulty_conflicts=conflicts)


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
