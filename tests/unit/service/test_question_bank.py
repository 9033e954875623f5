"""The question bank next_question filters: pool filters, exclusions, last-seen alignment, the TTL cache."""

from __future__ import annotations

from typing import Any

import numpy as np

from smartpractice.service.question_bank import PoolFilter, QuestionBank, QuestionBankCache

COLUMNS: dict[str, list[Any]] = {
    "id": [1, 2, 3, 4, 5],
    "topic_id": [10, 10, 11, 12, 12],
    "subject_id": [100, 100, 100, 200, 200],
    "exam_section": ["math", "math", "math", "reading", "reading"],
    "skill_ids": [[1], [1, 2], [2], [3, 4, 5], [4]],
    "difficulties": [[1100.0], [1200.0, 1300.0], [1250.0], [900.0, 1000.0, 1100.0], [1150.0]],
    "times_seen": [3, 0, 7, 1, 2],
}


def _ids(where: PoolFilter, exclude: list[int] | None = None) -> list[int]:
    bank = QuestionBank.from_columns(COLUMNS)
    ids: list[int] = bank.pool(where=where, exclude=exclude or [], seen_ids=[], seen_epochs=[]).question_ids.tolist()
    return ids


def test_filters_combine_and_exclusions_apply() -> None:
    assert _ids(PoolFilter()) == [1, 2, 3, 4, 5]
    assert _ids(PoolFilter(), exclude=[2, 5, 42]) == [1, 3, 4]
    assert _ids(PoolFilter(topic_ids=(10, 12))) == [1, 2, 4, 5]
    assert _ids(PoolFilter(subject_id=200)) == [4, 5]
    assert _ids(PoolFilter(exam_section="math")) == [1, 2, 3]
    assert _ids(PoolFilter(skill_ids=(2,))) == [2, 3]  # any of the question's skills
    assert _ids(PoolFilter(skill_ids=(5,), subject_id=200)) == [4]
    assert _ids(PoolFilter(topic_ids=(10,), exam_section="reading")) == []


def test_request_filters_narrow_the_sessions_never_widen_them() -> None:
    session = {"topic_ids": [10, 11], "subject_id": 100, "exam_section": "math", "target_questions": 20}
    assert PoolFilter.merged(session_filters=session, topic_ids=None, skill_ids=None, exam_section=None) == \
        PoolFilter(topic_ids=(10, 11), subject_id=100, exam_section="math", skill_ids=None)
    # a topic outside the session's, or another section, leaves nothing (a topic session keeps to its filter)
    assert PoolFilter.merged(session_filters=session, topic_ids=[11, 12], skill_ids=[4], exam_section="math") == \
        PoolFilter(topic_ids=(11,), subject_id=100, exam_section="math", skill_ids=(4,))
    assert PoolFilter.merged(session_filters=session, topic_ids=[12], skill_ids=None, exam_section=None) == \
        PoolFilter(topic_ids=(), subject_id=100, exam_section="math", skill_ids=None)
    assert _ids(PoolFilter.merged(session_filters=session, topic_ids=[12], skill_ids=None, exam_section=None)) == []
    assert _ids(PoolFilter.merged(session_filters=session, topic_ids=None, skill_ids=None,
                                  exam_section="reading")) == []
    # without session filters the request's apply as they are
    assert PoolFilter.merged(session_filters={}, topic_ids=[12], skill_ids=None, exam_section="reading") == \
        PoolFilter(topic_ids=(12,), exam_section="reading")
    assert PoolFilter.merged(session_filters={}, topic_ids=None, skill_ids=None, exam_section=None) == PoolFilter()


def test_pool_arrays_stay_aligned_with_last_seen() -> None:
    bank = QuestionBank.from_columns(COLUMNS)
    pool = bank.pool(where=PoolFilter(), exclude=[1], seen_ids=[1, 3, 5, 9], seen_epochs=[10.0, 30.0, 50.0, 90.0])
    assert pool.question_ids.tolist() == [2, 3, 4, 5]
    np.testing.assert_array_equal(pool.last_seen_epoch, [np.nan, 30.0, np.nan, 50.0])
    assert pool.skill_ids.tolist() == [[1, 2, -1], [2, -1, -1], [3, 4, 5], [4, -1, -1]]
    np.testing.assert_array_equal(pool.times_seen, [0.0, 7.0, 1.0, 2.0])
    assert pool.skills_of(2) == [3, 4, 5]


def test_cache_reloads_only_after_the_ttl() -> None:
    clock = [0.0]
    loads: list[int] = []

    def load() -> dict[str, list[Any]]:
        loads.append(1)
        return COLUMNS

    cache = QuestionBankCache(ttl_seconds=60.0, clock=lambda: clock[0])
    first = cache.get(load)
    clock[0] = 59.9
    assert cache.get(load) is first and len(loads) == 1
    clock[0] = 60.0
    assert cache.get(load) is not first and len(loads) == 2
    uncached = QuestionBankCache(ttl_seconds=0.0, clock=lambda: clock[0])
    uncached.get(load)
    uncached.get(load)
    assert len(loads) == 4


def test_exclusions_by_binary_search_equal_np_isin() -> None:
    """pool() finds the excluded ids in the ascending bank by binary search; np.isin is the reference."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(0, 60))
        ids = np.sort(rng.choice(500, size=n, replace=False)) + 1
        bank = QuestionBank.from_columns({
            "id": ids.tolist(), "topic_id": [1] * n, "subject_id": [1] * n, "exam_section": ["math"] * n,
            "skill_ids": [[1]] * n, "difficulties": [[1200.0]] * n, "times_seen": [0] * n})
        exclude = rng.integers(-5, 520, size=int(rng.integers(0, 30))).tolist()  # misses, repeats, outside
        pool = bank.pool(where=PoolFilter(), exclude=exclude, seen_ids=[], seen_epochs=[])
        assert pool.question_ids.tolist() == ids[~np.isin(ids, exclude)].tolist()
