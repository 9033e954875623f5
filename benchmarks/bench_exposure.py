"""Exposure control: max item exposure rate and the cost in selection quality (in process).

The world, the learners and the product selection are bench_selection_efficiency's (selection_world.py; 300 questions
over 4 skills, sessions of 20, every learner practising until every skill's true θ ≥ 1.0). Each policy is tracked like
item_exposure tracks the database: per question, the sessions that served it, over all sessions so far (every
session is eligible for every question: no filters). An item's exposure rate = its sessions ÷ all sessions.

OURS = the product selection (select_next_question, default policy). OURS + CONTROL = the same ranking with
learner.exposure.pick (Sympson–Hetter admission from the observed rates, randomesque top-3), the rates refreshed
every 10 sessions (the function instances cache item_exposure for 60 s). Figures: max and p99 exposure rate,
items over r_max, and mean questions to mastery ÷ random's (selection quality).

    .venv/bin/python benchmarks/bench_exposure.py [--seeds 101 202 303] [--learners 60] [--quick]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

import numpy as np
from selection_world import N_QUESTIONS, Outcome, Policy, Step, _pool, practise, random_policy

from smartpractice.learner import exposure
from smartpractice.learner.exposure import ExposureConfig
from smartpractice.learner.selection import select_next_question
from smartpractice.service.candidates import build_candidates, skill_views

REFRESH_SESSIONS = 10


@dataclass
class Tracker:
    """Sessions serving each question, and the rates as last refreshed (what the service's cache holds)."""

    served: np.ndarray = field(default_factory=lambda: np.zeros(N_QUESTIONS))
    sessions: int = 0
    rates: np.ndarray = field(default_factory=lambda: np.zeros(N_QUESTIONS))

    def observe(self, step: Step, question_id: int, config: ExposureConfig) -> None:
        if not step.exclude:
            self.sessions += 1
            if self.sessions % REFRESH_SESSIONS == 0:
                self.rates = exposure.exposure_rates(served_sessions=self.served,
                                                     eligible_sessions=np.full(N_QUESTIONS, self.sessions),
                                                     config=config)
        self.served[question_id] += 1  # a session never repeats a question

    def exposure_rates(self) -> np.ndarray:
        rates: np.ndarray = self.served / max(self.sessions, 1)
        return rates


def product(tracker: Tracker, config: ExposureConfig, *, control: bool) -> Policy:
    def choose(step: Step) -> int:
        pool = _pool(step)
        views = skill_views(mastery_rows=list(step.learner.rows.values()), now=step.now)
        candidates = build_candidates(pool=pool, views=views, prerequisites={}, now=step.now)
        rates = tracker.rates[pool.question_ids]
        pick = (lambda totals, eligible: exposure.pick(totals=totals, eligible=eligible, rates=rates, config=config,
                                                       rng=step.rng).index) if control else None
        question_id = int(pool.question_ids[select_next_question(candidates=candidates, rng=step.rng,
                                                                 pick=pick).index])
        tracker.observe(step, question_id, config)
        return question_id
    return choose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--learners", type=int, default=60)
    parser.add_argument("--cap", type=int, default=400)
    parser.add_argument("--first-sessions", type=int, default=300,
                        help="also: this many NEW learners, one session of 20 each (the cold-start stress)")
    parser.add_argument("--quick", action="store_true", help="one seed, 20 learners")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.learners = args.seeds[:1], 20
    config = ExposureConfig()
    print(f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, seeds {args.seeds}, "
          f"{args.learners} learners per seed, r_max {config.r_max}, top_k {config.top_k}")
    print(f"\n{'policy':<28}{'q→mastery ÷ random':>20}{'max rate':>10}{'p99 rate':>10}{'items > r_max':>15}"
          f"{'sessions':>10}")
    for seed in args.seeds:
        baseline = practise(random_policy, seed=seed, n_learners=args.learners, cap=args.cap).questions.mean()
        for name, control in (("ours", False), ("ours + exposure control", True)):
            tracker = Tracker()
            outcome: Outcome = practise(product(tracker, config, control=control), seed=seed,
                                        n_learners=args.learners, cap=args.cap)
            rates = tracker.exposure_rates()
            print(f"{name + f' (seed {seed})':<28}{outcome.questions.mean() / baseline:>20.3f}{rates.max():>10.3f}"
                  f"{np.quantile(rates, 0.99):>10.3f}{int((rates > config.r_max).sum()):>15}{tracker.sessions:>10}")
    # Cold start: every learner new, one session each, all in the same (empty) state: the classic CAT exposure case.
    print(f"\n{args.first_sessions} new learners × one session of 20 (success = share of answers right)")
    print(f"{'policy':<28}{'success':>20}{'max rate':>10}{'p99 rate':>10}{'items > r_max':>15}{'sessions':>10}")
    for seed in args.seeds:
        for name, control in (("ours", False), ("ours + exposure control", True)):
            tracker = Tracker()
            outcome = practise(product(tracker, config, control=control), seed=seed, n_learners=args.first_sessions,
                               cap=20)
            rates = tracker.exposure_rates()
            print(f"{name + f' (seed {seed})':<28}{outcome.success_rate:>20.3f}{rates.max():>10.3f}"
                  f"{np.quantile(rates, 0.99):>10.3f}{int((rates > config.r_max).sum()):>15}{tracker.sessions:>10}")


if __name__ == "__main__":
    main()
