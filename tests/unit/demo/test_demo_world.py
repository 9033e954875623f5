"""The demo's world: Elo → logit mapping, bank → simulated questions, answers the grader must judge as meant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from smartpractice.service.grading import AnswerKey, grade
from smartpractice_dev.demo.world import (
    ADAPTIVE,
    CONTROL,
    TEXT_WRONG_ANSWER,
    BankQuestion,
    answer_for,
    assign_groups,
    build_world,
    elo_to_logit,
    practice_schedule,
    skill_matrix,
)

MC = BankQuestion(question_id=11, question_type="multiple_choice", option_labels=("A", "B", "C", "D"),
                  correct_answer=("C",), numeric_tolerance=None, expected_time_seconds=75.0, skill_ids=(5,),
                  elo_difficulties=(1373.7,))
NUMERIC = BankQuestion(question_id=12, question_type="numeric", option_labels=(), correct_answer=("16",),
                       numeric_tolerance=None, expected_time_seconds=90.0, skill_ids=(3, 5),
                       elo_difficulties=(1026.3, 1200.0))


def _grade(question: BankQuestion, answer: list[str]) -> bool:
    key = AnswerKey(question.question_type, question.correct_answer, question.numeric_tolerance)
    return grade(key=key, answer=tuple(answer)).is_correct


def test_elo_to_logit_values() -> None:
    assert elo_to_logit(1200.0) == 0.0
    assert elo_to_logit(1600.0) == pytest.approx(math.log(10.0), abs=1e-12)  # 400 points = 10:1 odds
    assert elo_to_logit(1000.0) == pytest.approx(-1.1512925465, abs=1e-9)


@pytest.mark.parametrize(("rating", "difficulty"), [(1200.0, 1200.0), (1350.0, 1100.0), (900.0, 1450.0)])
def test_elo_expected_score_equals_the_simulation_kernel(rating: float, difficulty: float) -> None:
    elo = 1.0 / (1.0 + 10.0 ** ((difficulty - rating) / 400.0))
    kernel = 1.0 / (1.0 + math.exp(-(elo_to_logit(rating) - elo_to_logit(difficulty))))
    assert kernel == pytest.approx(elo, abs=1e-12)


def test_build_world_indexes_skills_and_converts_difficulties() -> None:
    world = build_world(questions=[MC, NUMERIC], skill_names={3: "Three", 5: "Five", 9: "unused"})
    assert world.skill_ids == (3, 5)
    assert world.skill_names == ("Three", "Five")
    assert world.simulated[11].skills == (1,)
    assert world.simulated[11].difficulties == pytest.approx((1.0,), abs=1e-3)  # 173.7 points ≈ 1 logit
    assert world.simulated[12].skills == (0, 1)
    assert world.simulated[12].difficulties == pytest.approx((-1.0, 0.0), abs=1e-3)
    assert world.simulated[12].expected_time_seconds == 90.0
    assert world.skill_index(5) == 1


def test_correct_answers_are_the_key_and_graded_correct() -> None:
    rng = np.random.default_rng(1)
    assert answer_for(MC, correct=True, rng=rng) == ["C"]
    assert answer_for(NUMERIC, correct=True, rng=rng) == ["16"]
    assert _grade(MC, ["C"]) and _grade(NUMERIC, ["16"])


def test_wrong_answers_are_always_graded_wrong() -> None:
    rng = np.random.default_rng(2)
    tolerant = BankQuestion(13, "numeric", (), ("2.5",), 0.5, 60.0, (1,), (1200.0,))
    chosen = set()
    for _ in range(200):
        mc = answer_for(MC, correct=False, rng=rng)
        chosen.add(mc[0])
        assert not _grade(MC, mc)
        assert not _grade(NUMERIC, answer_for(NUMERIC, correct=False, rng=rng))
        assert not _grade(tolerant, answer_for(tolerant, correct=False, rng=rng))
    assert chosen == {"A", "B", "D"}  # every wrong option gets chosen
    text = BankQuestion(14, "short_answer", (), ("photosynthesis",), None, 60.0, (1,), (1200.0,))
    assert answer_for(text, correct=False, rng=rng) == [TEXT_WRONG_ANSWER]


def test_assign_groups_draws_one_control_per_ability_stratum() -> None:
    ability = [0.9, -1.2, 0.1, 2.0, -0.3, 0.5, -2.1, 1.4, 0.0, -0.8]
    groups = assign_groups(ability=ability, control_share=0.5, rng=np.random.default_rng(3))
    assert groups.count(CONTROL) == 5 and groups.count(ADAPTIVE) == 5
    ranked = sorted(range(10), key=lambda i: ability[i])
    for pair in range(5):  # neighbours in ability: exactly one of each pair is in control
        assert sorted(groups[i] for i in ranked[2 * pair:2 * pair + 2]) == [ADAPTIVE, CONTROL]
    assert assign_groups(ability=ability, control_share=0.5, rng=np.random.default_rng(3)) == groups
    assert len({assign_groups(ability=ability, control_share=0.5, rng=np.random.default_rng(seed))
                for seed in range(8)}) > 1
    assert assign_groups(ability=[0.0, 1.0, 2.0], control_share=0.5, rng=np.random.default_rng(3)).count(CONTROL) == 1
    assert assign_groups(ability=[0.0] * 4, control_share=0.0, rng=np.random.default_rng(3)) == (ADAPTIVE,) * 4
    assert assign_groups(ability=[0.0] * 4, control_share=1.0, rng=np.random.default_rng(3)) == (CONTROL,) * 4


def test_assign_groups_balances_mean_ability() -> None:
    ability = np.random.default_rng(9).normal(0.0, 1.0, size=200)
    groups = np.array(assign_groups(ability=list(ability), control_share=0.5, rng=np.random.default_rng(10)))
    gap = abs(ability[groups == CONTROL].mean() - ability[groups == ADAPTIVE].mean())
    assert gap < 0.05  # a simple random split of 200 differs by ~0.14 (1 SD) on this scale


def test_schedule_per_week_spreads_sessions_on_distinct_days() -> None:
    schedule = practice_schedule(n_learners=50, days=14, sessions_per_week=2, rng=np.random.default_rng(4))
    assert schedule.shape == (50, 14)
    assert schedule[:, :7].sum(axis=1).tolist() == [2] * 50
    assert schedule[:, 7:].sum(axis=1).tolist() == [2] * 50
    assert schedule.max() == 1
    assert len({tuple(row) for row in schedule}) > 1  # learners practise on different days


def test_schedule_partial_week_and_per_day_rates() -> None:
    rng = np.random.default_rng(5)
    # 10 days at 3 a week: 3 in the first 7 days, round(3 × 3/7) = 1 in the last 3.
    partial = practice_schedule(n_learners=4, days=10, sessions_per_week=3, rng=rng)
    assert partial[:, :7].sum(axis=1).tolist() == [3] * 4
    assert partial[:, 7:].sum(axis=1).tolist() == [1] * 4
    assert practice_schedule(n_learners=2, days=3, sessions_per_day=1, rng=rng).tolist() == [[1, 1, 1]] * 2
    one_and_half = practice_schedule(n_learners=3, days=2, sessions_per_day=1.5, rng=rng)
    assert one_and_half.sum(axis=1).tolist() == [3] * 3
    assert sorted(one_and_half[0].tolist()) == [1, 2]
    with pytest.raises(ValueError, match="exactly one"):
        practice_schedule(n_learners=1, days=1, sessions_per_day=1, sessions_per_week=7, rng=rng)


def test_skill_matrix_fills_defaults_and_ignores_other_skills() -> None:
    world = build_world(questions=[MC, NUMERIC], skill_names={})
    matrix = skill_matrix([(0, 5, 0.9), (1, 3, 0.4), (1, 99, 1.0)], n_learners=2, world=world, default=0.2)
    assert matrix.tolist() == [[0.2, 0.9], [0.4, 0.2]]

