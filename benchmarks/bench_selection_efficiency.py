"""Selection efficiency: questions to true mastery under OURS vs RANDOM vs the SEED-003 HEURISTIC (in process).

World (as tests/unit/learner/test_selection_simulation.py): smartpractice_dev.simulation learners, 4 skills,
θ = general + specific with cohort mean −0.5, 300 questions over 1–2 skills with b ~ N(0, 1.5); one answer a
minute, sessions of 20 (a session never repeats a question, as next_question's pool); a learner is done when
every skill's true θ ≥ 1.0, or at the cap. Every policy sees the same learners and bank per seed (same seeds).

Knowledge (all policies): the PRODUCT update, as service/answers.py does it: rows → states.skill_state →
knowledge.update_on_answer (BKT + multi-skill Elo + fsrs) → the row record_answer would store; question × skill
Elo difficulties start calibrated (elo.rating_from_logit(b)) and move by the returned additive deltas, with
times_seen, shared by the cohort like the question_skills table.

OURS = the product pipeline: QuestionBank.pool → candidates.skill_views / build_candidates → selection
select_next_question with the default SelectionPolicy. RANDOM = uniform over the same pool.
HEURISTIC = seed 003 `calculate_thompson_score` (seeds/personalization-elo-thompson-conversation.md ~l.1080):
per skill k, Beta(successes, attempts − successes + 1) with the (student, skill, question) counts on top of
the priors successes 1 / attempts 2; difficulty_match = 1 − |d_k − (level_k + 0.3)|; 0.4·sample + 0.4·match +
0.2/(attempts + 1); mean over skills × recency_penalty + coverage_bonus. Undefined helpers, mapped:
level_k = the product's effective mastery of k (BKT, [0, 1]); d_k = σ(b_k), the calibrated difficulty as a
[0, 1] failure chance for an average learner; calculate_recency = 1 − 2^(−Δt / 1 day) (1 if never seen, the
product's freshness); calculate_coverage = 0.2 · mean_k (1 − level_k).

Honest caveat: in this simulator learning does NOT depend on difficulty — every practised skill closes 2 % of its
gap to θ_max (3 % after a wrong answer) — so harder questions teach MORE (via errors) and two-skill questions
teach twice; there is no "desirable difficulty" optimum for a success band to hit.

Measured (seeds 101/202/303 × 60 learners, mean questions to mastery ÷ random's 75.8): seed-003 heuristic 1.29,
product 0.78 (the default SelectionPolicy: weakness .40, band .20, ...; with the earlier band .40 / weakness .20
it was 1.15: its weakness 1 − mean BKT mastery saturates long before θ reaches 1, and the 60–70 % band favours
easy single-skill questions), best variant 0.755 = weakness Σ_k P(Elo rating_k < rating of θ 1.6) / 2 with
weights weakness .40 band .10. Not the 30 % asked for: the same machinery fed the TRUE not-mastered indicator
reaches 0.60 and an oracle 0.54, so the rest is in estimating per-skill mastery from answers to two-skill
questions. Dropping the band (weight 0) is much worse (1.15): its Thompson draws keep the ratings informative.

    .venv/bin/python benchmarks/bench_selection_efficiency.py [--seeds 101 202 303] [--learners 60] [--quick]
    .venv/bin/python benchmarks/bench_selection_efficiency.py --experiments   # also the candidate variants
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np

from smartpractice.learner import knowledge
from smartpractice.learner.elo import rating_from_logit
from smartpractice.learner.selection import SelectionCandidates, SelectionPolicy, SelectionWeights, select_next_question
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


def ours(builder: CandidateBuilder = product_candidates, policy: SelectionPolicy | None = None,
         label: str = "ours (product)") -> Policy:
    def choose(step: Step) -> int:
        pool = _pool(step)
        views = skill_views(mastery_rows=list(step.learner.rows.values()), now=step.now)
        candidates = builder(step, pool, views)
        choice = select_next_question(candidates=candidates, rng=step.rng, policy=policy)
        SERVED[label][f"decided by {choice.reason.dominant_component}"] += 1
        SERVED[label][f"{len(pool.skills_of(choice.index))}-skill question"] += 1
        SERVED[label][f"skill {min(pool.skills_of(choice.index))} (lowest id)"] += 1
        return int(pool.question_ids[choice.index])
    return choose


def random_policy(step: Step) -> int:
    pool = _pool(step)
    return int(pool.question_ids[step.rng.integers(len(pool))])


def seed_heuristic(step: Step) -> int:
    pool = _pool(step)
    ids = pool.question_ids
    present = step.bank.skill_ids[ids] >= 0
    views = skill_views(mastery_rows=list(step.learner.rows.values()), now=step.now)
    level_of = np.array([views[s].mastery if s in views else states.UNPRACTISED_MASTERY for s in range(N_SKILLS)])
    level = level_of[np.where(present, step.bank.skill_ids[ids], 0)]
    difficulty = 1.0 / (1.0 + np.exp(-np.nan_to_num(step.bank.true_b[ids])))
    successes = 1.0 + step.learner.successes[ids]  # prior successes 1, attempts 2 (the seed's .get defaults)
    attempts = 2.0 + step.learner.tries[ids]
    sampled = step.rng.beta(successes, attempts - successes + 1.0)
    match = 1.0 - np.abs(difficulty - (level + 0.3))
    skill_score = 0.4 * sampled + 0.4 * match + 0.2 / (attempts + 1.0)
    mean_score = np.where(present, skill_score, 0.0).sum(axis=1) / present.sum(axis=1)
    since = np.where(np.isnan(pool.last_seen_epoch), np.inf, step.now.timestamp() - pool.last_seen_epoch)
    recency = 1.0 - np.exp2(-since / 86_400.0)
    coverage = 0.2 * np.where(present, 1.0 - level, 0.0).sum(axis=1) / present.sum(axis=1)
    return int(ids[int(np.argmax(mean_score * recency + coverage))])


@dataclass(frozen=True)
class Outcome:
    questions: np.ndarray  # per learner, capped
    reached: np.ndarray  # bool per learner
    success_rate: float
    seconds: float


def practise(policy: Policy, *, seed: int, n_learners: int, cap: int) -> Outcome:
    started = time.perf_counter()
    questions = make_question_bank(n_questions=N_QUESTIONS, n_skills=N_SKILLS, rng=np.random.default_rng(seed),
                                   difficulty_sd=1.5)
    bank = Bank(questions)
    cohort = SimulatedCohort.random(n_learners=n_learners, n_skills=N_SKILLS, rng=np.random.default_rng(seed + 1),
                                    mean_theta=COHORT_MEAN_THETA)
    world_rng, choice_rng = np.random.default_rng(seed + 2), np.random.default_rng(seed + 3)
    counts = np.zeros(n_learners, dtype=np.int64)
    reached = np.zeros(n_learners, dtype=bool)
    correct = 0
    for i in range(n_learners):
        learner = Learner({}, {}, np.zeros((N_QUESTIONS, MAX_SKILLS)), np.zeros((N_QUESTIONS, MAX_SKILLS)))
        now, session = START, list[int]()
        while counts[i] < cap:
            if bool(np.all(cohort.ability(learner=i, now=now) >= MASTERY_THETA)):
                reached[i] = True
                break
            if len(session) == SESSION_QUESTIONS:
                session = []
            qid = policy(Step(learner, bank, session, now, choice_rng, cohort.ability(learner=i, now=now)))
            answer = cohort.answer(learner=i, question=questions[qid], now=now, rng=world_rng)
            record(learner, bank, questions[qid], answer, now)
            session.append(qid)
            correct += int(answer.is_correct)
            counts[i] += 1
            now += ANSWER_INTERVAL
    return Outcome(counts, reached, correct / max(int(counts.sum()), 1), time.perf_counter() - started)


# --- experiments: alternative candidate builders / weights (benchmark only; see the report) ------------


def _with_weakness(candidates: SelectionCandidates, weakness: np.ndarray) -> SelectionCandidates:
    return dataclasses.replace(candidates, skill_weakness=np.clip(weakness, 0.0, 1.0))


def _per_skill(pool: Any, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(present mask, values[skill] gathered into the pool's question × skill grid); skills are 0..N_SKILLS−1."""
    present = pool.skill_ids >= 0
    return present, values[np.where(present, pool.skill_ids, 0)]


def _summed(step: Step, pool: Any, views: dict[int, SkillView], per_skill: np.ndarray) -> SelectionCandidates:
    """weakness = Σ_k per_skill_k / widest question: how much not-yet-mastered practice the question gives."""
    present, values = _per_skill(pool, per_skill)
    weakness = np.where(present, values, 0.0).sum(axis=1) / pool.skill_ids.shape[1]
    return _with_weakness(product_candidates(step, pool, views), weakness)


def summed_bkt(step: Step, pool: Any, views: dict[int, SkillView]) -> SelectionCandidates:
    mastery = np.array([views[s].mastery if s in views else states.UNPRACTISED_MASTERY for s in range(N_SKILLS)])
    return _summed(step, pool, views, 1.0 - mastery)


LOGIT_IN_ELO = float(rating_from_logit(theta=1.0)) - states.INITIAL_RATING  # 173.7 Elo points per logit


def p_not_mastered(rating: np.ndarray, count: np.ndarray, *, target_theta: float) -> np.ndarray:
    """P(skill rating below the rating of θ = target) under a normal posterior: sd one logit, precision + 0.2 per
    answer; Φ(x) ≈ σ(1.702 x) so numpy suffices (what the candidates.py diff in the report does)."""
    target = states.INITIAL_RATING + target_theta * LOGIT_IN_ELO
    z = (target - rating) / (LOGIT_IN_ELO / np.sqrt(1.0 + 0.2 * count))
    result: np.ndarray = 1.0 / (1.0 + np.exp(-1.702 * z))
    return result


def summed_elo(target_theta: float) -> CandidateBuilder:
    def build(step: Step, pool: Any, views: dict[int, SkillView]) -> SelectionCandidates:
        unseen = SkillView(states.INITIAL_RATING, 0, states.UNPRACTISED_MASTERY, 0.0)
        rows = [views.get(s, unseen) for s in range(N_SKILLS)]
        per_skill = p_not_mastered(np.array([v.rating for v in rows]), np.array([float(v.count) for v in rows]),
                                   target_theta=target_theta)
        return _summed(step, pool, views, per_skill)
    return build


def true_not_mastered(step: Step, pool: Any, views: dict[int, SkillView]) -> SelectionCandidates:
    """Reference: the product machinery fed the TRUE not-mastered indicator (what perfect estimation gives)."""
    return _summed(step, pool, views, (step.true_theta < MASTERY_THETA).astype(np.float64))


def oracle(step: Step) -> int:
    """Reference ceiling, not a policy: knows the true θ; most truly unmastered skills, then the largest gap."""
    pool = _pool(step)
    present, theta = _per_skill(pool, step.true_theta)
    score = np.where(present, 10.0 * (theta < MASTERY_THETA) + np.maximum(MASTERY_THETA - theta, 0.0), 0.0)
    return int(pool.question_ids[int(np.argmax(score.sum(axis=1)))])


def weights(*, band_low: float = 0.60, band_high: float = 0.70, **changes: float) -> SelectionPolicy:
    return SelectionPolicy(band_low=band_low, band_high=band_high,
                           weights=dataclasses.replace(SelectionWeights(), **changes))


BEST = "ours: ΣP(Elo<θ1.6)/2, weakness .40 band .10"
EXPERIMENTS: dict[str, Policy] = {
    "ours: weakness Σ(1−BKT)/2": ours(summed_bkt),
    "ours: weights weakness .40 band .20": ours(policy=weights(weakness=0.40, band=0.20)),
    "ours: ΣP(Elo<θ1.0)/2": ours(summed_elo(1.0)),
    "ours: ΣP(Elo<θ1.0)/2, weakness .40 band .20": ours(summed_elo(1.0), weights(weakness=0.40, band=0.20)),
    "ours: ΣP(Elo<θ1.0)/2, band .40–.55": ours(summed_elo(1.0), weights(band_low=0.40, band_high=0.55)),
    "ours: ΣP(Elo<θ1.6)/2, weakness .40 band 0": ours(summed_elo(1.6), weights(weakness=0.40, band=0.0)),
    "reference: TRUE not-mastered, weakness .40 band .20": ours(true_not_mastered, weights(weakness=0.40, band=0.20)),
    "reference: oracle (true θ, no Thompson)": oracle,
}
POLICIES: dict[str, Policy] = {
    "random": random_policy, "seed-003 heuristic": seed_heuristic, "ours (product)": ours(),
    BEST: ours(summed_elo(1.6), weights(weakness=0.40, band=0.10)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--learners", type=int, default=60)
    parser.add_argument("--cap", type=int, default=400)
    parser.add_argument("--experiments", action="store_true", help="also run the alternative candidate builders")
    parser.add_argument("--only", nargs="*", default=None, help="run only policies whose name contains one of these")
    parser.add_argument("--quick", action="store_true", help="one seed, 20 learners")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.learners = args.seeds[:1], 20
    print(f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, seeds {args.seeds}, "
          f"{args.learners} learners per seed, cap {args.cap}")
    policies = {**POLICIES, **(EXPERIMENTS if args.experiments else {})}
    if args.only:
        policies = {k: v for k, v in policies.items() if k == "random" or any(o in k for o in args.only)}
    results: dict[str, list[Outcome]] = {name: [] for name in policies}
    for seed in args.seeds:
        for name, policy in policies.items():
            results[name].append(practise(policy, seed=seed, n_learners=args.learners, cap=args.cap))
    baseline = [o.questions.mean() for o in results["random"]]
    print(f"\n{'policy':<52}{'mean q→mastery':>15}{'÷ random':>10}{'per seed ÷ random':>22}"
          f"{'reached':>9}{'success':>9}{'s':>6}")
    for name, outcomes in results.items():
        means = [o.questions.mean() for o in outcomes]
        ratios = [m / b for m, b in zip(means, baseline, strict=True)]
        reached = np.mean([o.reached.mean() for o in outcomes])
        success = np.mean([o.success_rate for o in outcomes])
        print(f"{name:<52}{np.mean(means):>15.1f}{np.mean(means) / np.mean(baseline):>10.3f}"
              f"{' / '.join(f'{r:.2f}' for r in ratios):>22}{reached:>9.0%}{success:>9.2f}"
              f"{sum(o.seconds for o in outcomes):>6.0f}")
    for label, counts in SERVED.items():
        total = sum(v for k, v in counts.items() if k.startswith("decided"))
        print(f"\n{label}: {total} picks; " + "; ".join(f"{k} {v / total:.0%}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
