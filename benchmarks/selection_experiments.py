"""Alternative candidate builders for bench_selection_efficiency.py --experiments (benchmark only)."""

from __future__ import annotations

from typing import Any

import numpy as np
from selection_bayes import BayesNeed, true_need  # benchmarks/, next to this script
from selection_world import (  # benchmarks/, next to this script
    N_SKILLS,
    Policy,
    Step,
    Weakness,
    _per_skill,
    _pool,
    _with_weakness,
    ours,
    predictor_candidates,
    product_candidates,
    true_not_mastered,
    weights,
)

from smartpractice.learner.predictor import Weights
from smartpractice.learner.weakness import probability_below, question_weakness
from smartpractice.service.candidates import SkillView

MASTERY_THETA = 1.0


def ability_weakness(target_theta: float) -> Weakness:
    """Σ_k P(θ + δ_k < target) / widest: the predictor's raw per-skill ability (no counts, no weights)."""
    def weakness(step: Step, pool: Any, views: dict[int, SkillView]) -> np.ndarray:
        ability, answers = step.predictor.skill_ability(step.state, N_SKILLS)
        present, values = _per_skill(pool, probability_below(estimates=ability, answers=answers,
                                                             target=target_theta))
        return question_weakness(per_skill=values, present=present)
    return weakness


def skill_logit_weakness(target_logit: float) -> Weakness:
    def weakness(step: Step, pool: Any, views: dict[int, SkillView]) -> np.ndarray:
        logit, answers = step.predictor.skill_logit(step.state, N_SKILLS, step.bank.skill_ids)
        present, values = _per_skill(pool, probability_below(estimates=logit, answers=answers, target=target_logit))
        return question_weakness(per_skill=values, present=present)
    return weakness


def oracle(step: Step) -> int:
    """Reference ceiling, not a policy: knows the true θ; most truly unmastered skills, then the largest gap."""
    pool = _pool(step)
    present, theta = _per_skill(pool, step.true_theta)
    score = np.where(present, 10.0 * (theta < MASTERY_THETA) + np.maximum(MASTERY_THETA - theta, 0.0), 0.0)
    return int(pool.question_ids[int(np.argmax(score.sum(axis=1)))])


EXPERIMENTS: dict[str, Policy] = {
    "pred p, Elo weakness (ΣP(Elo<θ1)/2)": ours(predictor_candidates(skill_logits=False)),
    "pred p, θ+δ weakness ΣP(θ+δ<1.5)/2": ours(predictor_candidates(ability_weakness(1.5))),
    "pred p, skill-logit weakness, bar 1.0": ours(predictor_candidates(skill_logit_weakness(1.0))),
    "pred p, skill-logit weakness, bar 2.0": ours(predictor_candidates(skill_logit_weakness(2.0))),
    "pred p, band .40": ours(predictor_candidates(), weights(band=0.40)),
    "pred p, evidence = all answers": ours(predictor_candidates(global_evidence=True)),
    "pred p, evidence = all answers, band .40 falloff .10": ours(predictor_candidates(global_evidence=True),
                                                                weights(band=0.40, band_falloff=0.10)),
    "pred p, Beta prior concentration 200": ours(predictor_candidates(), weights(prior_concentration=200.0)),
    "pred p, concentration 200, band .40 falloff .10": ours(predictor_candidates(), weights(
        prior_concentration=200.0, band=0.40, band_falloff=0.10)),
    "pred p with default weights σ(z)": ours(predictor_candidates(p_weights=Weights())),
    "pred p with default weights σ(z), evidence = all answers": ours(predictor_candidates(
        p_weights=Weights(), global_evidence=True)),
    "reference: Elo p, TRUE not-mastered": ours(lambda st, po, vi: _with_weakness(
        product_candidates(st, po, vi), true_not_mastered(st, po, vi))),
    "reference: oracle (true θ, no Thompson)": oracle,
    # What estimation can buy (selection_bayes.py): the TRUE graded need, and the best estimate of it from the
    # answers (a posterior under the simulator's own model and the true b), each with the product's rules.
    "reference: TRUE graded need": ours(predictor_candidates(true_need)),
    "reference: Bayes posterior, own model, E[graded need]": ours(predictor_candidates(BayesNeed())),
    "reference: Bayes posterior, own model, P(below the bar)": ours(predictor_candidates(BayesNeed(binary=True))),
}


def band_variant(*, gate: float = 1.0, gain: float = 0.0, concentration: float = 2.0, falloff: float = 0.30,
                 **weight_changes: float) -> Policy:
    """The product's candidates under a band rule (default: neither rule, the product before them): a gate to the
    share `gate` of the candidates whose mean P is nearest the pick's band, a session controller shifting the
    pick's band by `gain` × (band mid − session rate), the Beta prior concentration of the band's draw, the
    falloff and weight changes."""
    import dataclasses

    from smartpractice.learner.selection import SelectionPolicy, SelectionWeights
    return ours(predictor_candidates(), SelectionPolicy(
        band_gate_share=gate, session_gain=gain, prior_concentration=concentration, band_falloff=falloff,
        weights=dataclasses.replace(SelectionWeights(), **weight_changes)))


BAND = 0.25, 2.0  # the product's gate share and session gain (SelectionPolicy's defaults)
EXPERIMENTS.update({
    "band: before (no gate, no controller)": band_variant(gate=1.0, gain=0.0),
    "band: controller only (gain 2)": band_variant(gate=1.0, gain=2.0),
    **{f"band: gate {g:.2f}, no controller": band_variant(gate=g, gain=0.0) for g in (0.05, 0.15, 0.25)},
    **{f"band: gate {g:.2f}, gain {k}": band_variant(gate=g, gain=k)
       for g in (0.05, 0.15, 0.25, 0.40, 0.55) for k in (1.0, 2.0, 4.0) if (g, k) != BAND},
    **{f"band: Beta concentration 200, band {b} falloff {f}": band_variant(concentration=200.0, falloff=f, band=b)
       for b, f in ((0.2, 0.3), (0.4, 0.1), (0.2, 1.0), (0.6, 1.0))},
})
