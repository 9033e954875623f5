"""The nightly cold start's seed map on a live bank, through the real local stack (the SQL RPCs through the
in-process gateway with the service role, as run_maintenance calls them).

A live bank: questions answered and calibrated, whose Elo rows last night's IRT reset (upsert_irt_params), so
their Elo-row seed (question_bank's seed_difficulty) is about their b and says nothing of their difficulty
label; new questions whose Elo rows are still their label's base. The predictor_fit step must fit the seed map
on the calibrated questions' LABEL seeds (question_bank's label_seed_difficulty) and apply it to the new ones'
label seeds: a new question gets offset + scale · label seed exactly (one skill: no skill shift). What a new
question is served: its Elo-row seed before the night, the written b after it, and its first answer steps from
that b. And the harness reads labels as the SQL does (eval_io.DIFFICULTY_LABELS, eval_io.label_seed).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest

from smartpractice.api.models import MaintenanceRequest
from smartpractice.db.repository import ServiceStore
from smartpractice.learner import predictor_fit
from smartpractice.service.deps import MaintenanceDeps
from smartpractice.service.maintenance import run_maintenance
from smartpractice_dev.eval_io import DIFFICULTY_LABELS, label_seed
from tests.integration.test_maintenance_stack import Learner

pytestmark = pytest.mark.stack

RUN_DATE = date(2025, 6, 4)  # no other test answers within its 180-day window
DAY_START = datetime(2025, 6, 4, tzinfo=UTC)
CALIBRATED = ("easy", "easy", "medium", "medium", "hard", "hard")
NEW = ("hard", "easy")
N_LEARNERS = 30  # 180 answers: fewer than the step's 200, so no weights row is written


def _one(pg: psycopg.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = pg.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def test_the_harness_reads_labels_as_the_sql_does(pg: psycopg.Connection) -> None:
    """eval_io's label logits are at private.label_elo_base's bases (the one definition, which seed.sql creates
    the Elo rows from), and eval_io.label_seed is private.predictor_label_seed_difficulty for 0 to 4 skills."""
    for label, seed in DIFFICULTY_LABELS.items():
        assert _one(pg, "select private.label_elo_base(%s)", (label,)) == pytest.approx(
            1200 + seed * 400 / math.log(10), abs=1e-9), label
        for k in range(5):
            assert _one(pg, "select private.predictor_label_seed_difficulty(%s, %s)", (label, k)) == pytest.approx(
                label_seed(label, k), abs=1e-12), (label, k)


@pytest.fixture()
def bank(pg: psycopg.Connection) -> Iterator[dict[str, Any]]:
    """One skill; six questions answered on RUN_DATE by 30 learners, then 'calibrated' by IRT (their Elo rows
    reset); two new questions. Every question's Elo row is created at its label's base, as seed.sql does."""
    with _live_bank(pg, N_LEARNERS) as made:
        yield made


@contextmanager
def _live_bank(pg: psycopg.Connection, n_learners: int) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:10]
    users = [str(uuid.uuid4()) for _ in range(n_learners + 1)]
    pg.execute("delete from maintenance_runs where run_date = %s", (RUN_DATE,))
    try:
        for user_id in users:
            pg.execute("insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id}@ls.test"))
        subject = _one(pg, "insert into subjects (code, name, exam_section) values (%s, 'Label', 'math') "
                           "returning id", (f"ls_{tag}",))
        topic = _one(pg, "insert into topics (subject_id, code, name, exam_weight) values (%s, %s, 'T', 1) "
                         "returning id", (subject, f"ls_{tag}.t"))
        skill = _one(pg, "insert into skills (topic_id, code, name) values (%s, %s, 'S') returning id",
                     (topic, f"ls_{tag}.s"))
        questions = []
        for j, label in enumerate(CALIBRATED + NEW):
            question = _one(pg, """insert into questions (external_ref, topic_id, question_type, difficulty_label,
                                       exam_section, stem) values (%s, %s, 'numeric', %s, 'math', 'Q')
                                   returning id""", (f"ls_{tag}.q{j}", topic, label))
            pg.execute("""insert into question_skills (question_id, skill_id, elo_difficulty)
                          values (%s, %s, private.label_elo_base(%s))""", (question, skill, label))
            questions.append(question)
        calibrated, new = questions[:len(CALIBRATED)], questions[len(CALIBRATED):]
        # answers as the harness data relates labels to b (b ≈ −0.63 + 0.55 · label seed), learners at θ ~ N(0, 1),
        # each in an order of their own (all easy-first would tie difficulty to the answer counts, and the night's
        # count weights would take up what z should: its z weight then is not servable, predictor_fit.servable)
        rng = np.random.default_rng(20251206)
        truth = np.array([-0.63 + 0.55 * DIFFICULTY_LABELS[label] for label in CALIBRATED])
        for i, user_id in enumerate(users[:n_learners]):
            learner = Learner(pg, user_id)
            session = learner.start()
            right = rng.random(truth.size) < 1.0 / (1.0 + np.exp(-(rng.normal() - truth)))
            for position, j in enumerate(rng.permutation(truth.size)):
                learner.answer(session, calibrated[j], skill, correct=bool(right[j]), stability=3.0,
                               at=DAY_START + timedelta(hours=9, minutes=i, seconds=position))
        # last night's IRT: upsert_irt_params resets each calibrated question's Elo row to its b (one skill, a = 1,
        # c = 0: the Elo-row seed becomes b exactly), so the Elo rows no longer hold the labels
        irt = [{"question_id": q, "discrimination": 1.0, "difficulty": float(b), "guessing": 0.0}
               for q, b in zip(calibrated, truth + 0.1, strict=True)]
        pg.execute("select public.upsert_irt_params(%s::jsonb)", (json.dumps(irt),))
        yield {"skill": skill, "calibrated": calibrated, "new": new, "irt": truth + 0.1, "user": users[-1],
               "topic": topic, "tag": tag}
    finally:
        pg.execute("delete from auth.users where id = any(%s::uuid[])", (users,))
        pg.execute("delete from questions where external_ref like %s", (f"ls_{tag}.%",))
        pg.execute("delete from subjects where code = %s", (f"ls_{tag}",))  # topics, skills cascade
        pg.execute("delete from maintenance_runs where run_date = %s", (RUN_DATE,))


def _columns(store: ServiceStore, ids: list[int], *names: str) -> list[list[float]]:
    """question_bank() columns for these questions, as the step and next_question read them."""
    served = store.call("question_bank", {})
    at = {int(q): i for i, q in enumerate(served["id"])}
    return [[float(served[name][at[q]]) for q in ids] for name in names]


def _line(pg: psycopg.Connection) -> tuple[float, float] | None:
    """The latest stored seed line (offset, scale), if any."""
    row = pg.execute("select seed_offset, seed_scale from predictor_weights where seed_offset is not null "
                     "order by fitted_at desc, id desc limit 1").fetchone()
    return None if row is None else (float(row[0]), float(row[1]))


def _cold(pg: psycopg.Connection, label_seed: float, elo_seed: float) -> float:
    """What a question without a stored b is served: the latest line on its label seed, else its Elo-row seed."""
    line = _line(pg)
    return elo_seed if line is None else min(6.0, max(-6.0, line[0] + line[1] * label_seed))


def test_the_nightly_seed_map_is_fitted_on_labels_after_irt_moved_the_elo_rows(
        pg: psycopg.Connection, bank: dict[str, Any], service_store: ServiceStore) -> None:
    calibrated, new = bank["calibrated"], bank["new"]
    label = {q: DIFFICULTY_LABELS[name] for q, name in zip(calibrated + new, CALIBRATED + NEW, strict=True)}
    elo_seed, labelled = _columns(service_store, calibrated, "seed_difficulty", "label_seed_difficulty")
    assert elo_seed == pytest.approx(list(bank["irt"]), abs=1e-9)  # the Elo rows hold IRT's b, not the labels
    assert labelled == pytest.approx([label[q] for q in calibrated], abs=5e-5)  # the labels, to 1e-4

    # before its first night a new question is served the latest stored seed line on its label seed or, with no
    # line stored (none in this test's nights: fewer than 200 answers write no weights row), its Elo-row seed: as
    # created, its label's base
    before, new_seed = _columns(service_store, new, "predictor_difficulty", "seed_difficulty")
    assert new_seed == pytest.approx([label[q] for q in new], abs=1e-12)
    assert before == pytest.approx([_cold(pg, label_seed, seed) for label_seed, seed in zip(
        _columns(service_store, new, "label_seed_difficulty")[0], new_seed, strict=True)], abs=1e-12)
    assert pg.execute("select count(*) from question_difficulty_params where question_id = any(%s) "
                      "and predictor_difficulty is not null", (calibrated + new,)).fetchone() == (0,)

    deps = MaintenanceDeps(service=service_store, now=datetime.now(UTC))
    [step] = run_maintenance(body=MaintenanceRequest(run_date=RUN_DATE, steps=["predictor_fit"]), deps=deps).steps
    assert step.status == "done", step
    assert (step.counts["answers"], step.counts["items_calibrated"], step.counts["weights_fitted"]) == (
        len(calibrated) * N_LEARNERS, len(calibrated), 0)

    written: dict[int, float] = dict(pg.execute(
        "select question_id, predictor_difficulty from question_difficulty_params where question_id = any(%s)",
        (calibrated + new,)).fetchall())
    b = np.array([written[q] for q in calibrated])
    # one skill, so no skill shift: the new questions' b are the least-squares line of the calibrated b on their
    # LABEL seeds (as the bank carries them, to 1e-4), here by numpy's polyfit rather than fit_seed_map
    scale, offset = np.polyfit(labelled, b, 1)
    new_label_seed = _columns(service_store, new, "label_seed_difficulty")[0]
    for q, seed in zip(new, new_label_seed, strict=True):
        assert written[q] == pytest.approx(offset + scale * seed, abs=1e-12), q
    mapping = predictor_fit.fit_seed_map(skills=[(bank["skill"],)] * len(calibrated), difficulty=b,
                                         calibrated=np.ones(len(calibrated), dtype=bool),
                                         seed=np.array(labelled))
    assert mapping.skill_shift == {bank["skill"]: 0.0}
    assert 0.2 < scale < 0.9, (offset, scale)  # labels spread wider than b, as on the harness data
    # the line on the Elo-row seeds (the flaw): about b already (here −0.59 + 1.01 · seed against the labels'
    # −1.12 + 0.55 · label seed), so the hard new question would keep about its raw label seed, 1 logit harder
    elo_scale, elo_offset = np.polyfit(elo_seed, b, 1)
    assert elo_offset + elo_scale * new_label_seed[0] - written[new[0]] > 0.5, (elo_offset, elo_scale, offset, scale)

    # after the night: served the written b, and its first answer steps from it (apply_predictor_update reads
    # the stored b, not the seed)
    after = _columns(service_store, new, "predictor_difficulty")[0]
    assert after == [written[q] for q in new]
    question = new[0]
    session = _one(pg, "select (public.start_session(%s::uuid) ->> 'id')", (bank["user"],))
    pg.execute("select public.serve_question(%s::uuid, %s::uuid, %s, '{}'::jsonb)", (bank["user"], session, question))
    pg.execute("update session_questions set served_at = now() - interval '45 seconds' where session_id = %s",
               (session,))
    status = _one(pg, """select public.record_answer(%s::uuid, %s::jsonb, '[]'::jsonb, '[]'::jsonb,
                                                     '{"is_correct": false}'::jsonb) ->> 'status'""",
                  (bank["user"], json.dumps({"session_id": session, "question_id": question,
                                             "idempotency_key": str(uuid.uuid4()), "user_answer": ["1"],
                                             "is_correct": False, "predictor": {"item_step": 0.05}})))
    assert status == "created"
    assert _one(pg, "select predictor_difficulty from question_difficulty_params where question_id = %s",
                (question,)) == pytest.approx(written[question] + 0.05, abs=1e-12)


N_LEARNERS_WITH_WEIGHTS = 80  # 480 answers: the step fits servable weights (z weight 0.56) and stores its seed line


@pytest.fixture()
def night_with_a_line(pg: psycopg.Connection, service_store: ServiceStore) -> Iterator[dict[str, Any]]:
    """The live bank after a night that wrote weights and its seed line (that row removed afterwards)."""
    with _live_bank(pg, N_LEARNERS_WITH_WEIGHTS) as made:
        now = datetime.now(UTC)
        try:
            deps = MaintenanceDeps(service=service_store, now=now)
            [step] = run_maintenance(body=MaintenanceRequest(run_date=RUN_DATE, steps=["predictor_fit"]),
                                     deps=deps).steps
            assert step.status == "done", step
            assert step.counts["weights_fitted"] == 1, step.counts
            yield {**made, "fitted_at": now}
        finally:
            pg.execute("delete from predictor_weights where fitted_at = %s", (now,))


def _as_learner(pg: psycopg.Connection, user_id: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """One value read as the learner (role authenticated, their JWT claims), as the functions' clients read."""
    with pg.transaction():
        pg.execute("set local role authenticated")
        pg.execute("select set_config('request.jwt.claims', %s, true)",
                   (json.dumps({"sub": user_id, "role": "authenticated"}),))
        return _one(pg, sql, params)


def test_a_question_added_after_a_night_is_served_that_nights_line(
        pg: psycopg.Connection, night_with_a_line: dict[str, Any], service_store: ServiceStore) -> None:
    """After a night stored its line, a NEW question (no stored b) is served offset + scale · its label seed
    through next_question's bank and answer_context, not its Elo-row seed, and its first answer's online step
    starts from that b; the stored line is the night's seed map (one skill: no skill shift, so it is exactly
    what the night wrote for its own unanswered questions)."""
    w = night_with_a_line
    row = pg.execute("select seed_offset, seed_scale from predictor_weights where fitted_at = %s",
                     (w["fitted_at"],)).fetchone()
    assert row is not None and row[0] is not None
    offset, scale = float(row[0]), float(row[1])
    assert _line(pg) == (offset, scale)  # the latest line

    calibrated, new = w["calibrated"], w["new"]
    written: dict[int, float] = dict(pg.execute(
        "select question_id, predictor_difficulty from question_difficulty_params where question_id = any(%s)",
        (calibrated + new,)).fetchall())
    labelled = _columns(service_store, calibrated, "label_seed_difficulty")[0]
    fitted_scale, fitted_offset = np.polyfit(labelled, [written[q] for q in calibrated], 1)
    assert (offset, scale) == pytest.approx((fitted_offset, fitted_scale), abs=1e-9)
    assert 0.2 < scale < 0.9, (offset, scale)
    # the night's own unanswered questions got the same line (one skill: no shift)
    for q, seed in zip(new, _columns(service_store, new, "label_seed_difficulty")[0], strict=True):
        assert written[q] == pytest.approx(offset + scale * seed, abs=1e-12), q

    # a hard question added after the night, its Elo row moved well away from its label's base
    question = _one(pg, """insert into questions (external_ref, topic_id, question_type, difficulty_label,
                               exam_section, stem) values (%s, %s, 'numeric', 'hard', 'math', 'Q')
                           returning id""", (f"ls_{w['tag']}.after", w["topic"]))
    pg.execute("insert into question_skills (question_id, skill_id, elo_difficulty) values (%s, %s, 1700)",
               (question, w["skill"]))
    label_seed, elo_seed = (float(v) for v in _one(pg, """select array[
        round(private.predictor_label_seed_difficulty('hard', 1)::numeric, 4)::float8,
        private.predictor_seed_difficulty(array[1700.0::float8])]"""))
    served = offset + scale * label_seed
    assert abs(served - elo_seed) > 0.5  # the line, not the Elo-row seed, tells them apart

    # next_question's bank (question_bank, as the learner and as the step reads it) and answer_context
    user = w["user"]
    bank = _as_learner(pg, user, "select public.question_bank()")
    at = [int(q) for q in bank["id"]].index(question)
    assert float(bank["predictor_difficulty"][at]) == pytest.approx(served, abs=1e-9)
    assert float(bank["label_seed_difficulty"][at]) == pytest.approx(label_seed, abs=1e-12)
    assert _columns(service_store, [question], "predictor_difficulty")[0] == pytest.approx([served], abs=1e-9)
    session = _one(pg, "select (public.start_session(%s::uuid) ->> 'id')", (user,))
    pg.execute("select public.serve_question(%s::uuid, %s::uuid, %s, '{}'::jsonb)", (user, session, question))
    context = _as_learner(pg, user, "select public.answer_context(%s::uuid, %s, %s)", (session, question, "k"))
    assert context["predictor"]["item"]["difficulty"] == pytest.approx(served, abs=1e-9)
    assert context["predictor"]["item"]["answers"] == 0

    # its first answer's online step starts from that b (apply_predictor_update)
    pg.execute("update session_questions set served_at = now() - interval '45 seconds' where session_id = %s",
               (session,))
    status = _one(pg, """select public.record_answer(%s::uuid, %s::jsonb, '[]'::jsonb, '[]'::jsonb,
                                                     '{"is_correct": false}'::jsonb) ->> 'status'""",
                  (user, json.dumps({"session_id": session, "question_id": question,
                                     "idempotency_key": str(uuid.uuid4()), "user_answer": ["1"],
                                     "is_correct": False, "predictor": {"item_step": 0.05}})))
    assert status == "created"
    assert _one(pg, "select predictor_difficulty from question_difficulty_params where question_id = %s",
                (question,)) == pytest.approx(served + 0.05, abs=1e-9)
