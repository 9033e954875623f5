"""The harness's synthetic dataset, drawn from the simulator (smartpractice_dev.simulation), in long format.

Generating model (simulation.SimulatedLearner): θ_ik = general_i + specific_ik (global ability + skill
deviations), P(correct) = guess + (1 − guess − slip) · Π_k σ(θ_k − b_k) over the question's 1–3 skills,
learning after every answer (more after an error), forgetting with a half-life. Learners work in short
assignments: one skill, a few questions that practise it, a day or more apart, like homework logs.
Marginals (the committed file, seed 15): ≈ 66 % correct, 100 skills, median 8 answers per learner × skill.

Each row also carries the question's authored difficulty seed, `item_difficulty` (logits, the same value on
every row of a question): the author's noisy label of the true difficulty, true_b + N(0, LABEL_NOISE²), where
true_b = log((1 − P) / P), P = Π_k σ(−b_k) over the question's skills — the conjunctive combination that
private.predictor_seed_difficulty applies to a question's Elo rows (the chance of a learner at θ = 0, floor
and slip left out as the seed leaves them out). The true b_k are on the simulator's scale, on which the
cohort's mean ability is 1.35, not 0: an author labels against a notional learner, not the real cohort, so the
seed's origin (and scale: the guessing floor flattens the observed logits) differs from the calibrated one.
Written to 0.1 logit (rounding adds SD 0.03).
The noise is drawn from its own generator (seeded from `seed`), so the answers are those of the file
without the column, draw for draw.

    .venv/bin/python -m smartpractice_dev.eval_data [--out data/eval/synthetic.csv.gz] [--seed 15]
"""

from __future__ import annotations

import argparse
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from smartpractice_dev.simulation import LearnerDynamics, SimulatedCohort, SimulatedQuestion

DEFAULT_OUT = Path("data/eval/synthetic.csv.gz")
START = datetime(2026, 1, 5, 8, tzinfo=UTC)
LABEL_NOISE = 0.5  # logits: the author's label = true b + N(0, 0.5²) (correlation ≈ 0.9 with the true b here)
HEADER = "user_id,item_id,skill_id,correct,timestamp,item_difficulty\n"


def make_bank(*, n_questions: int, n_skills: int, rng: np.random.Generator) -> tuple[SimulatedQuestion, ...]:
    """Mostly one-skill questions (60 %), some two (30 %) and three (10 %); b ~ N(0, 1) per skill."""
    bank = []
    for question_id in range(n_questions):
        k = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
        skills = tuple(int(s) for s in rng.choice(n_skills, size=k, replace=False))
        bank.append(SimulatedQuestion(question_id, skills, tuple(float(b) for b in rng.normal(0.0, 1.0, size=k))))
    return tuple(bank)


def true_difficulty(question: SimulatedQuestion) -> float:
    """b with σ(−b) = Π_k σ(−b_k): the question's chance for a learner at θ = 0 on every skill, as a logit."""
    log_p = -sum(float(np.logaddexp(0.0, b)) for b in question.difficulties)
    return float(np.log(-np.expm1(log_p)) - log_p)


def authored_labels(bank: tuple[SimulatedQuestion, ...], *, seed: int, noise: float = LABEL_NOISE) -> list[float]:
    """The author's difficulty label of each question: true b + N(0, noise²), from a generator of its own."""
    rng = np.random.default_rng([seed, 1])
    return [true_difficulty(q) + float(rng.normal(0.0, noise)) for q in bank]


def generate(*, n_learners: int, n_skills: int, n_questions: int, seed: int,
             label_noise: float = LABEL_NOISE) -> list[tuple[str, str, str, int, int, float]]:
    """Rows (user_id, item_id, skill_ids joined by '_', correct, unix seconds, authored difficulty in logits)."""
    rng = np.random.default_rng(seed)
    bank = make_bank(n_questions=n_questions, n_skills=n_skills, rng=rng)
    labels = authored_labels(bank, seed=seed, noise=label_noise)
    by_skill: list[list[SimulatedQuestion]] = [[] for _ in range(n_skills)]
    for question in bank:
        for s in question.skills:
            by_skill[s].append(question)
    dynamics = LearnerDynamics(guess=0.2, slip=0.08, learn_rate=0.04, error_feedback_boost=0.5)
    cohort = SimulatedCohort.random(n_learners=n_learners, n_skills=n_skills, rng=rng, mean_theta=1.35,
                                    general_sd=1.0, skill_sd=0.6, dynamics=dynamics)
    popularity = rng.dirichlet(np.full(n_skills, 0.7))  # some skills are practised far more than others
    rows = []
    for learner in range(n_learners):
        now = START + timedelta(days=float(rng.uniform(0, 60)))
        for _ in range(1 + int(rng.geometric(0.22))):  # assignments
            skill = int(rng.choice(n_skills, p=popularity))
            pool = by_skill[skill] or list(bank)
            for _ in range(int(rng.integers(3, 13))):
                question = pool[int(rng.integers(len(pool)))]
                answer = cohort.answer(learner=learner, question=question, now=now, rng=rng)
                rows.append((f"u{learner}", f"q{question.question_id}", "_".join(str(s) for s in question.skills),
                             int(answer.is_correct), int(now.timestamp()), round(labels[question.question_id], 1)))
                now += timedelta(seconds=float(rng.uniform(30, 180)))
            now += timedelta(days=float(rng.exponential(3.0)) + 0.5)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--learners", type=int, default=3000)
    parser.add_argument("--skills", type=int, default=100)
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--label-noise", type=float, default=LABEL_NOISE, help="SD of the authored label (logits)")
    args = parser.parse_args()
    rows = generate(n_learners=args.learners, n_skills=args.skills, n_questions=args.questions, seed=args.seed,
                    label_noise=args.label_noise)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [f"{u},{i},{s},{c},{t},{d:.1f}\n" for u, i, s, c, t, d in rows]
    with gzip.GzipFile(args.out, "wb", mtime=0) as handle:  # mtime 0: the same seed gives the same bytes
        handle.write("".join(lines).encode())
    share = sum(r[3] for r in rows) / len(rows)
    print(f"wrote {len(rows)} answers, {share:.3f} correct, to {args.out}")


if __name__ == "__main__":
    main()

