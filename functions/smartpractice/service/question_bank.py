"""The question bank as next_question sees it: parsed once into arrays, reused for a short time.

Every next_question filters the same bank (active questions, their skills and Elo difficulties, global
exposure). Reading and parsing it per request was most of the request's database time, so each
function instance keeps the parsed bank for `ttl_seconds` (default 60). What can be stale by that much:
difficulties (they move by a few Elo points per answer), exposure counts, and which questions exist —
a question added or retired is picked up within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray
from smartpractice.service.candidates import CandidatePool

IntArray = npt.NDArray[np.int64]


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
        topics = topic_ids or session_filters.get("topic_ids")
        skills = skill_ids or session_filters.get("skill_ids")
        subject = session_filters.get("subject_id")
        return cls(topic_ids=tuple(int(t) for t in topics) if topics else None,
                   subject_id=int(subject) if subject is not None else None,
                   exam_section=exam_section or session_filters.get("exam_section"),
                   skill_ids=tuple(int(s) for s in skills) if skills else None)


@dataclass(frozen=True, slots=True)
class QuestionBank:
    question_ids: IntArray  # (n,), ascending
    topic_ids: IntArray
    subject_ids: IntArray
    exam_sections: npt.NDArray[np.str_]
    skill_ids: IntArray  # (n, k), −1 where a question has fewer than k skills
    difficulties: FloatArray  # (n, k), NaN where padded
    times_seen: FloatArray

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
        )

    def pool(self, *, where: PoolFilter, exclude: Sequence[int], seen_ids: Sequence[int],
             seen_epochs: Sequence[float]) -> CandidatePool:
        """The questions matching `where`, minus `exclude`, with when this learner last saw each."""
        keep = ~np.isin(self.question_ids, np.asarray(exclude, dtype=np.int64))
        if where.topic_ids is not None:
            keep &= np.isin(self.topic_ids, where.topic_ids)
        if where.subject_id is not None:
            keep &= self.subject_ids == where.subject_id
        if where.exam_section is not None:
            keep &= self.exam_sections == where.exam_section
        if where.skill_ids is not None:
            keep &= np.isin(self.skill_ids, where.skill_ids).any(axis=1)
        ids = self.question_ids[keep]
        last_seen = np.full(ids.shape, np.nan)
        seen = np.asarray(seen_ids, dtype=np.int64)
        if seen.size and ids.size:
            at = np.clip(np.searchsorted(ids, seen), 0, ids.size - 1)
            hit = ids[at] == seen
            last_seen[at[hit]] = np.asarray(seen_epochs, dtype=np.float64)[hit]
        return CandidatePool(question_ids=ids, skill_ids=self.skill_ids[keep], difficulties=self.difficulties[keep],
                             times_seen=self.times_seen[keep], last_seen_epoch=last_seen)


class QuestionBankCache:
    """The parsed bank of one project, reloaded when older than `ttl_seconds` (thread-safe)."""

    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._bank: QuestionBank | None = None
        self._loaded_at = 0.0

    def get(self, load: Callable[[], Mapping[str, Sequence[Any]]]) -> QuestionBank:
        with self._lock:
            now = self._clock()
            if self._bank is None or now - self._loaded_at >= self._ttl:
                # One loader at a time: concurrent requests of an instance wait for it instead of all
                # reading the bank at once when it expires.
                self._bank = QuestionBank.from_columns(load())
                self._loaded_at = now
            return self._bank


_caches: dict[tuple[str, float], QuestionBankCache] = {}
_caches_lock = threading.Lock()


def shared_cache(*, project_url: str, ttl_seconds: float) -> QuestionBankCache:
    """The process-wide cache for a project (warm function instances reuse it across requests)."""
    with _caches_lock:
        return _caches.setdefault((project_url, ttl_seconds), QuestionBankCache(ttl_seconds=ttl_seconds))
