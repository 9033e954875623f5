"""The served predictor through the real local stack (functions, gateway, Postgres with RLS).

- next_question's P(correct) for the question it serves equals the pure predictor (learner.predictor.predict)
  on the state stored in the database (θ, δ and counts, the question's b and options, the latest weights) to
  1e-12;
- after each answer, the stored θ, δ_k and b are the pure step's (predictor.update) to 1e-12: the database
  adds exactly what submit_answer computed when it lies within the bounds, and counts by one;
- the SQL step bounds are PredictorConfig's and the SQL evidence weight is learner/evidence.py's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb

from smartpractice.learner import predictor
from smartpractice.learner.evidence import MIN_SECONDS, evidence_weight, replayed_evidence
from smartpractice.service import question_bank
from supalocal.keys import service_role_key
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack

WEIGHTS = (0.12, 0.85, -0.04, 0.33, 0.02, -0.05, -0.3, -0.45)  # not the plain model, so every feature counts
# the night's fitted guessing floors (20261207210000), not 1/options and 0: every reader serves them
FLOORS = {"floor_multiple_choice": 0.17, "floor_open": 0.06}


def served_floor(n_options: int | None) -> float:
    """The floor a question is served with FLOORS stored (private.served_guessing_floor)."""
    return FLOORS["floor_multiple_choice"] if n_options is not None and n_options >= 2 else FLOORS["floor_open"]


@pytest.fixture()
def fitted_weights(live_stack: LiveStack) -> Iterator[predictor.Weights]:
    """A nightly row newer than any other, removed afterwards (the latest row is the one served)."""
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        row = conn.execute("select public.insert_predictor_weights(%s::jsonb)", (
            Jsonb({"fitted_at": "2999-01-01T00:00:00Z", "n_answers": 1000,
                                      "weights": list(WEIGHTS), **FLOORS}),)).fetchone()
        assert row is not None
        try:
            yield predictor.Weights(WEIGHTS)
        finally:
            conn.execute("delete from predictor_weights where id = %s", (row[0],))


def stored(conn: psycopg.Connection[Any], user_id: uuid.UUID, question_id: int) -> dict[str, Any]:
    """The predictor's stored state for this learner and question, read as postgres."""
    learner = conn.execute("select theta, answers, correct from learner_predictor_state where user_id = %s",
                           (user_id,)).fetchone()
    skills = conn.execute(
        """select qs.skill_id, s.deviation, s.answers, s.correct from question_skills qs
           left join learner_skill_predictor_state s on s.user_id = %s and s.skill_id = qs.skill_id
           where qs.question_id = %s order by qs.skill_id""", (user_id, question_id)).fetchall()
    item = conn.execute(
        """select coalesce(p.predictor_difficulty, private.served_cold_difficulty(q.difficulty_label,
                    (select count(*)::integer from question_skills qs where qs.question_id = q.id)),
                  private.predictor_seed_difficulty(
                    (select array_agg(qs.elo_difficulty order by qs.skill_id) from question_skills qs
                     where qs.question_id = q.id))),
                  coalesce(p.predictor_answers, 0),
                  case when q.question_type = 'multiple_choice' then jsonb_array_length(q.options) end
           from questions q left join question_difficulty_params p on p.question_id = q.id where q.id = %s""",
        (question_id,)).fetchone()
    assert item is not None
    return {
        "learner": predictor.LearnerGlobal(*learner) if learner else predictor.LearnerGlobal(),
        "skills": [predictor.SkillDeviation(d, a, c) if d is not None else predictor.SkillDeviation()
                   for _, d, a, c in skills],
        "skill_ids": [int(s) for s, *_ in skills],
        "item": predictor.ItemDifficulty(float(item[0]), int(item[1])),
        "floor": served_floor(item[2]),
    }


def test_served_predictions_and_stored_steps_are_the_pure_predictors(
        live_stack: LiveStack, make_learner: Callable[[], Learner], fitted_weights: predictor.Weights) -> None:
    learner = make_learner()
    started = live_stack.call("start_session", token=learner.token, json={"mode": "adaptive"})
    assert started.status_code == 201, started.text
    session_id = started.json()["session_id"]
    checked = new_skill = 0
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        for i in range(8):
            # Each function instance keeps the bank (with b) for a minute; every learner's first answer moves
            # a b, so the test reads it fresh to compare with what is stored now.
            question_bank._caches.clear()
            served = live_stack.call("next_question", token=learner.token, json={"session_id": session_id})
            assert served.status_code == 200, served.text
            body = served.json()
            question_id = int(body["question"]["id"])
            before = stored(conn, learner.user_id, question_id)
            expected = predictor.predict(learner=before["learner"], skills=before["skills"], item=before["item"],
                                         weights=fitted_weights, floor=before["floor"])
            assert abs(body["reason"]["predicted_p_correct"] - expected.p_correct) <= 1e-12, (i, expected)
            new_skill += int(expected.features[7])  # one of its skills has no answers in the state yet

            key = conn.execute("select correct_answer from question_answer_keys where question_id = %s",
                               (question_id,)).fetchone()
            assert key is not None
            correct = i % 3 != 1
            answered = live_stack.call("submit_answer", token=learner.token, json={
                "session_id": session_id, "question_id": question_id, "idempotency_key": str(uuid.uuid4()),
                "user_answer": list(key[0]) if correct else ["definitely-wrong"], "confidence_score": 3,
                "time_spent_seconds": 30.0})  # the server's time since serving is then 30 s: full evidence
            assert answered.status_code == 200, answered.text
            assert answered.json()["is_correct"] is correct

            step = predictor.update(learner=before["learner"], skills=before["skills"], item=before["item"],
                                    is_correct=correct, weights=fitted_weights, floor=before["floor"])
            after = stored(conn, learner.user_id, question_id)
            assert after["learner"].answers == before["learner"].answers + 1
            assert after["learner"].correct == before["learner"].correct + int(correct)
            assert abs(after["learner"].theta - step.learner.theta) <= 1e-12
            for got, want in zip(after["skills"], step.skills, strict=True):
                assert (got.answers, got.correct) == (want.answers, want.correct)
                assert abs(got.deviation - want.deviation) <= 1e-12
            assert abs(after["item"].difficulty - (before["item"].difficulty + step.item_delta)) <= 1e-12
            assert after["item"].answers == before["item"].answers + 1
            checked += 1
    assert checked == 8 and new_skill >= 1  # at least the first question: every skill is new to a new learner


def test_every_reader_serves_the_latest_rows_floors(live_stack: LiveStack, pg: psycopg.Connection,
                                                   make_learner: Callable[[], Learner],
                                                   fitted_weights: predictor.Weights) -> None:
    """question_bank (next_question), answer_context (submit_answer) and the score inputs' function read the
    latest weights row's floors per format; a newer row without floors serves the defaults 1/options and 0."""
    learner = make_learner()
    ids = pg.execute(
        "select (select min(id) from questions where is_active and question_type = 'multiple_choice'), "
        "(select min(id) from questions where is_active and question_type <> 'multiple_choice')").fetchone()
    assert ids is not None and None not in ids
    mc, numeric = int(ids[0]), int(ids[1])

    def served() -> tuple[dict[int, float], dict[int, float]]:
        bank = pg.execute("select public.question_bank()").fetchone()
        assert bank is not None
        floors = dict(zip(bank[0]["id"], bank[0]["guessing_floor"], strict=True))
        with pg.transaction():
            pg.execute("select set_config('request.jwt.claims', %s, true)",
                       (json.dumps({"sub": str(learner.user_id), "role": "authenticated"}),))
            pg.execute("set local role authenticated")
            context = {q: pg.execute("select public.answer_context(gen_random_uuid(), %s, 'floor-test')", (q,))
                       .fetchone()[0]["predictor"]["item"]["guessing_floor"] for q in (mc, numeric)}  # type: ignore[index]
        return {q: floors[q] for q in (mc, numeric)}, context

    options = pg.execute("select jsonb_array_length(options) from questions where id = %s", (mc,)).fetchone()
    assert options is not None and options[0] >= 2
    assert served() == ({mc: 0.17, numeric: 0.06},) * 2
    assert pg.execute("select private.served_guessing_floor(4), private.served_guessing_floor(0)").fetchone() == (
        0.17, 0.06)
    newer = pg.execute("select public.insert_predictor_weights(%s::jsonb)", (
        Jsonb({"fitted_at": "2999-01-02T00:00:00Z", "n_answers": 1000, "weights": list(WEIGHTS)}),)).fetchone()
    assert newer is not None
    try:
        assert served() == ({mc: 1.0 / options[0], numeric: 0.0},) * 2
    finally:
        pg.execute("delete from predictor_weights where id = %s", (newer[0],))
    with pytest.raises(psycopg.errors.CheckViolation, match="predictor_weights_floors_check"):
        pg.execute("select public.insert_predictor_weights(%s::jsonb)", (Jsonb(
            {"n_answers": 1, "weights": list(WEIGHTS), "floor_open": 0.5}),))


def test_sql_bounds_and_evidence_are_the_python_constants(live_stack: LiveStack) -> None:
    config = predictor.PredictorConfig()
    schedules = {"ability": config.ability, "deviation": config.deviation}
    with psycopg.connect(live_stack.settings.dsn()) as conn:
        for n in (0, 1, 2, 5, 17, 100, 10_000):
            for kind, schedule in schedules.items():
                row = conn.execute("select private.predictor_step_bound(%s, %s)", (kind, n)).fetchone()
                assert row is not None and row[0] == pytest.approx(schedule.k(n), abs=1e-15), (kind, n)
            row = conn.execute("select private.predictor_step_bound('item', %s)", (n,)).fetchone()
            assert row is not None
            assert row[0] == pytest.approx(min(config.max_item_step, config.item.k(n)), abs=1e-15), n
        for question_type in (*MIN_SECONDS, "other"):
            for seconds in (0.0, 2.9, 3.0, 4.5, 6.0, 7.5, 10.0, 60.0):
                row = conn.execute("select private.predictor_evidence_weight(%s, %s)",
                                   (seconds, question_type)).fetchone()
                assert row is not None
                assert row[0] == pytest.approx(
                    evidence_weight(server_seconds=seconds, question_type=question_type), abs=1e-15)
        assert config.max_abs_logit == 6.0  # the tables' checks and the clips in apply_predictor_update


def test_a_fit_stored_now_is_the_one_served(live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    """The nightly row (fitted_at = now) is what the learner contexts hand out, not an older or seeded one."""
    learner = make_learner()
    weights = [0.5, 0.7, 0.0, 0.1, -0.2, 0.3, -0.4, -0.5]
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        row = conn.execute("select public.insert_predictor_weights(%s)",
                           (Jsonb({"n_answers": 500, "weights": weights}),)).fetchone()
        assert row is not None
        try:
            with conn.transaction():
                conn.execute("select set_config('request.jwt.claims', %s, true)",
                             (json.dumps({"sub": str(learner.user_id), "role": "authenticated"}),))
                conn.execute("set local role authenticated")
                context = conn.execute("select public.answer_context(gen_random_uuid(), "
                                       "(select min(id) from questions), 'k')").fetchone()
            assert context is not None and context[0]["predictor"]["weights"] == weights
        finally:
            conn.execute("delete from predictor_weights where id = %s", (row[0],))


def test_the_nightly_read_weighs_each_answer_as_its_online_step_was_weighed(
        live_stack: LiveStack, make_learner: Callable[[], Learner]) -> None:
    """attempt_log_page's served_seconds, through evidence.replayed_evidence, give every answer the weight its
    online step had: the answers it weighs above 0 are exactly the ones the database counted (a full-time one,
    a fast one at a third, an instant one and a repeat from another session at 0)."""
    learner = make_learner()  # claims 0 s: the served_at set below is what the server measures
    started_at = datetime.now(UTC) - timedelta(seconds=1)
    first = live_stack.call("start_session", token=learner.token, json={"mode": "adaptive"}).json()["session_id"]
    answered: list[int] = []
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        for seconds in (30.0, 0.0, 0.0):
            served = live_stack.call("next_question", token=learner.token, json={"session_id": first})
            assert served.status_code == 200, served.text
            question_id = int(served.json()["question"]["id"])
            kind = conn.execute("select question_type from questions where id = %s", (question_id,)).fetchone()
            assert kind is not None
            # fast: a third of the way from half the type's minimum to the minimum (w = 1/3)
            took = MIN_SECONDS.get(kind[0], 6.0) * (0.5 + 1.0 / 6.0) if len(answered) == 1 else seconds
            conn.execute("update session_questions set served_at = now() - make_interval(secs => %s) "
                         "where session_id = %s and question_id = %s", (took, uuid.UUID(first), question_id))
            reply = live_stack.call("submit_answer", token=learner.token, json={
                "session_id": first, "question_id": question_id, "idempotency_key": str(uuid.uuid4()),
                "user_answer": ["definitely-wrong"], "confidence_score": 3, "time_spent_seconds": 0.0})
            assert reply.status_code == 200, reply.text
            answered.append(question_id)
        done = live_stack.call("complete_session", token=learner.token, json={"session_id": first})
        assert done.status_code == 200, done.text
        # a repeat: the first question served again in a new session (within 7 days), answered after 30 s
        second = live_stack.call("start_session", token=learner.token, json={"mode": "adaptive"}).json()["session_id"]
        conn.execute("insert into session_questions (session_id, user_id, question_id, position, served_at) "
                     "values (%s, %s, %s, 1, now() - interval '30 seconds')",
                     (uuid.UUID(second), learner.user_id, answered[0]))
        reply = live_stack.call("submit_answer", token=learner.token, json={
            "session_id": second, "question_id": answered[0], "idempotency_key": str(uuid.uuid4()),
            "user_answer": ["definitely-wrong"], "confidence_score": 3, "time_spent_seconds": 0.0})
        assert reply.status_code == 200, reply.text
        counted = conn.execute("select answers from learner_predictor_state where user_id = %s",
                               (learner.user_id,)).fetchone()
        types: dict[int, str] = dict(conn.execute("select id, question_type from questions where id = any(%s)",
                                  (answered,)).fetchall())

    service = service_role_key(live_stack.settings.jwt_secret)
    page = live_stack.http.post(f"{live_stack.url}/rest/v1/rpc/attempt_log_page", json={
        "p_from": started_at.isoformat(), "p_to": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()},
        headers={"apikey": service, "Authorization": f"Bearer {service}"}).json()
    mine = [i for i, index in enumerate(page["learner"]) if page["user_ids"][index] == str(learner.user_id)]
    assert [page["question_id"][i] for i in mine] == [*answered, answered[0]]
    weights = replayed_evidence(
        learner=np.zeros(len(mine)), question_id=np.array([page["question_id"][i] for i in mine]),
        answered_epoch=np.array([page["answered_epoch"][i] for i in mine]),
        served_seconds=np.array([page["served_seconds"][i] for i in mine]),
        min_seconds=np.array([MIN_SECONDS.get(types[page["question_id"][i]], 6.0) for i in mine])).weight
    assert weights.tolist() == pytest.approx([1.0, 1.0 / 3.0, 0.0, 0.0], abs=0.02)  # a request's latency
    assert counted is not None and counted[0] == int((weights > 0.0).sum()) == 2
