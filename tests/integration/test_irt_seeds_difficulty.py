"""The nightly IRT calibration is the starting point of the online difficulties (upsert_irt_params)."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.stack


def _one(pg: psycopg.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = pg.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def test_calibrated_difficulty_resets_the_skill_rows_to_reproduce_the_calibrated_chance(pg: psycopg.Connection) -> None:
    tag = uuid.uuid4().hex[:10]
    subject = _one(pg, "insert into subjects (code, name, exam_section) values (%s, 'IRT', 'math') returning id",
                   (f"irt_{tag}",))
    try:
        topic = _one(pg, "insert into topics (subject_id, code, name) values (%s, %s, 'T') returning id",
                     (subject, f"irt_{tag}.t"))
        skills = [_one(pg, "insert into skills (topic_id, code, name) values (%s, %s, 'S') returning id",
                       (topic, f"irt_{tag}.s{k}")) for k in range(2)]
        questions = [_one(pg, """insert into questions (external_ref, topic_id, question_type, difficulty_label,
                                     exam_section, stem) values (%s, %s, 'numeric', 'medium', 'math', 'Q')
                                 returning id""", (f"irt_{tag}.q{j}", topic)) for j in range(3)]
        for question, n_skills in zip(questions, (2, 2, 1), strict=True):
            for skill in skills[:n_skills]:
                pg.execute("insert into question_skills (question_id, skill_id, elo_difficulty) values (%s, %s, 1250)",
                           (question, skill))
        rows = [{"question_id": questions[0], "discrimination": 1.1, "difficulty": 0.5, "guessing": 0.0},
                {"question_id": questions[2], "discrimination": 1.0, "difficulty": 0.5, "guessing": 0.0}]
        written = _one(pg, "select public.upsert_irt_params(%s::jsonb)", (json.dumps(rows),))
        assert written == 2
        difficulties = pg.execute("select question_id, elo_difficulty from question_skills where question_id = any(%s)"
                                  " order by question_id, skill_id", (questions,)).fetchall()
        # Two skills: the average learner's calibrated chance 1 / (1 + e^0.55) = 0.365864 splits as its square
        # root 0.604867 per skill, i.e. 1200 − 173.72 · logit(0.604867) = 1126.0332 Elo each, whose product
        # online gives back 0.365864 (not 1286.86 each, which would give 0.38² = 0.14).
        p_skill = math.sqrt(1.0 / (1.0 + math.exp(1.1 * 0.5)))
        two_skill = 1200.0 - 400.0 / math.log(10.0) * math.log(p_skill / (1.0 - p_skill))
        one_skill = 1200.0 + 0.5 * 400.0 / math.log(10.0)  # one skill, a = 1, c = 0: 1286.86 (one logit = 173.7)
        assert round(two_skill, 4) == 1126.0332 and round(one_skill, 4) == 1286.8589
        assert [(q, round(d, 6)) for q, d in difficulties] == [
            (questions[0], round(two_skill, 6)), (questions[0], round(two_skill, 6)),
            (questions[1], 1250.0), (questions[1], 1250.0),  # an uncalibrated question keeps its online value
            (questions[2], round(one_skill, 6))]
        online = [1.0 / (1.0 + 10.0 ** ((d - 1200.0) / 400.0)) for q, d in difficulties if q == questions[0]]
        assert math.isclose(online[0] * online[1], 1.0 / (1.0 + math.exp(0.55)), rel_tol=1e-9)
    finally:
        pg.execute("delete from question_difficulty_params where question_id in "
                   "(select q.id from questions q join topics t on t.id = q.topic_id where t.subject_id = %s)",
                   (subject,))
        pg.execute("delete from question_skills where question_id in "
                   "(select q.id from questions q join topics t on t.id = q.topic_id where t.subject_id = %s)",
                   (subject,))
        pg.execute("delete from questions where topic_id in (select id from topics where subject_id = %s)", (subject,))
        pg.execute("delete from skills where topic_id in (select id from topics where subject_id = %s)", (subject,))
        pg.execute("delete from topics where subject_id = %s", (subject,))
        pg.execute("delete from subjects where id = %s", (subject,))
