"""Issue 13 on the real stack: a first session of 10 answers, the nightly aggregates, then insights.

Done when: every velocity is null or within ±1/day; no "ready" claim contradicts the pass probability;
per-section scores are present; the gaps insights lists are the learner's top open rows of knowledge_gaps,
and those rows are exactly the Python definition (learner/gaps.py) on the same inputs (SQL/Python parity).
Learner goals: set through REST under RLS, validated by check constraints, used by readiness.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest
from supabase import create_client
from supabase.lib.client_options import SyncClientOptions

from smartpractice.learner.gaps import knowledge_gaps
from supalocal.keys import anon_key
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack


def _key(pg: psycopg.Connection, question_id: int) -> list[str]:
    row = pg.execute("select correct_answer from question_answer_keys where question_id = %s",
                     (question_id,)).fetchone()
    assert row is not None
    return list(row[0])


def _first_session(stack: LiveStack, pg: psycopg.Connection, learner: Learner) -> dict[str, object]:
    """10 answers alternating Math and Reading & Writing, 7 right; returns complete_session's snapshot."""
    session_id = stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    for i in range(10):
        section = "math" if i % 2 == 0 else "reading_writing"
        served = stack.call("next_question", token=learner.token,
                            json={"session_id": session_id, "exam_section": section})
        assert served.status_code == 200, served.text
        body = served.json()
        if i == 0:  # a brand-new learner: nothing is "weakest" yet
            assert "weakest" not in body["reason"]["why"]
        question = body["question"]
        answer = _key(pg, question["id"]) if i % 10 not in (3, 6, 9) else ["definitely-wrong"]
        submitted = stack.call("submit_answer", token=learner.token, json={
            "session_id": session_id, "question_id": question["id"], "user_answer": answer,
            "time_spent_seconds": 50.0, "idempotency_key": f"num-{uuid.uuid4()}"})
        assert submitted.status_code == 200, submitted.text
        feedback = submitted.json()["feedback"]
        assert feedback.startswith("Correct: " if answer != ["definitely-wrong"] else "Not quite: ")
    done = stack.call("complete_session", token=learner.token, json={"session_id": session_id})
    assert done.status_code == 200, done.text
    snapshot: dict[str, object] = done.json()["snapshot"]
    return snapshot


def _parity(pg: psycopg.Connection, user_id: uuid.UUID) -> None:
    """The table's rows equal learner/gaps.knowledge_gaps on the inputs read back from the database."""
    mastery = pg.execute("select skill_id, effective_mastery from user_skill_mastery "
                         "where user_id = %s and total_attempts > 0 and effective_mastery < 0.6 order by skill_id",
                         (user_id,)).fetchall()
    weights: dict[int, float] = dict(pg.execute(
        "select s.id, t.exam_weight::float8 / count(*) over (partition by s.topic_id) "
        "from skills s join topics t on t.id = s.topic_id").fetchall())
    dependants = Counter(r[0] for r in pg.execute("select prerequisite_skill_id from skill_prerequisites"))
    answers = pg.execute("select qs.skill_id, count(*), count(*) filter (where not sq.is_correct) "
                         "from session_questions sq join question_skills qs using (question_id) "
                         "where sq.user_id = %s and sq.is_correct is not null group by qs.skill_id",
                         (user_id,)).fetchall()
    tried = {r[0]: (r[1], r[2]) for r in answers}
    ids = [r[0] for r in mastery]
    expected = knowledge_gaps(
        mastery=[r[1] for r in mastery], exam_weight=[weights[s] for s in ids],
        dependent_skills=[dependants[s] for s in ids], recent_failures=[tried.get(s, (0, 0))[1] for s in ids],
        recent_attempts=[tried.get(s, (0, 0))[0] for s in ids], largest_exam_weight=max(weights.values()))
    rows = pg.execute("select skill_id, priority_score, severity from knowledge_gaps "
                      "where user_id = %s and status = 'open' order by skill_id", (user_id,)).fetchall()
    assert [r[0] for r in rows] == ids
    assert [r[1] for r in rows] == pytest.approx(expected.priority.tolist(), abs=1e-9)
    assert [r[2] for r in rows] == [s.value for s in expected.severity]


def test_first_session_then_nightly_then_insights(live_stack: LiveStack, pg: psycopg.Connection,
                                                  make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    snapshot = _first_session(live_stack, pg, learner)
    scores = snapshot["predicted_scores"]
    assert isinstance(scores, dict)
    sections = {s["section"]: s for s in scores["sections"]}
    assert set(sections) == {"math", "reading_writing"}
    assert all(200 <= s["low"] <= s["score"] <= s["high"] <= 800 for s in sections.values())
    assert scores["total"] == sections["math"]["score"] + sections["reading_writing"]["score"]

    pg.execute("select public.refresh_aggregates(%s)", (datetime.now(UTC).date(),))
    _parity(pg, learner.user_id)
    insights = live_stack.call("insights", token=learner.token, json={"days": 30})
    assert insights.status_code == 200, insights.text
    data = insights.json()

    top = pg.execute("select skill_id, priority_score from knowledge_gaps where user_id = %s and status = 'open' "
                     "order by priority_score desc, skill_id limit 5", (learner.user_id,)).fetchall()
    assert top, "ten answers with three wrong leave open gaps"
    assert [(g["skill_id"], g["priority"]) for g in data["knowledge_gaps"]] == [(r[0], r[1]) for r in top]
    assert all(m["velocity"] is None or -1.0 <= m["velocity"] <= 1.0 for m in data["mastery"])
    assert data["learning_velocity"] is None
    attempts: dict[int, int] = dict(pg.execute(
        "select skill_id, total_attempts from user_skill_mastery where user_id = %s", (learner.user_id,)).fetchall())
    assert all(attempts[h["skill_id"]] >= 3 for h in data["weakest"] + data["strongest"])  # evidence to rank on
    readiness = data["readiness"]
    assert readiness["scope"] == "total" and readiness["target_score"] == 1200
    assert readiness["ready"] == (readiness["pass_probability"] >= 0.5) == (readiness["days_to_ready"] == 0)
    assert readiness["days_to_ready"] in (0, None)  # no projection from one sitting
    assert data["goals"]["defaulted"] == ["sections", "target_math", "target_reading_writing", "target_total",
                                          "exam_date", "time_zone", "exam"]
    assert {s["section"] for s in data["predicted_scores"]["sections"]} == {"math", "reading_writing"}
    assert sum(d["answers"] for d in data["series"]["days"]) == 10
    assert sum(b["answers"] for b in data["accuracy_by_difficulty"]) == 10
    assert data["speed"]["answers"] == 10
    assert data["performance"]["accuracy"] == pytest.approx(70.0)


def test_goals_through_rest_under_rls(live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    alice, bob = make_learner(), make_learner()

    def client(who: Learner):  # type: ignore[no-untyped-def]  # the supabase client is untyped here
        return create_client(live_stack.url, anon_key(live_stack.settings.jwt_secret),
                             SyncClientOptions(headers={"Authorization": f"Bearer {who.token}"},
                                               httpx_client=live_stack.http))

    mine = client(alice).table("learner_profiles")
    mine.upsert({"sections": ["math"], "target_math": 700, "exam_date": "2027-03-13",
                 "time_zone": "America/New_York"}).execute()
    for bad in ({"target_math": 805}, {"time_zone": "Mars/Olympus"}, {"sections": ["math", "math"]},
                {"sections": ["math"], "target_reading_writing": 600}):
        with pytest.raises(Exception, match=r"23514|violates check constraint"):
            mine.upsert({"sections": ["math"]} | bad).execute()
    assert client(bob).table("learner_profiles").select("*").execute().data == []
    with pytest.raises(Exception, match=r"42501|row-level security"):
        client(bob).table("learner_profiles").insert({"user_id": str(alice.user_id), "target_math": 200}).execute()
    # B's update and delete aimed at A's row match no row under RLS: nothing changes
    theirs = client(bob).table("learner_profiles")
    assert theirs.update({"target_math": 200}).eq("user_id", str(alice.user_id)).execute().data == []
    assert theirs.delete().eq("user_id", str(alice.user_id)).execute().data == []
    assert [(r["target_math"], r["time_zone"]) for r in mine.select("*").execute().data] == [(700, "America/New_York")]

    data = live_stack.call("insights", token=alice.token, json={"days": 7}).json()
    goals = data["goals"]
    assert (goals["sections"], goals["section_targets"], goals["total_target"], goals["time_zone"]) == \
        (["math"], {"math": 700}, None, "America/New_York")
    assert goals["defaulted"] == []
    assert data["readiness"]["scope"] == "math" and data["readiness"]["target_score"] == 700
    assert data["readiness"]["predicted_score"] is None and data["readiness"]["reason"]
    assert data["study_patterns"]["time_zone"] == "America/New_York"
