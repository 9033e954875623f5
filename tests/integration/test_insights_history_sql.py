"""insights_context aggregates the mastery history in SQL (skill_trends, history_days): the insights response
computed from those aggregates equals the one computed from the raw history rows of the same window (the
functions on the points, as before issue 16), on a seeded 5-week history in a non-UTC time zone.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
import pytest
from supabase import create_client
from supabase.lib.client_options import SyncClientOptions

from smartpractice.db.contexts import InsightsContext
from smartpractice.db.repository import LearnerStore
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.insights import insights
from smartpractice.service.models_requests import InsightsRequest
from supalocal.keys import anon_key
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack
DAYS = 30
# (mastery now, trend per day, noise, answers): improving, declining, flat below target (a plateau), flat above
# the 0.8 target, too few
SHAPES = [(0.55, 0.012, 0.02, 90), (0.55, -0.008, 0.03, 60), (0.55, 0.0, 0.01, 70), (0.9, 0.0, 0.02, 40),
          (0.55, 0.01, 0.0, 2)]


def _seed(pg: psycopg.Connection, user_id: uuid.UUID, now: datetime) -> list[int]:
    """Mastery rows and their history over 35 days (some before the window, one row after `now`)."""
    skills = [r[0] for r in pg.execute("select id from skills order by id limit %s", (len(SHAPES),)).fetchall()]
    rng = random.Random(16)
    history: list[tuple[int, float, datetime]] = []
    for skill, (level, slope, noise, count) in zip(skills, SHAPES, strict=True):
        for _ in range(count):
            ago = rng.uniform(0.0, 35.0)
            value = level - slope * ago + rng.gauss(0.0, noise)
            history.append((skill, min(1.0, max(0.0, value)), now - timedelta(days=ago)))
    history.append((skills[0], 0.9, now + timedelta(minutes=30)))  # after the window's end: not in any fit
    with pg.transaction():
        # The history trigger and its direct-insert guard off for this transaction (as benchmarks/bigdata.py)
        pg.execute("set local session_replication_role = replica")
        pg.execute("insert into learner_profiles (user_id, time_zone) values (%s, 'America/New_York')", (user_id,))
        for skill, (_, _, _, count) in zip(skills, SHAPES, strict=True):
            pg.execute("insert into user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery, "
                       "total_attempts, correct_attempts) values (%s, %s, 0.5, 0.5, %s, %s)",
                       (user_id, skill, count, count // 2))
        with pg.cursor() as cur:
            cur.executemany("insert into mastery_history (user_id, skill_id, trigger_type, mastery_before, "
                            "mastery_after, p_mastery_after, elo_rating_after, mastery_version, created_at) "
                            "values (%s, %s, 'question', 0.5, %s, %s, 1200, 1, %s)",
                            [(user_id, s, v, v, t) for s, v, t in history])
    return skills


def _raw_history(pg: psycopg.Connection, user_id: uuid.UUID, since: datetime) -> dict[str, list[Any]]:
    """The window's rows as insights_context sent them before issue 16 (oldest first)."""
    rows = pg.execute("select skill_id, mastery_after, extract(epoch from created_at)::float8 from mastery_history "
                      "where user_id = %s and created_at >= %s order by created_at", (user_id, since)).fetchall()
    return {"skill_id": [r[0] for r in rows], "mastery_after": [r[1] for r in rows], "epoch": [r[2] for r in rows]}


class _Fixed:
    def __init__(self, context: InsightsContext) -> None:
        self.context = context

    def insights_context(self, since: str, now: str) -> InsightsContext:
        return self.context


def _close(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats within 1e-9 (the sums and the points round differently)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_sql_aggregated_history_gives_the_raw_rows_insights(live_stack: LiveStack, pg: psycopg.Connection,
                                                             make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    now = datetime.now(UTC)
    since = now - timedelta(days=DAYS)
    skills = _seed(pg, learner.user_id, now)
    client = create_client(live_stack.url, anon_key(live_stack.settings.jwt_secret),
                           SyncClientOptions(headers={"Authorization": f"Bearer {learner.token}"},
                                             httpx_client=live_stack.http))
    aggregated = LearnerStore(client).insights_context(since.isoformat(), now.isoformat())
    assert aggregated.history == {} and aggregated.skill_trends and aggregated.history_days["day"]
    raw = aggregated.model_copy(update={"history": _raw_history(pg, learner.user_id, since),
                                        "skill_trends": {}, "history_days": {}})

    def run(context: InsightsContext) -> dict[str, Any]:
        deps = cast(LearnerDeps, type("Deps", (), {"learner": _Fixed(context), "now": now})())
        out = insights(user_id=learner.user_id, body=InsightsRequest(days=DAYS), deps=deps)
        return out.model_dump(mode="json")

    from_sql, from_rows = run(aggregated), run(raw)
    _close(from_sql, from_rows)
    # The seeded shapes reach every branch: a rising and a falling velocity, a plateau, a too-thin skill.
    by_skill = {m["skill_id"]: m for m in from_sql["mastery"]}
    assert [by_skill[s]["trend"] for s in skills[:2]] == ["improving", "declining"]
    assert by_skill[skills[2]]["plateau"] is True and by_skill[skills[3]]["plateau"] is False
    assert by_skill[skills[4]]["velocity"] is None
    assert by_skill[skills[4]]["velocity_reason"] == "needs 3 answers on this skill, has 2"
    assert from_sql["series"]["topics"] and from_sql["learning_velocity"] is not None
