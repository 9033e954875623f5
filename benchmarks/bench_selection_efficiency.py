"""Selection efficiency: questions to true mastery under OURS vs RANDOM vs the SEED-003 HEURISTIC (in process).

World (as tests/unit/learner/test_selection_simulation.py): smartpractice_dev.simulation learners, 4 skills,
θ = general + specific with cohort mean −0.5, 300 questions over 1–2 skills with b ~ N(0, 1.5); one answer a
minute, sessions of 20 (a session never repeats a question, as next_question's pool); a learner is done when
every skill's true θ ≥ 1.0, or at the cap. Every policy sees the same learners and bank per seed (same seeds).

Knowledge (all policies): the PRODUCT update, as service/answers.py does it: rows → states.skill_state →
knowledge.update_on_answer (BKT + multi-skill Elo + fsrs) → the row record_answer would store; question × skill
Elo difficulties start calibrated (elo.rating_from_logit(b)) and move by the returned additive deltas, with
times_seen, shared by the cohort like the question_skills table.

PREDICTOR (issue 15): the production predictor (smartpractice.learner.predictor) as production runs it: per
learner θ and counts, per learner × skill δ_k and counts, per
question b_q shared by the cohort, all moved by predictor.update after every answer (selection_predictor.py).
The nightly job is a PREVIOUS cohort (200 learners × 40 random questions of the same bank, seed + 7):
calibrate_rasch gives b_q, fit_weights the weights on its replay (printed per seed).

OURS (predictor) = QuestionBank.pool → skill_views with SkillView.predictor_logit = the predictor's w · x for
skill k alone at b = mean b_q of k's questions → build_candidates (weakness = Σ_k P(logit_k + relative-practice
shift < 0.75) / 2, candidates.skill_weakness with selection.practice_adjusted) → predicted_p from
predictor.predict_grid, evidence = mean answers on the skills → select_next_question, default SelectionPolicy.
RANDOM = uniform over the same pool. HEURISTIC = seed 003 `calculate_thompson_score` (seed_heuristic.py).
(The "Elo product, before" row of earlier runs is gone: build_candidates now always predicts with the
predictor, so it no longer measured the Elo product; its figure, 0.785, is in the README's history.)

Honest caveat: in this simulator learning does NOT depend on difficulty — every practised skill closes 2 % of its
gap to θ_max (3 % after a wrong answer) — so harder questions teach MORE (via errors) and two-skill questions
teach twice; there is no "desirable difficulty" optimum for a success band to hit. Practice counts carry much of
the per-skill signal here (learning is a function of practice): during the product's run, the fewest-answers
skill is the one still below the bar 78 % of the time when one is left, the predictor's lowest logit 37 %.

Measured 2026-12-07 (seeds 101/202/303 × 60 learners; ÷ random's 75.8 questions, mean ± half-range over seeds):
seed-003 heuristic 1.289 ± 0.078 (success 0.44); OURS (predictor) 0.697 ± 0.030 (0.66 / 0.72 / 0.70; success
0.44) — 0.850 ± 0.048 before the relative-practice shift; the same fed the TRUE not-mastered indicator
0.582 ± 0.027 (0.42). Shift gain per answer (cap 1 logit): 0.1 → 0.714, 0.2 → 0.692/0.697, 0.3 → 0.688.
Served success was below the band 0.60–0.70 (served predicted P 0.47, realised 0.44): ~300 Thompson draws
(κ = 2 + answers) put many hard two-skill candidates' DRAWS in the band. Since 2026-12-07 17:30 the band's two
rules (learner/band.py: the gate to the quarter of candidates whose MEAN P is nearest the pick's band, and the
session controller, gain 2, shifting that band by the session's shortfall) hold it: OURS 0.803 ± 0.082
(0.72 / 0.89 / 0.80) at served success 0.61 (0.61 / 0.61 / 0.61); the TRUE not-mastered reference with the
rules 0.688 ± 0.054 (0.64 / 0.75 / 0.68) at 0.62. The frontier (--experiments --only "band:") is in the
README ("The success band"): holding the band costs ~0.1× random here. With the predictor's skill-count weight
(17:50): OURS 0.815 ± 0.074 (0.74 / 0.89 / 0.81) at 0.63; the TRUE reference 0.714 ± 0.053 at 0.63. With the
weakness bar at 0.75 logit instead of 1.5 (19:50; at 1.5 every practised skill read P(below) ≈ 0.97-0.99, so
weakness no longer told skills apart): OURS 0.762 ± 0.041 (0.72 / 0.81 / 0.75) at 0.64 (0.63 / 0.64 / 0.63);
seeds 404 / 505 / 606: 0.793 → 0.752. With the weakness weight 0.8 instead of 0.4 (20:05): OURS 0.738 ± 0.040
(0.70 / 0.78 / 0.73) at 0.63 (0.62 / 0.62 / 0.63); held-out seeds 0.735.
The information limit (22:10, selection_bayes.py, in --experiments): the same rules fed the best possible
estimate from the answers (a posterior under the simulator's own response and learning model, true b) reach
0.735-0.740; fed the TRUE graded need (remaining practice), 0.625 (README "The information limit").
"decided by the band's gate" counts the
picks where the same draws without the gate chose another candidate.

    .venv/bin/python benchmarks/bench_selection_efficiency.py [--seeds 101 202 303] [--learners 60] [--quick]
    .venv/bin/python benchmarks/bench_selection_efficiency.py --experiments   # also the candidate variants
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from selection_world import (  # benchmarks/, next to this script
    CALIBRATION,
    RUNNING,
    SERVED,
    Outcome,
    Policy,
    bank_shapes,
    ours,
    practise,
    predictor_candidates,
    random_policy,
    seed_heuristic,
    true_not_mastered,
    warm_predictor,
)

PRODUCT = "ours (predictor)"
POLICIES: dict[str, Policy] = {
    "random": random_policy, "seed-003 heuristic": seed_heuristic,
    PRODUCT: ours(predictor_candidates()),
    "reference: predictor p, TRUE not-mastered": ours(predictor_candidates(true_not_mastered)),
}


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {(max(values) - min(values)) / 2:.3f}"


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
    if args.experiments:
        from selection_experiments import EXPERIMENTS  # benchmarks/, next to this script
    policies = {**POLICIES, **(EXPERIMENTS if args.experiments else {})}
    if args.only:
        policies = {k: v for k, v in policies.items() if k == "random" or any(o in k for o in args.only)}
    results: dict[str, list[Outcome]] = {name: [] for name in policies}
    for seed in args.seeds:
        for name, policy in policies.items():
            RUNNING[0] = name
            results[name].append(practise(policy, seed=seed, n_learners=args.learners, cap=args.cap))
    for seed in args.seeds:
        print(f"seed {seed}: nightly weights (fitted on the previous cohort) "
              + ", ".join(f"{v:.3f}" for v in warm_predictor(seed).weights.values))
    baseline = [o.questions.mean() for o in results["random"]]
    print(f"\n{'policy':<58}{'mean q→mastery':>15}{'÷ random (mean ± half-range)':>30}{'per seed ÷ random':>20}"
          f"{'reached':>8}{'success':>8}{'per seed':>20}{'s':>6}")
    for name, outcomes in results.items():
        means = [o.questions.mean() for o in outcomes]
        ratios = [m / b for m, b in zip(means, baseline, strict=True)]
        reached = np.mean([o.reached.mean() for o in outcomes])
        success = [o.success_rate for o in outcomes]
        print(f"{name:<58}{np.mean(means):>15.1f}{_spread(ratios):>30}{' / '.join(f'{r:.2f}' for r in ratios):>20}"
              f"{reached:>8.0%}{np.mean(success):>8.2f}{' / '.join(f'{r:.2f}' for r in success):>20}"
              f"{sum(o.seconds for o in outcomes):>6.0f}")
    print(f"\nbank: {bank_shapes(args.seeds)}")
    for label, counts in SERVED.items():
        total = sum(v for k, v in counts.items() if k.startswith("decided"))
        pairs = np.array(CALIBRATION[label], dtype=np.float64)
        print(f"{label}: {total} picks; " + "; ".join(f"{k} {v / total:.0%}" for k, v in sorted(counts.items()))
              + f"; served mean predicted P {pairs[:, 0].mean():.3f}, realised {pairs[:, 1].mean():.3f}")


if __name__ == "__main__":
    main()
