"""One answer's effect on every skill of the question: BKT, multi-skill Elo and memory together (pure).

The three models answer different questions and are stored side by side per learner × skill:
- BKT (conjunctive across the question's skills): P(the skill is known) -> mastery, weakness, readiness;
- Elo (learner rating vs question×skill difficulty): P(correct) for a *specific* question -> selection;
- fsrs memory: stability and next review -> decay of effective mastery and due-ness.

Credit rules (documented choices):
- BKT sees a plain correct/incorrect observation, except that a correct answer after viewing the
  solution is no evidence of knowledge and is treated as incorrect.
- Elo's score is seed 003's performance score (time and confidence factors, bounded to [0, 1]) on a raw
  credit of 1 (correct), 0.75 (correct with a hint), 0.5 (correct after viewing the solution), 0 (wrong).
- Learning velocity is an exponentially weighted mean of the per-answer change in P(known)
  (alpha 0.3); a plateau is flagged after 8+ attempts with |velocity| < 0.01 below mastery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from smartpractice.learner import bkt, elo, memory

MASTERY_THRESHOLD = 0.95
VELOCITY_ALPHA = 0.3
PLATEAU_MIN_ATTEMPTS = 8
PLATEAU_VELOCITY = 0.01
HINT_CREDIT = 0.75
SOLUTION_CREDIT = 0.5


@dataclass(frozen=True, slots=True)
class SkillState:
    """A learner's stored state for one skill; version 0 means no row exists yet."""

    skill_id: int
    p_mastery: float
    elo_rating: float
    elo_count: int
    memory: memory.MemoryState
    total_attempts: int = 0
    correct_attempts: int = 0
    learning_velocity: float = 0.0
    plateau_flag: bool = False
    version: int = 0


@dataclass(frozen=True, slots=True)
class QuestionSkill:
    skill_id: int
    elo_difficulty: float
    attempts: int


@dataclass(frozen=True, slots=True)
class Observation:
    is_correct: bool
    confidence: int
    time_spent_seconds: float | None
    expected_time_seconds: float
    hint_used: bool = False
    solution_viewed: bool = False


@dataclass(frozen=True, slots=True)
class SkillChange:
    before: SkillState
    after: SkillState
    effective_mastery: float
    elo_uncertainty: float
    difficulty_delta: float


@dataclass(frozen=True, slots=True)
class AnswerUpdate:
    changes: tuple[SkillChange, ...]
    predicted_p_correct: float  # Elo P(correct) before the answer
    elo_score: float


def initial_state(*, skill_id: int, params: bkt.BKTParams, now: datetime,
                  elo_config: elo.EloConfig | None = None) -> SkillState:
    """The state of a skill the learner has no row for yet (version 0).

    Args:
        skill_id: The skill's id.
        params: The skill's BKT parameters; P(known) starts at `params.p_init`, in [0, 1].
        now: The current moment (timezone-aware); the fresh memory state is due then.
        elo_config: Elo settings; the rating starts at `initial_rating` (Elo points). Default: EloConfig().

    Returns:
        SkillState with no attempts, zero learning velocity and no review yet.
    """
    config = elo_config or elo.DEFAULT_ELO_CONFIG
    return SkillState(skill_id=skill_id, p_mastery=params.p_init, elo_rating=config.initial_rating,
                      elo_count=0, memory=memory.new_memory_state(now=now))


def raw_credit(*, is_correct: bool, hint_used: bool, solution_viewed: bool) -> float:
    if not is_correct:
        return 0.0
    if solution_viewed:
        return SOLUTION_CREDIT
    return HINT_CREDIT if hint_used else 1.0


def update_on_answer(
    *,
    states: Sequence[SkillState],
    question_skills: Sequence[QuestionSkill],
    params: Sequence[bkt.BKTParams],
    observation: Observation,
    now: datetime,
    elo_config: elo.EloConfig | None = None,
) -> AnswerUpdate:
    """Every model's update for one graded answer: BKT, multi-skill Elo, fsrs memory and the counters.

    BKT updates the question's skills conjunctively (a wrong answer is blamed mostly on the weakest skill);
    a viewed solution counts as a wrong answer for BKT and fsrs and earns partial Elo credit (a hint too).
    `states`, `question_skills` and `params` are aligned: one entry per skill of the question, same order and
    skill ids (ValueError otherwise).

    Args:
        states: The learner's current state per skill (from storage, or `initial_state`).
        question_skills: The question's Elo difficulty (Elo points) and answer count per skill.
        params: BKT parameters per skill (probabilities in [0, 1]).
        observation: The graded answer: correctness, confidence 1..5, time spent and expected, in seconds.
        now: The moment of the answer (timezone-aware).
        elo_config: Elo settings (K schedule, scale); default: EloConfig().

    Returns:
        AnswerUpdate: per skill the state before and after (P(known) in [0, 1], rating in Elo points,
        version + 1), the effective mastery right after review (= P(known), since R = 1), the learner's next
        K and the additive question-difficulty delta in Elo points; plus the Elo P(correct) in [0, 1]
        predicted before the answer and the performance score in [0, 1] used as Elo's target.
    """
    if not (len(states) == len(question_skills) == len(params)) or not states:
        raise ValueError("states, question_skills and params need one entry per skill of the question")
    if any(s.skill_id != q.skill_id for s, q in zip(states, question_skills, strict=True)):
        raise ValueError("states and question_skills must list the same skills in the same order")

    evidence_correct = observation.is_correct and not observation.solution_viewed
    p_after = bkt.update_known_conjunctive_floats(
        p_known=[float(s.p_mastery) for s in states], is_correct=evidence_correct, params=params)

    score = elo.performance_score(
        raw_score=raw_credit(is_correct=observation.is_correct, hint_used=observation.hint_used,
                             solution_viewed=observation.solution_viewed),
        time_spent_seconds=observation.time_spent_seconds,
        confidence=observation.confidence,
        expected_time_seconds=observation.expected_time_seconds,
    )
    rating_update = elo.update_ratings(
        learner_ratings=[s.elo_rating for s in states],
        learner_attempts=[s.elo_count for s in states],
        difficulties=[q.elo_difficulty for q in question_skills],
        question_attempts=[q.attempts for q in question_skills],
        score=score,
        config=elo_config,
    )
    rating = memory.rating_for_answer(
        is_correct=evidence_correct,
        confidence=observation.confidence,
        time_spent_seconds=observation.time_spent_seconds,
        expected_time_seconds=observation.expected_time_seconds,
    )

    changes = []
    for k, state in enumerate(states):
        new_p = p_after[k]
        velocity = (1 - VELOCITY_ALPHA) * state.learning_velocity + VELOCITY_ALPHA * (new_p - state.p_mastery)
        attempts = state.total_attempts + 1
        after = replace(
            state,
            p_mastery=new_p,
            elo_rating=float(rating_update.learner_ratings[k]),
            elo_count=int(rating_update.learner_attempts[k]),
            # Concurrent answers (or clock skew between instances) can leave a stored review slightly
            # after this request's `now`; reviewing at the later instant keeps fsrs's time monotone.
            memory=memory.review(memory=state.memory, rating=rating,
                                 now=max(now, state.memory.last_review or now)),
            total_attempts=attempts,
            correct_attempts=state.correct_attempts + int(observation.is_correct),
            learning_velocity=velocity,
            plateau_flag=bool(attempts >= PLATEAU_MIN_ATTEMPTS and abs(velocity) < PLATEAU_VELOCITY
                              and new_p < MASTERY_THRESHOLD),
            version=state.version + 1,
        )
        changes.append(SkillChange(
            before=state,
            after=after,
            effective_mastery=new_p,  # retrievability is 1 at the moment of review
            elo_uncertainty=float(rating_update.next_learner_k[k]),
            difficulty_delta=float(rating_update.difficulty_deltas[k]),
        ))
    return AnswerUpdate(changes=tuple(changes), predicted_p_correct=rating_update.expected_correct,
                        elo_score=score)
