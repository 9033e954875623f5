"""supabase/seed.sql produces the question bank the brief asks for (counts are exact where fixed)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from supalocal.settings import SUPABASE_DIR


def scalar(pg: psycopg.Connection, sql: str) -> Any:
    row = pg.execute(sql).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.stack
def test_subjects_topics_and_skills(pg: psycopg.Connection) -> None:
    assert scalar(pg, "select count(*) from public.subjects") == 3
    assert scalar(pg, "select count(*) from public.topics") == 12
    assert scalar(pg, "select count(*) from public.skills") == 36
    assert scalar(pg, "select count(*) from public.skills s where not exists "
                      "(select 1 from public.bkt_params b where b.skill_id = s.id)") == 0


@pytest.mark.stack
def test_prerequisite_graphs(pg: psycopg.Connection) -> None:
    assert scalar(pg, "select count(*) from public.skill_prerequisites") == 36
    assert scalar(pg, "select count(distinct skill_id) from public.skill_prerequisites") >= 25
    assert scalar(pg, "select count(*) from public.topic_relationships where relationship_type = 'prerequisite'") == 7
    # the skill graph is acyclic
    assert scalar(pg, """
        with recursive reach(skill_id, ancestor) as (
          select skill_id, prerequisite_skill_id from public.skill_prerequisites
          union
          select r.skill_id, sp.prerequisite_skill_id from reach r
          join public.skill_prerequisites sp on sp.skill_id = r.ancestor)
        select count(*) from reach where skill_id = ancestor""") == 0


@pytest.mark.stack
def test_questions_are_tagged_with_one_to_three_skills(pg: psycopg.Connection) -> None:
    assert scalar(pg, "select count(*) from public.questions") == 720
    assert scalar(pg, """select count(*) from public.questions q
                         where (select count(*) from public.question_skills qs where qs.question_id = q.id)
                               not between 1 and 3""") == 0
    tags_sql = """select n, count(*) from (select count(*) as n from public.question_skills group by question_id) x
                  group by n"""
    counts: dict[int, int] = dict(pg.execute(tags_sql).fetchall())
    assert set(counts) == {1, 2, 3}
    assert scalar(pg, "select count(*) from public.question_skills where weight <= 0 or weight > 1") == 0
    assert scalar(pg, """select count(*) from (select question_id from public.question_skills
                         group by question_id having abs(sum(weight) - 1) > 1e-9) x""") == 0


@pytest.mark.stack
def test_every_question_has_a_key_and_multiple_choice_keys_name_an_option(pg: psycopg.Connection) -> None:
    assert scalar(pg, """select count(*) from public.questions q where not exists
                         (select 1 from public.question_answer_keys k where k.question_id = q.id)""") == 0
    assert scalar(pg, """select count(*) from public.questions q
                         join public.question_answer_keys k on k.question_id = q.id
                         where q.question_type = 'multiple_choice' and not exists (
                           select 1 from jsonb_array_elements(q.options) o
                           where o->>'key' = k.correct_answer->>0)""") == 0
    assert scalar(pg, """select count(*) from public.questions
                         where question_type = 'multiple_choice'
                           and (select count(distinct o->>'text') from jsonb_array_elements(options) o) <> 4""") == 0


@pytest.mark.stack
def test_computed_items_have_correct_keys(pg: psycopg.Connection) -> None:
    # spot-check a template end to end: "Solve for x: ax + b = c." has key (c - b) / a
    rows = pg.execute("""
        select q.stem, q.question_type, q.options, k.correct_answer
        from public.questions q join public.question_answer_keys k on k.question_id = q.id
        where q.external_ref like 'math.linear_equations.%'""").fetchall()
    assert len(rows) == 20
    for stem, question_type, options, key in rows:
        left, c = stem.removeprefix("Solve for x: ").removesuffix(".").split(" = ")
        a, b = left.split("x + ")
        expected = (int(c) - int(b)) // int(a)
        answer = key[0] if question_type == "numeric" else next(o["text"] for o in options if o["key"] == key[0])
        assert int(answer) == expected, stem


@pytest.mark.stack
def test_difficulties_are_plausible(pg: psycopg.Connection) -> None:
    labels_sql = "select difficulty_label, count(*) from public.questions group by 1"
    labels: dict[str, int] = dict(pg.execute(labels_sql).fetchall())
    assert set(labels) == {"easy", "medium", "hard"}
    assert all(n >= 100 for n in labels.values())
    # the primary skill's Elo difficulty orders the labels
    means: dict[str, float] = dict(pg.execute("""
        select q.difficulty_label, avg(qs.elo_difficulty) from public.questions q
        join public.question_skills qs on qs.question_id = q.id and qs.weight = (
          select max(weight) from public.question_skills x where x.question_id = q.id)
        group by 1""").fetchall())
    assert means["easy"] < means["medium"] < means["hard"]
    assert scalar(pg, "select count(*) from public.question_difficulty_params") == 720
    assert scalar(pg, "select count(*) from public.question_difficulty_params "
                      "where discrimination not between 0.7 and 1.8") == 0


def test_seed_creates_no_learners() -> None:
    seed = (SUPABASE_DIR / "seed.sql").read_text().lower()
    assert "auth.users" not in seed
    assert "user_skill_mastery" not in seed
