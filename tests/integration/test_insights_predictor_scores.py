"""insights' predicted scores come from the production predictor, through the real local stack (issue 15).

A learner answers 12 questions (6 per SAT section) through the functions, then their predictor state is seeded
(θ, every skill's δ and counts) and a nightly weights row stored; then, with the learner's JWT:
- insights_context (the official supabase client, RLS) sends per section a curve within CURVE_TOLERANCE
  (≈ 3.0e-5, the bound of its logit buckets, 20261207150000) of the exact per-question curve T(θ + Δ) that the
  pure `predictor_scores.section_curve` gives on the stored state and bank read back as postgres, and the Fisher
  information of the learner's answered questions that `ability_information` gives, to 1e-9 (one of them has a
  skill new to the learner, so the SQL logits carry the 8th feature's weight, 20261207220000);
- the insights function reports each section's expected_proportion = T̃(θ) of the sent curve (1e-9, within
  CURVE_TOLERANCE of the exact one), the score, interval, total and readiness the pure pipeline gives on the sent
  curves, and the section scores the exact curves give except within 600 · CURVE_TOLERANCE of a rounding
  boundary; score_source "predictor";
- complete_session's snapshot carries the same scores and pass probability (session_summary_context sends the
  same inputs);
- another learner reads none of it (RLS): not the state rows, and their own context and insights carry no
  predictor state, with the null-and-reason scores;
- the nightly daily snapshot (run_maintenance's snapshots step, snapshot_inputs → predictor_score_inputs_of)
  carries the same section scores and total as insights, score_source "predictor", and insights' growth series
  shows them on today's point; a learner cannot read another's predictor block through predictor_score_inputs_of.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb
from supabase import create_client
from supabase.lib.client_options import SyncClientOptions

from smartpractice.api.models import MaintenanceRequest
from smartpractice.db.repository import ServiceStore
from smartpractice.learner import predictor
from smartpractice.learner import predictor_scores as ps
from smartpractice.learner.exam_scores import assess_readiness
from smartpractice.service.deps import MaintenanceDeps
from smartpractice.service.maintenance import run_maintenance
from supalocal.keys import anon_key
from tests.integration.conftest import Learner, LiveStack
from tests.integration.test_predictor_stack import FLOORS, served_floor

pytestmark = pytest.mark.stack

WEIGHTS = (0.15, 0.8, -0.05, 0.3, 0.03, -0.06, -0.25, -0.45)
THETA = 0.35
SECTIONS = ("math", "reading_writing")


@pytest.fixture()
def fitted_weights(live_stack: LiveStack) -> Iterator[predictor.Weights]:
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        row = conn.execute("select public.insert_predictor_weights(%s::jsonb)", (
            Jsonb({"fitted_at": "2999-01-01T00:00:00Z", "n_answers": 1000, "weights": list(WEIGHTS),
                   **FLOORS}),)).fetchone()
        assert row is not None
        try:
            yield predictor.Weights(WEIGHTS)
        finally:
            conn.execute("delete from predictor_weights where id = %s", (row[0],))


def _client(stack: LiveStack, who: Learner) -> Any:
    return create_client(stack.url, anon_key(stack.settings.jwt_secret),
                         SyncClientOptions(headers={"Authorization": f"Bearer {who.token}"}, httpx_client=stack.http))


def _answer(stack: LiveStack, pg: psycopg.Connection, learner: Learner, per_section: int) -> str:
    session_id = stack.call("start_session", token=learner.token, json={}).json()["session_id"]
    for i in range(2 * per_section):
        served = stack.call("next_question", token=learner.token,
                            json={"session_id": session_id, "exam_section": SECTIONS[i % 2]})
        assert served.status_code == 200, served.text
        question_id = served.json()["question"]["id"]
        key = pg.execute("select correct_answer from question_answer_keys where question_id = %s",
                         (question_id,)).fetchone()
        assert key is not None
        answer = list(key[0]) if i % 3 else ["definitely-wrong"]
        done = stack.call("submit_answer", token=learner.token, json={
            "session_id": session_id, "question_id": question_id, "user_answer": answer,
            "time_spent_seconds": 40.0, "idempotency_key": str(uuid.uuid4())})
        assert done.status_code == 200, done.text
    return str(session_id)


def _seed_state(pg: psycopg.Connection, user_id: uuid.UUID) -> None:
    """A predictor state unlike the one the answers left: θ, and per skill δ and counts (some skills absent)."""
    pg.execute("update learner_predictor_state set theta = %s, answers = 40, correct = 27 where user_id = %s",
               (THETA, user_id))
    skills = [r[0] for r in pg.execute("select id from skills order by id").fetchall()]
    pg.execute("delete from learner_skill_predictor_state where user_id = %s", (user_id,))
    for i, skill in enumerate(skills):
        if i % 4 == 3:
            continue  # never answered: the prior
        answers = 2 + i % 7
        pg.execute("insert into learner_skill_predictor_state (user_id, skill_id, deviation, answers, correct) "
                   "values (%s, %s, %s, %s, %s)", (user_id, skill, 0.4 * ((i % 5) - 2) / 2, answers, answers // 2))


def _bank(pg: psycopg.Connection, user_id: uuid.UUID, where: str, args: tuple[Any, ...]) -> dict[str, np.ndarray]:
    """The questions `where` selects, as predict_grid's grids on the learner's stored state (read as postgres)."""
    rows = pg.execute(f"""
        select q.id,
               coalesce(p.predictor_difficulty, private.served_cold_difficulty(q.difficulty_label,
                    (select count(*)::integer from question_skills qs where qs.question_id = q.id)),
                  private.predictor_seed_difficulty(
                 (select array_agg(qs.elo_difficulty order by qs.skill_id) from question_skills qs
                  where qs.question_id = q.id))),
               case when q.question_type = 'multiple_choice' then jsonb_array_length(q.options) end,
               (select array_agg(array[coalesce(d.deviation, 0), coalesce(d.answers, 0), coalesce(d.correct, 0)]
                                 order by qs.skill_id)
                from question_skills qs left join learner_skill_predictor_state d
                  on d.user_id = %s and d.skill_id = qs.skill_id where qs.question_id = q.id)
        from questions q left join question_difficulty_params p on p.question_id = q.id
        where {where} order by q.id""", (user_id, *args)).fetchall()
    width = max(len(r[3]) for r in rows)

    def grid(j: int) -> np.ndarray:
        return np.array([[float(s[j]) for s in r[3]] + [0.0] * (width - len(r[3])) for r in rows])

    return {"deviations": grid(0), "skill_answers": grid(1), "skill_correct": grid(2),
            "present": np.array([[k < len(r[3]) for k in range(width)] for r in rows]),
            "difficulties": np.array([float(r[1]) for r in rows]),
            "floors": np.array([served_floor(r[2]) for r in rows])}


def test_insights_scores_are_the_pure_predictor_curve_on_the_stored_state(
        live_stack: LiveStack, pg: psycopg.Connection, make_learner: Callable[[], Learner],
        fitted_weights: predictor.Weights) -> None:
    alice, bob = make_learner(), make_learner()
    session_id = _answer(live_stack, pg, alice, per_section=6)
    _seed_state(pg, alice.user_id)
    # one skill of her first answered question new to her (no state row): the 8th feature's SQL path is exercised
    # on the answered questions whose logits the information sums
    new_skill = pg.execute("select qs.skill_id from session_questions sq join question_skills qs "
                           "on qs.question_id = sq.question_id where sq.user_id = %s and sq.is_correct is not null "
                           "order by sq.answered_at, qs.skill_id limit 1", (alice.user_id,)).fetchone()
    assert new_skill is not None
    pg.execute("delete from learner_skill_predictor_state where user_id = %s and skill_id = %s",
               (alice.user_id, new_skill[0]))
    state = pg.execute("select theta, answers, correct from learner_predictor_state where user_id = %s",
                       (alice.user_id,)).fetchone()
    assert state is not None and state[0] == THETA
    theta, answers, correct = float(state[0]), int(state[1]), int(state[2])

    context = _client(live_stack, alice).rpc("insights_context", {
        "p_since": "2000-01-01T00:00:00Z", "p_now": "2999-01-01T00:00:00Z"}).execute().data
    block = context["predictor_scores"]
    offsets = np.asarray(block["offsets"], dtype=np.float64)
    assert offsets.tolist() == ps.OFFSETS.tolist()
    assert block["weights"] == list(WEIGHTS) and block["learner"]["theta"] == THETA
    sections = {s["section"]: s for s in block["sections"]}
    expected_curves, exact_curves = {}, {}
    for name in SECTIONS:
        grids = _bank(pg, alice.user_id, "q.is_active and q.exam_section = %s", (name,))
        exact = ps.section_curve(offsets=offsets, theta=theta, learner_answers=answers, learner_correct=correct,
                                 weights=fitted_weights, **grids)
        got = np.asarray(sections[name]["curve"], dtype=np.float64)
        assert np.max(np.abs(got - exact)) <= ps.CURVE_TOLERANCE, name
        assert sections[name]["questions"] == grids["difficulties"].size
        assert sections[name]["answers"] == 6
        expected_curves[name], exact_curves[name] = got, exact
    answered = _bank(pg, alice.user_id, "q.id in (select question_id from session_questions "
                                        "where user_id = %s and is_correct is not null)", (alice.user_id,))
    logits = predictor.logit_grid(theta=theta, learner_answers=answers, learner_correct=correct,
                                  weights=fitted_weights, **{k: v for k, v in answered.items() if k != "floors"})
    information = ps.ability_information(logits=logits, floors=answered["floors"], slope=WEIGHTS[1])
    assert abs(block["information"] - information) <= 1e-9
    # ... with the new-skill term: some answered questions have a new skill, and without its weight the
    # information would differ
    new = np.any(answered["present"] & (answered["skill_answers"] == 0), axis=1)
    assert new.any()
    without = predictor.Weights((*WEIGHTS[:7], 0.0))
    plain = ps.ability_information(logits=predictor.logit_grid(
        theta=theta, learner_answers=answers, learner_correct=correct, weights=without,
        **{k: v for k, v in answered.items() if k != "floors"}), floors=answered["floors"], slope=WEIGHTS[1])
    assert abs(plain - information) > 1e-6

    insights = live_stack.call("insights", token=alice.token, json={"days": 30})
    assert insights.status_code == 200, insights.text
    data = insights.json()
    scores = data["predicted_scores"]
    assert scores["score_source"] == "predictor" == data["readiness"]["score_source"]
    se = ps.ability_se(information=information)
    assert abs(scores["ability_se"] - se) <= 1e-9
    pure = ps.predict_scores(sections=list(SECTIONS), offsets=offsets, se=se, evidence={
        name: ps.SectionEvidence(questions=sections[name]["questions"], answers=6, curve=expected_curves[name])
        for name in SECTIONS})
    zero = int(np.flatnonzero(offsets == 0.0)[0])
    for out, want in zip(scores["sections"], pure.sections, strict=True):
        assert out["section"] == want.section and out["reason"] is None
        assert abs(out["expected_proportion"] - expected_curves[want.section][zero]) <= 1e-9
        assert abs(out["expected_proportion"] - exact_curves[want.section][zero]) <= ps.CURVE_TOLERANCE
        assert (out["score"], out["low"], out["high"]) == (want.score, want.lower, want.upper)
        assert out["answers"] == 6
        exact_centre = ps.SECTION_SCALE.from_proportion(np.array([exact_curves[want.section][zero]]))[0]
        near_boundary = abs(float(exact_centre) % 10.0 - 5.0) <= 600.0 * ps.CURVE_TOLERANCE
        assert near_boundary or out["score"] == round(float(exact_centre) / 10.0) * 10.0
    assert (scores["total"], scores["total_low"], scores["total_high"]) == \
        (pure.total, pure.total_lower, pure.total_upper)
    readiness = data["readiness"]
    assert pure.total_curve is not None and readiness["scope"] == "total"
    want_pass = assess_readiness(score=pure.total or 0.0, lower=pure.total_lower or 0.0,
                                 upper=pure.total_upper or 0.0, target=readiness["target_score"],
                                 points_per_day=None, days_left=None,
                                 pass_probability=ps.pass_probability(curve=pure.total_curve,
                                                                      target=readiness["target_score"]))
    assert abs(readiness["pass_probability"] - want_pass.pass_probability) <= 1e-9
    assert readiness["ready"] == (readiness["pass_probability"] >= 0.5) == (readiness["predicted_score"] >= 1200)

    # complete_session's snapshot reads the same inputs (session_summary_context): the same scores and readiness
    done = live_stack.call("complete_session", token=alice.token, json={"session_id": session_id})
    assert done.status_code == 200, done.text
    snapshot = done.json()["snapshot"]
    assert snapshot["predicted_scores"] == scores
    assert (snapshot["predicted_score"], snapshot["predicted_score_low"], snapshot["predicted_score_high"]) == \
        (readiness["predicted_score"], readiness["low"], readiness["high"])
    assert snapshot["pass_probability"] == readiness["pass_probability"]

    # RLS: bob sees none of alice's predictor state, and his own numbers are null with the reason
    theirs = _client(live_stack, bob)
    assert theirs.table("learner_predictor_state").select("*").eq("user_id", str(alice.user_id)).execute().data == []
    assert theirs.table("learner_skill_predictor_state").select("*").eq(
        "user_id", str(alice.user_id)).execute().data == []
    own = theirs.rpc("insights_context", {"p_since": "2000-01-01T00:00:00Z",
                                          "p_now": "2999-01-01T00:00:00Z"}).execute().data["predictor_scores"]
    assert own["learner"] is None and own["information"] == 0
    assert all(s["answers"] == 0 and s["curve"] is None for s in own["sections"])
    bobs = live_stack.call("insights", token=bob.token, json={"days": 30}).json()
    assert all(s["score"] is None and s["reason"].startswith("no predictor state")
               for s in bobs["predicted_scores"]["sections"])
    assert bobs["predicted_scores"]["ability_se"] is None and bobs["readiness"]["pass_probability"] is None


def test_short_evidence_in_a_section_is_null_with_the_reason(
        live_stack: LiveStack, pg: psycopg.Connection, make_learner: Callable[[], Learner]) -> None:
    learner = make_learner()
    _answer(live_stack, pg, learner, per_section=3)
    data = live_stack.call("insights", token=learner.token, json={"days": 30}).json()
    sections = data["predicted_scores"]["sections"]
    assert [(s["score"], s["reason"], s["answers"]) for s in sections] == \
        [(None, f"needs {ps.MIN_SECTION_ANSWERS} answers in this section, has 3", 3)] * 2
    assert data["predicted_scores"]["ability_se"] is not None  # the state exists; the section evidence is short
    assert data["readiness"]["predicted_score"] is None and data["readiness"]["pass_probability"] is None
    assert data["readiness"]["reason"] == "the total needs a score in every section"


def test_the_nightly_snapshot_scores_are_the_ones_insights_reports(
        live_stack: LiveStack, pg: psycopg.Connection, make_learner: Callable[[], Learner],
        fitted_weights: predictor.Weights, service_store: ServiceStore) -> None:
    alice, eve = make_learner(), make_learner()
    _answer(live_stack, pg, alice, per_section=6)
    _seed_state(pg, alice.user_id)
    insights = live_stack.call("insights", token=alice.token, json={"days": 30})
    assert insights.status_code == 200, insights.text
    scores = insights.json()["predicted_scores"]
    assert all(s["score"] is not None for s in scores["sections"]) and scores["total"] is not None

    now = datetime.now(UTC)
    today = now.date()
    # Today's snapshots step runs again whatever another test left (its maintenance_runs row would skip it).
    pg.execute("delete from maintenance_runs where run_date = %s and step = 'snapshots'", (today,))
    try:
        run = run_maintenance(body=MaintenanceRequest(run_date=today, steps=["snapshots"]),
                              deps=MaintenanceDeps(service=service_store, now=now))
        assert [(s.step, s.status) for s in run.steps] == [("snapshots", "done")]
    finally:
        pg.execute("delete from maintenance_runs where run_date = %s and step = 'snapshots'", (today,))
    row = pg.execute("""select predicted_section_scores, predicted_score, predicted_score_low, predicted_score_high,
                               snapshot_data ->> 'score_source', (snapshot_data ->> 'cut_score')::float8
                        from user_performance_snapshots
                        where user_id = %s and snapshot_type = 'daily' and snapshot_date = %s""",
                     (alice.user_id, today)).fetchone()
    assert row is not None
    assert row[0] == {s["section"]: {"score": s["score"], "low": s["low"], "high": s["high"]}
                      for s in scores["sections"]}
    assert (row[1], row[2], row[3]) == (scores["total"], scores["total_low"], scores["total_high"])
    assert (row[4], row[5]) == ("predictor", 1200.0)

    again = live_stack.call("insights", token=alice.token, json={"days": 30}).json()
    [point] = [d for d in again["series"]["days"] if d["day"] == today.isoformat()]
    assert point["section_scores"] == {s["section"]: s["score"] for s in scores["sections"]}
    assert point["predicted_total"] == scores["total"]

    # Eve asking for alice's block reads none of alice's rows (security invoker under RLS).
    hers = _client(live_stack, eve).rpc("insights_context", {"p_since": "2000-01-01T00:00:00Z",
                                                             "p_now": "2999-01-01T00:00:00Z"}).execute().data
    assert hers["predictor_scores"]["learner"] is None
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, false)",
                     (f'{{"sub": "{eve.user_id}", "role": "authenticated"}}',))
        conn.execute("set role authenticated")
        block = conn.execute("select private.predictor_score_inputs_of(%s)", (alice.user_id,)).fetchone()
        assert block is not None
        assert block[0]["learner"] is None and block[0]["information"] == 0
        assert all(s["answers"] == 0 for s in block[0]["sections"])
