"""The nightly decay runs in SQL (apply_decay); requests evaluate the same curve in numpy
(states.effective_mastery_at). Both must agree on arbitrary rows, including whole-day truncation,
reviews after the as-of moment and never-reviewed skills."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest

from smartpractice.learner.memory import forgetting_curve
from smartpractice.service.states import effective_mastery_at

pytestmark = pytest.mark.stack
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def test_sql_decay_equals_the_numpy_curve(pg: psycopg.Connection) -> None:
    rng = np.random.default_rng(11)
    user_id = uuid.uuid4()
    skills = [int(r[0]) for r in pg.execute("select id from skills order by id limit 30").fetchall()]
    rows: list[dict[str, Any]] = []
    for k, skill in enumerate(skills):
        reviewed = k % 10 != 0  # every tenth skill never reviewed: R = 1
        rows.append({
            "user_id": str(user_id), "skill_id": skill, "p_mastery": float(rng.uniform(0.05, 0.99)),
            "stability": float(rng.uniform(0.2, 60.0)) if reviewed else None,
            # up to 200 days before the as-of moment, at arbitrary times of day
            "last_review": (AS_OF - timedelta(seconds=float(rng.uniform(0, 200)) * 86_400)).isoformat()
            if reviewed else None,
        })
    rows[1]["last_review"] = (AS_OF + timedelta(days=1.5)).isoformat()  # answered after the as-of moment
    expected = effective_mastery_at(rows, at=AS_OF)
    curve = forgetting_curve()
    with pg.transaction(force_rollback=True):
        pg.execute("insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id}@parity.test"))
        for row in rows:
            pg.execute("""insert into user_skill_mastery (user_id, skill_id, p_mastery, effective_mastery, stability,
                                                          difficulty, last_review, total_attempts)
                          values (%(user_id)s, %(skill_id)s, %(p_mastery)s, %(p_mastery)s, %(stability)s,
                                  case when %(stability)s::float8 is null then null else 5 end, %(last_review)s, 1)""",
                       row)
        pg.execute("set local role service_role")
        pg.execute("select public.apply_decay(%s, %s, %s, 0, null, 1000000)", (AS_OF, curve.decay, curve.factor))
        got: dict[int, float] = dict(pg.execute(
            "select skill_id, effective_mastery from user_skill_mastery where user_id = %s", (user_id,)).fetchall())
    np.testing.assert_allclose([got[r["skill_id"]] for r in rows], expected, rtol=0, atol=1e-12)
    # the draw covers every branch: decayed, unreviewed (= p_mastery) and reviewed after AS_OF (R = 1)
    assert sum(1 for r in rows if r["stability"] is None) == 3
    assert expected[1] == rows[1]["p_mastery"]
    assert sum(1 for r, v in zip(rows, expected, strict=True) if v < r["p_mastery"] - 0.01) >= 20
