"""submit_answer's predictor payload: the pure step's increments, scaled by the evidence weight."""

from __future__ import annotations

import pytest

from smartpractice.db.contexts import PredictorRead
from smartpractice.learner import predictor
from smartpractice.service import predictor_state

READ = PredictorRead.model_validate({
    "learner": {"theta": 0.3, "answers": 4, "correct": 3},
    "skills": [{"skill_id": 7, "deviation": -0.2, "answers": 2, "correct": 1}],
    "item": {"difficulty": 0.5, "answers": 9, "n_options": 4},
    "weights": [0.1, 0.9, 0.0, 0.2, 0.0, -0.1, -0.2, -0.4]})


def _step() -> tuple[predictor.LearnerGlobal, list[predictor.SkillDeviation], predictor.PredictorUpdate]:
    learner = predictor_state.learner_of(READ)
    skills = predictor_state.skills_of(READ, [7, 8])  # skill 8 never answered: the prior
    item, floor = predictor_state.item_of(READ)
    assert floor == 0.25 and skills[1] == predictor.SkillDeviation()
    step = predictor.update(learner=learner, skills=skills, item=item, is_correct=False,
                            weights=predictor_state.weights_of(READ), floor=floor)
    return learner, skills, step


def test_full_evidence_sends_the_pure_steps() -> None:
    learner, skills, step = _step()
    payload = predictor_state.update_payload(before=learner, before_skills=skills, skill_ids=[7, 8], step=step,
                                             weight=1.0, moves_difficulty=True)
    assert payload is not None
    assert payload["theta_step"] == pytest.approx(step.learner.theta - 0.3, abs=1e-15) and payload["theta_step"] < 0
    assert [s["skill_id"] for s in payload["skills"]] == [7, 8]
    assert payload["skills"][1]["deviation_step"] == pytest.approx(step.skills[1].deviation, abs=1e-15)
    assert payload["item_step"] == step.item_delta > 0  # a wrong answer makes the question harder


def test_partial_evidence_scales_and_none_sends_nothing() -> None:
    learner, skills, step = _step()
    full = predictor_state.update_payload(before=learner, before_skills=skills, skill_ids=[7, 8], step=step,
                                          weight=1.0, moves_difficulty=True)
    half = predictor_state.update_payload(before=learner, before_skills=skills, skill_ids=[7, 8], step=step,
                                          weight=0.5, moves_difficulty=False)
    assert full is not None and half is not None
    assert half["theta_step"] == pytest.approx(0.5 * full["theta_step"], abs=1e-15)
    assert half["item_step"] == 0.0  # an anonymous learner moves no shared difficulty
    assert predictor_state.update_payload(before=learner, before_skills=skills, skill_ids=[7, 8], step=step,
                                          weight=0.0, moves_difficulty=True) is None
    with pytest.raises(ValueError, match="weight"):
        predictor_state.update_payload(before=learner, before_skills=skills, skill_ids=[7, 8], step=step,
                                       weight=1.5, moves_difficulty=True)


def test_no_stored_weights_serve_the_plain_model() -> None:
    assert predictor_state.weights_of(PredictorRead()) == predictor.Weights()
    assert predictor_state.served_state(PredictorRead()).learner == predictor.LearnerGlobal()


def test_the_served_floor_is_the_stored_one_when_the_database_sends_it() -> None:
    read = READ.model_copy(update={"item": READ.item.model_copy(update={"guessing_floor": 0.13})}) \
        if READ.item is not None else READ
    assert predictor_state.item_of(read)[1] == 0.13  # the night's floor of its format, not 1/4
    open_item = PredictorRead.model_validate({"item": {"difficulty": 0.0, "answers": 0, "n_options": None}})
    assert predictor_state.item_of(open_item)[1] == 0.0  # no stored floor: the default (open answer)
