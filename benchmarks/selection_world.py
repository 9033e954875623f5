"""The simulated world of bench_selection_efficiency.py: a bank, learners stored as the service stores them, the
product's knowledge update after every answer, the policies' shared machinery and the tallies of what was served.
Imported by bench_selection_efficiency.py and selection_experiments.py (benchmarks/, next to them)."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
from seed_heuristic import seed_heuristic_choice
from selection_predictor import LearnerState, PredictorState, warm_start  # benchmarks/, next to this script

from smartpractice.learner import knowledge
from smartpractice.learner.band import SessionSuccess
from smartpractice.learner.elo import rating_from_logit
from smartpractice.learner.predictor import Weights
from smartpractice.learner.selection import (
    SelectionCandidates,
    SelectionPolicy,
    SelectionWeights,
    select_next_question,
)
from smartpractice.learner.weakness import question_weakness
from smartpractice.service import states
from smartpractice.service.candidates import SkillView, build_candidates, skill_views
from smartpractice.service.question_bank import PoolFilter, QuestionBank
from smartpractice_dev.simulation import SimulatedAnswer, SimulatedCohort, SimulatedQuestion, make_question_bank

N_SKILLS, N_QUESTIONS, MAX_SKILLS = 4, 300, 2
COHORT_MEAN_THETA, MASTERY_THETA = -0.5, 1.0
SESSION_QUESTIONS = 20
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANSWER_INTERVAL = timedelta(minutes=1)
NORMAL = NormalDist()
Row = dict[str, Any]


class Bank:
    """The shared question bank of one run: calibrated Elo difficulties that answers move, and exposure."""

    def __init__(self, questions: tuple[SimulatedQuestion, ...]) -> None:
        self.questions = questions
        self.skill_ids = np.full((len(questions), MAX_SKILLS), -1, dtype=np.int64)
        self.true_b = np.full((len(questions), MAX_SKILLS), np.nan)
        for q in questions:
            self.skill_ids[q.question_id, :len(q.skills)] = q.skills
            self.true_b[q.question_id, :len(q.skills)] = q.difficulties
        self.elo = rating_from_logit(theta=self.true_b)  # NaN stays NaN in the padding
        self.attempts = np.zeros(self.skill_ids.shape, dtype=np.int64)
        self.times_seen = np.zeros(len(questions))

    def product_bank(self) -> QuestionBank:
        n = len(self.questions)
        return QuestionBank(question_ids=np.arange(n, dtype=np.int64), topic_ids=np.zeros(n, dtype=np.int64),
                            subject_ids=np.zeros(n, dtype=np.int64), exam_sections=np.full(n, "sim"),
                            skill_ids=self.skill_ids, difficulties=self.elo.copy(), times_seen=self.times_seen.copy())


@dataclass
class Learner:
    """What the service stores about one learner: mastery rows by skill, and per-question history."""

    rows: dict[int, Row]
    last_seen: dict[int, float]  # question → epoch seconds
    successes: np.ndarray  # (questions, MAX_SKILLS) per (skill, question), for the seed heuristic
    tries: np.ndarray


def record(learner: Learner, bank: Bank, question: SimulatedQuestion, answer: SimulatedAnswer, now: datetime) -> None:
    """submit_answer's compute-and-write (service/answers.py + record_answer), without the database."""
    qid = question.question_id
    question_skills = [knowledge.QuestionSkill(skill_id=s, elo_difficulty=float(bank.elo[qid, k]),
                                               attempts=int(bank.attempts[qid, k]))
                       for k, s in enumerate(question.skills)]
    params = [states.bkt_params(None) for _ in question.skills]  # no bkt_params row: the column defaults
    skill_states = [states.skill_state(skill_id=s, row=learner.rows.get(s), params=p, now=now)
                    for s, p in zip(question.skills, params, strict=True)]
    update = knowledge.update_on_answer(
        states=skill_states, question_skills=question_skills, params=params,
        observation=knowledge.Observation(is_correct=answer.is_correct, confidence=answer.confidence,
                                          time_spent_seconds=answer.time_spent_seconds,
                                          expected_time_seconds=question.expected_time_seconds),
        now=now)
    for k, change in enumerate(update.changes):
        row = states.mastery_payload(change)
        after = change.after
        row |= {"total_attempts": after.total_attempts, "correct_attempts": after.correct_attempts,
                "version": after.version}
        learner.rows[after.skill_id] = row
        bank.elo[qid, k] += change.difficulty_delta
        bank.attempts[qid, k] += 1
    bank.times_seen[qid] += 1
    learner.last_seen[qid] = now.timestamp()
    learner.tries[qid, :len(question.skills)] += 1
    learner.successes[qid, :len(question.skills)] += int(answer.is_correct)


@dataclass(frozen=True)
class Step:
    learner: Learner
    bank: Bank
    exclude: list[int]  # answered in the current session
    now: datetime
    rng: np.random.Generator
    true_theta: np.ndarray  # the simulator's abilities: read ONLY by the oracle reference
    predictor: PredictorState  # the production predictor's shared difficulties and weights
    state: LearnerState  # ... and this learner's θ, δ_k and counts
    session_correct: int = 0  # correct answers in the current session (len(exclude) answered)


Policy = Callable[[Step], int]
CandidateBuilder = Callable[[Step, Any, dict[int, SkillView]], SelectionCandidates]


def product_candidates(step: Step, pool: Any, views: dict[int, SkillView]) -> SelectionCandidates:
    return build_candidates(pool=pool, views=views, prerequisites={}, now=step.now)


def _pool(step: Step) -> Any:
    seen = sorted(step.learner.last_seen.items())
    return step.bank.product_bank().pool(where=PoolFilter(), exclude=step.exclude,
                                         seen_ids=[q for q, _ in seen], seen_epochs=[t for _, t in seen])


# What the product's picks looked like: the component that decided each pick, and skills per served question.
SERVED: dict[str, Counter[str]] = defaultdict(Counter)
# Calibration of the served picks: (predicted P(correct), answered correctly) per policy.
CALIBRATION: dict[str, list[tuple[float, bool]]] = defaultdict(list)
RUNNING = [""]  # the policy being run (labels the two tallies above)


def ours(builder: CandidateBuilder = product_candidates, policy: SelectionPolicy | None = None) -> Policy:
    def choose(step: Step) -> int:
        label = RUNNING[0]
        pool = _pool(step)
        views = skill_views(mastery_rows=list(step.learner.rows.values()), now=step.now)
        candidates = builder(step, pool, views)
        session = SessionSuccess(len(step.exclude), step.session_correct)
        chosen = policy or SelectionPolicy()
        ungated = np.random.Generator(np.random.PCG64())
        ungated.bit_generator.state = step.rng.bit_generator.state  # the same draws, for the gate's tally
        choice = select_next_question(candidates=candidates, rng=step.rng, policy=chosen, session=session)
        decided = choice.reason.dominant_component
        if chosen.band_gate_share < 1.0 and select_next_question(
                candidates=candidates, rng=ungated, session=session,
                policy=dataclasses.replace(chosen, band_gate_share=1.0)).index != choice.index:
            decided = "the band's gate"  # without the gate, the same draws chose another candidate
        skills = pool.skills_of(choice.index)
        CALIBRATION[label].append((choice.reason.predicted_p, False))  # the answer fills in the outcome
        SERVED[label][f"decided by {decided}"] += 1
        SERVED[label][f"{len(skills)}-skill question"] += 1
        for skill in skills:
            SERVED[label][f"skill {skill}"] += 1
        return int(pool.question_ids[choice.index])
    return choose


def random_policy(step: Step) -> int:
    pool = _pool(step)
    return int(pool.question_ids[step.rng.integers(len(pool))])


def seed_heuristic(step: Step) -> int:
    pool = _pool(step)
    views = skill_views(mastery_rows=list(step.learner.rows.values()), now=step.now)
    level_of = np.array([views[s].mastery if s in views else states.UNPRACTISED_MASTERY for s in range(N_SKILLS)])
    return seed_heuristic_choice(pool=pool, skill_ids=step.bank.skill_ids, true_b=step.bank.true_b,
                                 level_of=level_of, successes=step.learner.successes, tries=step.learner.tries,
                                 now=step.now.timestamp(), rng=step.rng)


@dataclass(frozen=True)
class Outcome:
    questions: np.ndarray  # per learner, capped
    reached: np.ndarray  # bool per learner
    success_rate: float
    seconds: float


def _bank(seed: int) -> tuple[SimulatedQuestion, ...]:
    return make_question_bank(n_questions=N_QUESTIONS, n_skills=N_SKILLS, rng=np.random.default_rng(seed),
                              difficulty_sd=1.5)


WARM: dict[int, PredictorState] = {}  # per seed: the nightly fit on a previous cohort (seed + 7)


def warm_predictor(seed: int) -> PredictorState:
    if seed not in WARM:
        WARM[seed] = warm_start(_bank(seed), n_skills=N_SKILLS, mean_theta=COHORT_MEAN_THETA, seed=seed + 7,
                                start=START - timedelta(days=60), interval=ANSWER_INTERVAL)
    return WARM[seed].copy()


def practise(policy: Policy, *, seed: int, n_learners: int, cap: int) -> Outcome:
    questions = _bank(seed)
    predictor = warm_predictor(seed)
    started = time.perf_counter()
    bank = Bank(questions)
    cohort = SimulatedCohort.random(n_learners=n_learners, n_skills=N_SKILLS, rng=np.random.default_rng(seed + 1),
                                    mean_theta=COHORT_MEAN_THETA)
    world_rng, choice_rng = np.random.default_rng(seed + 2), np.random.default_rng(seed + 3)
    counts = np.zeros(n_learners, dtype=np.int64)
    reached = np.zeros(n_learners, dtype=bool)
    correct = 0
    for i in range(n_learners):
        learner = Learner({}, {}, np.zeros((N_QUESTIONS, MAX_SKILLS)), np.zeros((N_QUESTIONS, MAX_SKILLS)))
        state = LearnerState()
        now, session, session_correct = START, list[int](), 0
        while counts[i] < cap:
            if bool(np.all(cohort.ability(learner=i, now=now) >= MASTERY_THETA)):
                reached[i] = True
                break
            if len(session) == SESSION_QUESTIONS:
                session, session_correct = [], 0
            qid = policy(Step(learner, bank, session, now, choice_rng, cohort.ability(learner=i, now=now),
                              predictor, state, session_correct))
            answer = cohort.answer(learner=i, question=questions[qid], now=now, rng=world_rng)
            record(learner, bank, questions[qid], answer, now)
            predictor.record(state, questions[qid], answer.is_correct)
            served = CALIBRATION.get(RUNNING[0])
            if served:  # the pick `ours` just logged gets its outcome
                served[-1] = (served[-1][0], answer.is_correct)
            session.append(qid)
            session_correct += int(answer.is_correct)
            correct += int(answer.is_correct)
            counts[i] += 1
            now += ANSWER_INTERVAL
    return Outcome(counts, reached, correct / max(int(counts.sum()), 1), time.perf_counter() - started)


# --- candidate builders for the predictor and the experiments (benchmark only) ---------------------------


def _with_weakness(candidates: SelectionCandidates, weakness: np.ndarray) -> SelectionCandidates:
    return dataclasses.replace(candidates, skill_weakness=np.clip(weakness, 0.0, 1.0))


def _per_skill(pool: Any, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(present mask, values[skill] gathered into the pool's question × skill grid); skills are 0..N_SKILLS−1."""
    present = pool.skill_ids >= 0
    return present, values[np.where(present, pool.skill_ids, 0)]


Weakness = Callable[[Step, Any, dict[int, SkillView]], np.ndarray]


def predictor_views(step: Step, views: dict[int, SkillView]) -> dict[int, SkillView]:
    """The skill views with the predictor's per-skill logit filled in (what next_question reads once served)."""
    logits, answers = step.predictor.skill_logit(step.state, N_SKILLS, step.bank.skill_ids)
    unseen = SkillView(states.INITIAL_RATING, 0, states.UNPRACTISED_MASTERY, 0.0)
    return {k: dataclasses.replace(views.get(k, unseen), predictor_logit=float(logits[k]), count=int(answers[k]))
            for k in range(N_SKILLS)}


def predictor_candidates(weakness: Weakness | None = None, *, skill_logits: bool = True,
                         global_evidence: bool = False, p_weights: Weights | None = None) -> CandidateBuilder:
    """predicted_p from the production predictor, evidence = mean answers on the question's skills (or, with
    `global_evidence`, all the learner's answers); weakness from build_candidates on views carrying the
    predictor's per-skill logits (`skill_logits`; else the Elo ratings), or from `weakness` (experiments)."""
    def build(step: Step, pool: Any, views: dict[int, SkillView]) -> SelectionCandidates:
        candidates = product_candidates(step, pool, predictor_views(step, views) if skill_logits else views)
        _, answers = step.predictor.skill_ability(step.state, N_SKILLS)
        present, per_question = _per_skill(pool, answers)
        evidence = np.where(present, per_question, 0.0).sum(axis=1) / present.sum(axis=1)
        if global_evidence:  # θ carries every answer: the predictor's P rests on all of them
            evidence = np.full(len(pool), float(step.state.learner.answers))
        changed = dataclasses.replace(
            candidates, predicted_p=step.predictor.predicted_p(step.state, pool.question_ids, pool.skill_ids,
                                                               p_weights),
            evidence=evidence)
        return changed if weakness is None else _with_weakness(changed, weakness(step, pool, views))
    return build


def true_not_mastered(step: Step, pool: Any, views: dict[int, SkillView]) -> np.ndarray:
    """Reference: the TRUE not-mastered indicator (what perfect estimation gives)."""
    present, values = _per_skill(pool, (step.true_theta < MASTERY_THETA).astype(np.float64))
    return question_weakness(per_skill=values, present=present)


def weights(*, band_falloff: float = 0.30, prior_concentration: float = 2.0, **changes: float) -> SelectionPolicy:
    return SelectionPolicy(band_falloff=band_falloff, prior_concentration=prior_concentration,
                           weights=dataclasses.replace(SelectionWeights(), **changes))



def bank_shapes(seeds: list[int]) -> str:
    """Skills per question and skill shares (of question-skill slots) in the banks: what random serves."""
    shapes: Counter[str] = Counter()
    for seed in seeds:
        for question in _bank(seed):
            shapes[f"{len(question.skills)}-skill question"] += 1
            for skill in question.skills:
                shapes[f"skill {skill}"] += 1
    total = len(seeds) * N_QUESTIONS
    return "; ".join(f"{k} {v / total:.0%}" for k, v in sorted(shapes.items()))
