from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smartpractice.learner import knowledge
from smartpractice.learner.bkt import BKTParams

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PARAMS = BKTParams(p_init=0.2, p_learn=0.15, p_guess=0.2, p_slip=0.1, p_forget=0.0)


def _state(skill_id: int, p: float = 0.3) -> knowledge.SkillState:
    base = knowledge.initial_state(skill_id=skill_id, params=PARAMS, now=NOW)
    return knowledge.SkillState(**{**{f: getattr(base, f) for f in base.__slots__}, "p_mastery": p})


def _obs(correct: bool, **kw: object) -> knowledge.Observation:
    args: dict[str, object] = {"is_correct": correct, "confidence": 3, "time_spent_seconds": 90.0,
                               "expected_time_seconds": 90.0, **kw}
    return knowledge.Observation(**args)  # type: ignore[arg-type]


def test_single_skill_correct_answer_pinned() -> None:
    update = knowledge.update_on_answer(
        states=[_state(7)], question_skills=[knowledge.QuestionSkill(7, 1200.0, 0)], params=[PARAMS],
        observation=_obs(True), now=NOW,
    )
    (change,) = update.changes
    # BKT: posterior .3*.9/(.3*.9+.7*.2) = .27/.41 = .658537; learn: + (1-.658537)*.15 = .709756
    assert change.after.p_mastery == pytest.approx(0.709756, abs=1e-6)
    # Elo: E = .5, score 1 (time factor 1, confidence 3), K_learner(0) = 64, K_question(0) = 48
    assert update.predicted_p_correct == pytest.approx(0.5)
    assert change.after.elo_rating == pytest.approx(1232.0)
    assert change.difficulty_delta == pytest.approx(-24.0)
    assert change.after.version == 1 and change.after.total_attempts == 1 and change.after.correct_attempts == 1
    assert change.after.learning_velocity == pytest.approx(0.3 * (0.709756 - 0.3), abs=1e-6)
    assert change.after.memory.last_review == NOW and change.after.memory.due > NOW


def test_wrong_answer_blames_the_weaker_skill_more() -> None:
    states = [_state(1, p=0.9), _state(2, p=0.3)]
    qs = [knowledge.QuestionSkill(1, 1200.0, 5), knowledge.QuestionSkill(2, 1200.0, 5)]
    update = knowledge.update_on_answer(states=states, question_skills=qs, params=[PARAMS, PARAMS],
                                        observation=_obs(False), now=NOW)
    strong, weak = update.changes
    assert strong.after.p_mastery < 0.9 and weak.after.p_mastery < 0.3
    assert (0.9 - strong.after.p_mastery) / 0.9 < (0.3 - weak.after.p_mastery) / 0.3
    assert all(c.difficulty_delta > 0 for c in update.changes)  # a miss makes the question look harder


def test_solution_viewed_correct_is_no_evidence_of_knowledge() -> None:
    common = {"states": [_state(7)], "question_skills": [knowledge.QuestionSkill(7, 1200.0, 0)],
              "params": [PARAMS], "now": NOW}
    plain = knowledge.update_on_answer(observation=_obs(True), **common)  # type: ignore[arg-type]
    viewed = knowledge.update_on_answer(observation=_obs(True, solution_viewed=True), **common)  # type: ignore[arg-type]
    wrong = knowledge.update_on_answer(observation=_obs(False), **common)  # type: ignore[arg-type]
    assert viewed.changes[0].after.p_mastery == pytest.approx(wrong.changes[0].after.p_mastery)
    assert viewed.elo_score == pytest.approx(0.5) and plain.elo_score == pytest.approx(1.0)
    assert viewed.changes[0].after.memory.due < plain.changes[0].after.memory.due


def test_plateau_flag_after_many_flat_attempts() -> None:
    state = _state(3, p=0.5)
    flat = knowledge.SkillState(**{**{f: getattr(state, f) for f in state.__slots__},
                                   "total_attempts": 9, "learning_velocity": 0.0})
    params = BKTParams(p_init=0.2, p_learn=0.0, p_guess=0.49, p_slip=0.5, p_forget=0.0)  # nearly uninformative
    update = knowledge.update_on_answer(states=[flat], question_skills=[knowledge.QuestionSkill(3, 1200.0, 0)],
                                        params=[params], observation=_obs(True), now=NOW + timedelta(days=1))
    # posterior .5*.5/(.5*.5+.5*.49) = .505051; velocity .3*.005051 = .001515 < .01
    assert update.changes[0].after.p_mastery == pytest.approx(0.505051, abs=1e-6)
    assert update.changes[0].after.plateau_flag is True


def test_mismatched_skills_are_rejected() -> None:
    with pytest.raises(ValueError, match="same skills"):
        knowledge.update_on_answer(states=[_state(1)], question_skills=[knowledge.QuestionSkill(2, 1200.0, 0)],
                                   params=[PARAMS], observation=_obs(True), now=NOW)


def test_review_stored_after_now_is_tolerated() -> None:
    later = NOW + timedelta(seconds=2)
    first = knowledge.update_on_answer(states=[_state(7)], question_skills=[knowledge.QuestionSkill(7, 1200.0, 0)],
                                       params=[PARAMS], observation=_obs(True), now=later)
    stored = first.changes[0].after
    again = knowledge.update_on_answer(states=[stored], question_skills=[knowledge.QuestionSkill(7, 1200.0, 1)],
                                       params=[PARAMS], observation=_obs(True), now=NOW)
    assert again.changes[0].after.memory.last_review == later
    assert again.changes[0].after.memory.reps == 2


@pytest.mark.parametrize("correct", [True, False])
@pytest.mark.parametrize(("hint", "solution"), [(True, False), (False, True), (True, True)])
def test_client_claimed_hint_and_solution_flags_never_increase_credit(correct: bool, hint: bool,
                                                                       solution: bool) -> None:
    """Issue 14: the flags are the client's word, so they may only lower what an answer earns."""
    def after(**flags: bool) -> knowledge.SkillChange:
        return knowledge.update_on_answer(
            states=[_state(7)], question_skills=[knowledge.QuestionSkill(7, 1200.0, 10)], params=[PARAMS],
            observation=_obs(correct, **flags), now=NOW).changes[0]

    plain, flagged = after(), after(hint_used=hint, solution_viewed=solution)
    assert flagged.after.p_mastery <= plain.after.p_mastery
    assert flagged.after.elo_rating <= plain.after.elo_rating
    assert knowledge.raw_credit(is_correct=correct, hint_used=hint, solution_viewed=solution) <= \
        knowledge.raw_credit(is_correct=correct, hint_used=False, solution_viewed=False)
