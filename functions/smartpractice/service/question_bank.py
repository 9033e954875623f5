"""The question bank as next_question sees it: parsed once into arrays, reused for a short time.

Every next_question filters the same bank (active questions, their skills and Elo difficulties, global
exposure). Reading and parsing it per request was most of the request's database time, so each
function instance keeps the parsed bank for `ttl_seconds` (default 60). What can be stale by that much:
difficulties (they move by a few Elo points per answer; the predictor's b by at most 0.1 logit per learner's
first answer), exposure counts, and which questions exist —
a question added or retired is picked up within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray
from smartpractice.learner.predictor import guessing_floor
from smartpractice.service.candidates import CandidatePool

IntArray = npt.NDArray[np.int64]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PoolFilter:
    """Which questions a session draws from (the request's filters override the session's)."""

    topic_ids: tuple[int, ...] | None = None
    subject_id: int | None = None
    exam_section: str | None = None
    skill_ids: tuple[int, ...] | None = None

    @classmethod
    def merged(cls, *, session_filters: Mapping[str, Any], topic_ids: Sequence[int] | None,
               skill_ids: Sequence[int] | None, exam_section: str | None) -> PoolFilter:
        """The session's filters narrowed by the request's: a request never widens a topic session's pool
        (a topic outside the session's, or another section, leaves nothing to serve)."""
        subject = session_filters.get("subject_id")
        section = session_filters.get("exam_section")
        if exam_section is not None and section is not None and exam_section != section:
            return cls(topic_ids=(), subject_id=int(subject) if subject is not None else None)
        return cls(topic_ids=_narrowed(session_filters.get("topic_ids"), topic_ids),
                   subject_id=int(subject) if subject is not None else None,
                   exam_section=exam_section or section,
                   skill_ids=_narrowed(session_filters.get("skill_ids"), skill_ids))


def _narrowed(session: Sequence[int] | None, request: Sequence[int] | None) -> tuple[int, ...] | None:
    """The ids both allow (None = no restriction)."""
    if not session:
        return tuple(int(i) for i in request) if request else None
    allowed = tuple(int(i) for i in session)
    return allowed if not request else tuple(i for i in allowed if i in {int(r) for r in request})


@dataclass(frozen=True, slots=True)
class QuestionBank:
    question_ids: IntArray  # (n,), ascending
    topic_ids: IntArray
    subject_ids: IntArray
    exam_sections: npt.NDArray[np.str_]
    skill_ids: IntArray  # (n, k), −1 where a question has fewer than k skills
    difficulties: FloatArray  # (n, k), NaN where padded
    times_seen: FloatArray
    item_difficulty: FloatArray | None = None  # predictor b (logits): stored, or seeded from the Elo rows
    floors: FloatArray | None = None  # served guessing floor (the night's per format, else 1/options); None: all 0

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[Any]]) -> QuestionBank:
        skills = columns["skill_ids"]
        width = max((len(s) for s in skills), default=1)
        skill_ids = np.full((len(skills), width), -1, dtype=np.int64)
        difficulties = np.full((len(skills), width), np.nan)
        for i, (ids, ds) in enumerate(zip(skills, columns["difficulties"], strict=True)):
            skill_ids[i, :len(ids)] = ids
            difficulties[i, :len(ds)] = ds
        return cls(
            question_ids=np.array(columns["id"], dtype=np.int64),
            topic_ids=np.array(columns["topic_id"], dtype=np.int64),
            subject_ids=np.array(columns["subject_id"], dtype=np.int64),
            exam_sections=np.array(columns["exam_section"], dtype=np.str_),
            skill_ids=skill_ids, difficulties=difficulties,
            times_seen=np.array(columns["times_seen"], dtype=np.float64),
            item_difficulty=np.array(columns.get("predictor_difficulty", [0.0] * len(skills)), dtype=np.float64),
            floors=np.array(columns["guessing_floor"], dtype=np.float64) if "guessing_floor" in columns
            else np.array([guessing_floor(int(n)) for n in columns.get("n_options", [0] * len(skills))],
                          dtype=np.float64),
        )

    def pool(self, *, where: PoolFilter, exclude: Sequence[int], seen_ids: Sequence[int],
             seen_epochs: Sequence[float]) -> CandidatePool:
        """The questions matching `where`, minus `exclude`, with when this learner last saw each."""
        keep = self.matches(where)
        excluded = np.asarray(exclude, dtype=np.int64)
        if excluded.size and self.question_ids.size:  # the ids are ascending (the SQL orders by the primary key)
            at = np.clip(np.searchsorted(self.question_ids, excluded), 0, self.question_ids.size - 1)
            keep[at[self.question_ids[at] == excluded]] = False
        ids = self.question_ids[keep]
        last_seen = np.full(ids.shape, np.nan)
        seen = np.asarray(seen_ids, dtype=np.int64)
        if seen.size and ids.size:
            at = np.clip(np.searchsorted(ids, seen), 0, ids.size - 1)
            hit = ids[at] == seen
            last_seen[at[hit]] = np.asarray(seen_epochs, dtype=np.float64)[hit]
        return CandidatePool(question_ids=ids, skill_ids=self.skill_ids[keep], difficulties=self.difficulties[keep],
                             times_seen=self.times_seen[keep], last_seen_epoch=last_seen,
                             item_difficulty=None if self.item_difficulty is None else self.item_difficulty[keep],
                             floors=None if self.floors is None else self.floors[keep])

    def matches(self, where: PoolFilter) -> npt.NDArray[np.bool_]:
        """Which questions of the bank `where` admits (one mask per filter, aligned with question_ids)."""
        keep = np.ones(self.question_ids.shape, dtype=bool)
        if where.topic_ids is not None:
            keep &= np.isin(self.topic_ids, where.topic_ids)
        if where.subject_id is not None:
            keep &= self.subject_ids == where.subject_id
        if where.exam_section is not None:
            keep &= self.exam_sections == where.exam_section
        if where.skill_ids is not None:
            keep &= np.isin(self.skill_ids, where.skill_ids).any(axis=1)
        return keep


class TtlCache(Generic[T]):
    """One value, reloaded when older than `ttl_seconds` (thread-safe). One loader at a time: concurrent
    requests of an instance wait for it instead of all reading at once when it expires."""

    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._loaded_at = 0.0

    def get(self, load: Callable[[], T]) -> T:
        with self._lock:
            now = self._clock()
            if self._value is None or now - self._loaded_at >= self._ttl:
                self._value = load()
                self._loaded_at = now
            return self._value


class QuestionBankCache:
    """The parsed bank of one project, reloaded when older than `ttl_seconds` (thread-safe)."""

    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache: TtlCache[QuestionBank] = TtlCache(ttl_seconds=ttl_seconds, clock=clock)

    def get(self, load: Callable[[], Mapping[str, Sequence[Any]]]) -> QuestionBank:
        return self._cache.get(lambda: QuestionBank.from_columns(load()))


_caches: dict[tuple[str, float], QuestionBankCache] = {}
_caches_lock = threading.Lock()


def shared_cache(*, project_url: str, ttl_seconds: float) -> QuestionBankCache:
    """The process-wide cache for a project (warm function instances reuse it across requests)."""
    with _caches_lock:
        return _caches.setdefault((project_url, ttl_seconds), QuestionBankCache(ttl_seconds=ttl_seconds))
