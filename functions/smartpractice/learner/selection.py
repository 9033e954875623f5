"""Next-question selection by Thompson sampling on a target success band.

Per candidate, P(correct) has a Beta posterior with mean ``predicted_p`` (from the
learner's Elo/BKT/IRT state and the question's parameters) and concentration
κ = prior_concentration + min(evidence, max_evidence), i.e. Beta(p·κ, (1 − p)·κ).
One draw per candidate (from the caller's rng) is scored against the target band:
uncertain candidates are sometimes drawn into the band and so get explored, while
well-known ones are chosen only when they really sit in it.

Each candidate gets six component scores in [0, 1] (1 = better), combined by a
normalised weighted sum; the highest total wins (exact ties broken by the rng):

    band          1 inside [band_low, band_high], falling linearly to 0 at band_falloff outside
    weakness      the question's skill weakness: Σ_k P(skill k not mastered) / widest (`question_weakness`)
    due           review due-ness of the skill (e.g. 1 − retrievability)
    prerequisite  readiness of the prerequisites (e.g. min mastery over prerequisites)
    recency       1 − 2^(−seconds_since_seen / half_life); never seen → 1 (the penalty is 1 − score)
    exposure      1 − exposure_count / max(exposure_count) (relative over-use penalty)

Mapping of the seed's weights (Elo match 40, Thompson sample 30, skill coverage 20,
recency 10): the seed's "Elo match" and "Thompson sample" both judge the success chance,
and adding the raw sampled p (as the seed does) rewards easy questions against the
desirable-difficulty target; here the band is scored *on* the Thompson draw. Measured in
closed-loop simulation (benchmarks/bench_selection_efficiency.py), band 40 / weakness 20
needed 15 % MORE questions to mastery than random selection: the band favours easy
single-skill questions over practising weak skills. The defaults are weakness 80 (skill
coverage), band 20, due review 15, prerequisites 10, recency 10, exposure 5 (normalised: weakness 57 %).
Weakness 40 → 80 (2026-12-07 20:05, with the gate holding the band): the bench 0.762× → 0.738× random's
questions at served success 0.64 → 0.62-0.63 (held-out seeds 404 / 505 / 606: 0.752× → 0.735×); 120: 0.740×.

The weighted band term alone did not hold the served success in the band (0.43 in the bench):
of ~300 independent draws some hard candidates' draws land in it whatever the weights. Two rules
(learner/band.py) hold it: the session controller shifts the pick's band by 2 × the session's
shortfall so far (an easier question after misses), and the gate keeps only the quarter of the
eligible candidates (at least 10) whose MEAN P is nearest the pick's band; the weighted score,
band term on the Thompson draw included, then chooses among them. In the bench that serves 0.61-0.64
at 0.76-0.82× random's questions to mastery (0.762× at 0.64 with the weakness bar of 2026-12-07
19:50; 0.69× at 0.43 without the rules): in that simulator errors teach more and learning ignores
difficulty, so the band costs speed (README "Selection").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from smartpractice.learner.arrays import read_only
from smartpractice.learner.band import SessionSuccess, band_gate, band_score, session_band
from smartpractice.learner.irt import FloatArray

COMPONENTS = ("band", "weakness", "due", "prerequisite", "recency", "exposure")
_P_CLIP = 1e-3  # Beta parameters must stay positive
_TIE_TOLERANCE = 1e-12


@dataclass(frozen=True, slots=True)
class SelectionWeights:
    band: float = 0.20
    weakness: float = 0.80
    due: float = 0.15
    prerequisite: float = 0.10
    recency: float = 0.10
    exposure: float = 0.05

    def __post_init__(self) -> None:
        values = self.as_array()
        if np.any(values < 0.0) or values.sum() <= 0.0:
            raise ValueError("weights must be non-negative with a positive sum")

    def as_array(self) -> FloatArray:
        """Weights in COMPONENTS order, normalised to sum to 1."""
        values = np.array([getattr(self, name) for name in COMPONENTS], dtype=np.float64)
        total = values.sum()
        return values / total if total > 0.0 else values


@dataclass(frozen=True, slots=True)
class SelectionPolicy:
    band_low: float = 0.60
    band_high: float = 0.70
    band_falloff: float = 0.30
    weights: SelectionWeights = SelectionWeights()
    prior_concentration: float = 2.0
    max_evidence: float = 200.0  # caps κ so long histories keep a little exploration
    recency_half_life_seconds: float = 86_400.0
    min_prerequisite_readiness: float = 0.0  # hard gate; candidates below are skipped unless all are
    # The success band's two rules (learner/band.py): the gate keeps the max(min, ⌈share · n⌉) eligible candidates
    # whose mean P is nearest the pick's band (share 1: off); the session controller shifts the pick's band by
    # gain · (band mid − the session's success so far, shrunk toward the mid by `session_prior` answers).
    band_gate_share: float = 0.25
    band_gate_min: int = 10
    session_gain: float = 2.0
    session_prior: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.band_low <= self.band_high <= 1.0:
            raise ValueError("need 0 <= band_low <= band_high <= 1")
        if not 0.0 < self.band_gate_share <= 1.0 or self.band_gate_min < 1:
            raise ValueError("band_gate_share must lie in (0, 1] and band_gate_min be >= 1")
        if self.session_gain < 0.0 or self.session_prior <= 0.0:
            raise ValueError("session_gain must be non-negative and session_prior positive")
        if self.band_falloff <= 0.0 or self.prior_concentration <= 0.0 or self.max_evidence < 0.0:
            raise ValueError("band_falloff and prior_concentration must be positive, max_evidence >= 0")
        if self.recency_half_life_seconds <= 0.0:
            raise ValueError("recency_half_life_seconds must be positive")


def _frozen_column(values: npt.ArrayLike, name: str, *, unit_interval: bool) -> FloatArray:
    array = read_only(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D")
    # min/max propagate NaN, so a NaN fails the comparisons as it fails the bounds.
    if unit_interval and array.size and not (array.min() >= 0.0 and array.max() <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1]")
    return array


@dataclass(frozen=True, slots=True)
class SelectionCandidates:
    """Parallel arrays, one entry per candidate question.

    ``seconds_since_seen``: inf or NaN for never seen. ``evidence``: effective number of
    observations behind ``predicted_p`` (e.g. answers on the skill, or 1/variance-based).
    """

    question_ids: npt.NDArray[Any]
    predicted_p: FloatArray
    evidence: FloatArray
    skill_weakness: FloatArray
    due_score: FloatArray
    prerequisite_readiness: FloatArray
    seconds_since_seen: FloatArray
    exposure_count: FloatArray

    def __post_init__(self) -> None:
        ids = read_only(self.question_ids, dtype=None)
        object.__setattr__(self, "question_ids", ids)
        for name in ("predicted_p", "skill_weakness", "due_score", "prerequisite_readiness"):
            object.__setattr__(self, name, _frozen_column(getattr(self, name), name, unit_interval=True))
        for name in ("evidence", "seconds_since_seen", "exposure_count"):
            column = _frozen_column(getattr(self, name), name, unit_interval=False)
            if column.size and np.fmin.reduce(column) < 0.0:  # fmin skips NaN, as `column < 0.0` does
                raise ValueError(f"{name} must be non-negative")
            if name != "seconds_since_seen" and not np.isfinite(column).all():
                raise ValueError(f"{name} must be finite")
            object.__setattr__(self, name, column)
        lengths = {getattr(self, name).shape[0] for name in _COLUMNS}
        if ids.ndim != 1 or len(lengths) != 1 or ids.shape[0] == 0:
            raise ValueError("all candidate arrays must be 1-D, non-empty and of one length")

    @property
    def n_candidates(self) -> int:
        return int(self.predicted_p.shape[0])


_COLUMNS = tuple(field.name for field in fields(SelectionCandidates))


@dataclass(frozen=True, slots=True)
class ComponentScores:
    band: float
    weakness: float
    due: float
    prerequisite: float
    recency: float
    exposure: float


@dataclass(frozen=True, slots=True)
class SelectionReason:
    """Why the chosen question won. ``dominant_component`` is the component whose weighted
    score most exceeds the eligible candidates' average, i.e. what set this one apart."""

    sampled_p: float
    predicted_p: float
    band_low: float
    band_high: float
    dominant_component: str
    component_scores: ComponentScores
    total_score: float
    why_now: str


@dataclass(frozen=True, slots=True)
class Selection:
    index: int
    question_id: Any
    reason: SelectionReason


def sample_success(*, candidates: SelectionCandidates, policy: SelectionPolicy,
                   rng: np.random.Generator) -> FloatArray:
    """One Thompson draw of P(correct) per candidate from Beta(p·κ, (1 − p)·κ)."""
    p = np.clip(candidates.predicted_p, _P_CLIP, 1.0 - _P_CLIP)
    concentration = policy.prior_concentration + np.minimum(candidates.evidence, policy.max_evidence)
    draws: FloatArray = rng.beta(p * concentration, (1.0 - p) * concentration)
    return draws


def component_scores(*, candidates: SelectionCandidates, sampled_p: FloatArray,
                     policy: SelectionPolicy) -> FloatArray:
    """Component scores, shape (len(COMPONENTS), n_candidates), rows in COMPONENTS order."""
    since = np.nan_to_num(candidates.seconds_since_seen, nan=np.inf, posinf=np.inf)
    freshness = 1.0 - np.exp2(-since / policy.recency_half_life_seconds)
    most_exposed = candidates.exposure_count.max()
    exposure = (1.0 - candidates.exposure_count / most_exposed) if most_exposed > 0.0 \
        else np.ones_like(freshness)
    band = band_score(p=sampled_p, low=policy.band_low, high=policy.band_high, falloff=policy.band_falloff)
    return np.stack([
        band, candidates.skill_weakness, candidates.due_score,
        candidates.prerequisite_readiness, freshness, exposure,
    ])


def _describe_wait(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "you have not seen it before"
    for unit_seconds, unit in ((86_400.0, "day"), (3_600.0, "hour"), (60.0, "minute")):
        if seconds >= unit_seconds:
            count = int(seconds // unit_seconds)
            return f"you last saw it {count} {unit}{'s' if count != 1 else ''} ago"
    return "you saw it moments ago"


def _why_now(*, dominant: str, index: int, candidates: SelectionCandidates, sampled: float,
             policy: SelectionPolicy) -> str:
    predicted = float(candidates.predicted_p[index])
    return f"Chosen because {_main_reason(dominant, index, candidates, sampled, policy)}; " \
           f"predicted success {predicted:.0%} (sampled {sampled:.0%})."


def _main_reason(dominant: str, index: int, candidates: SelectionCandidates, sampled: float,
                 policy: SelectionPolicy) -> str:
    """The dominant component's reason (only that one is formatted)."""
    if dominant == "band":
        band_text = f"{policy.band_low:.0%}–{policy.band_high:.0%}"
        in_band = policy.band_low <= sampled <= policy.band_high
        return (f"its chance of success sits in your {band_text} target band" if in_band
                else f"it is the closest match to your {band_text} target band")
    if dominant == "weakness":
        # Cold start: with no answers behind the estimate, "weakest" would be a claim without evidence.
        return ("it practises one of your weakest skills "
                f"(weakness {candidates.skill_weakness[index]:.2f})" if candidates.evidence[index] >= 1.0
                else "it starts measuring a skill you have not answered yet")
    if dominant == "due":
        return f"its skill is due for review (due-ness {candidates.due_score[index]:.2f})"
    if dominant == "prerequisite":
        return f"you have the prerequisites for it (readiness {candidates.prerequisite_readiness[index]:.2f})"
    if dominant == "recency":
        return _describe_wait(float(np.nan_to_num(candidates.seconds_since_seen[index], nan=np.inf, posinf=np.inf)))
    if dominant == "exposure":
        return "it has been served less often than the alternatives"
    raise KeyError(dominant)


def _selection(*, index: int, candidates: SelectionCandidates, policy: SelectionPolicy, sampled: FloatArray,
               scores: FloatArray, eligible: npt.NDArray[np.bool_], dominant: str | None = None,
               why: str | None = None, session: SessionSuccess | None = None,
               pick_band: tuple[float, float] | None = None) -> Selection:
    weights = policy.weights.as_array()
    chosen = scores[:, index]
    if dominant is None:
        advantage = weights * (chosen - scores[:, eligible].mean(axis=1))
        dominant = COMPONENTS[int(np.argmax(advantage))] if np.any(advantage > 0.0) \
            else COMPONENTS[int(np.argmax(weights * chosen))]
        why = _why_now(dominant=dominant, index=index, candidates=candidates, sampled=float(sampled[index]),
                       policy=policy) + _session_clause(session=session, policy=policy, pick_band=pick_band)
    reason = SelectionReason(
        sampled_p=float(sampled[index]),
        predicted_p=float(candidates.predicted_p[index]),
        band_low=policy.band_low,
        band_high=policy.band_high,
        dominant_component=dominant,
        component_scores=ComponentScores(*(float(value) for value in chosen)),
        total_score=float(weights @ chosen),
        why_now=why or "",
    )
    question_id = candidates.question_ids[index]
    if isinstance(question_id, np.generic):
        question_id = question_id.item()  # plain int/str for callers and JSON
    return Selection(index=index, question_id=question_id, reason=reason)


def _session_clause(*, session: SessionSuccess | None, policy: SelectionPolicy,
                    pick_band: tuple[float, float] | None) -> str:
    """' ' + a sentence on the session controller's shift of the band (`pick_band`, from `session_band`), when it
    moved it by at least 1 point."""
    if session is None or pick_band is None or abs(pick_band[0] - policy.band_low) < 0.005:
        return ""
    low, high = pick_band
    side, aim = ("below", "an easier") if low > policy.band_low else ("above", "a harder")
    return (f" This session is {side} your band so far ({session.correct} of {session.answered} right), "
            f"so it aims at {aim} question ({low:.0%}–{high:.0%}).")


# Chooses the index from the ranking (totals, eligible), e.g. exposure control (learner/exposure.py).
Picker = Callable[[FloatArray, npt.NDArray[np.bool_]], int]


def select_next_question(
    *, candidates: SelectionCandidates, rng: np.random.Generator, policy: SelectionPolicy | None = None,
    pick: Picker | None = None, session: SessionSuccess | None = None,
) -> Selection:
    """Score every candidate on one Thompson draw and return the best with its reason.

    Candidates below `policy.min_prerequisite_readiness` are skipped unless every candidate is; of the rest, only
    those whose mean P is nearest the pick's band stay (learner/band.py: the band shifted by the session's
    shortfall, then the gate); exact ties on the total are broken by `rng`, never by position.

    Args:
        candidates: Parallel per-question arrays: predicted P(correct), weakness, due-ness and prerequisite
            readiness as probabilities in [0, 1]; evidence (answers, >= 0); seconds since last seen (inf or
            NaN = never); times served (>= 0).
        rng: Draws one Beta sample per candidate, plus one integer when several candidates tie.
        policy: Target band (probabilities), weights, Beta concentration, recency half-life in seconds;
            default SelectionPolicy() (band 0.60–0.70, half-life one day).
        pick: Given the totals and the eligible mask, returns the chosen index (exposure control); default:
            the best total, ties broken by `rng`.
        session: The session so far (answered, correct), for the band's session controller; None: no shift.

    Returns:
        Selection: the chosen candidate's index and question id (a plain int/str), and a reason with the
        sampled and predicted P(correct) in [0, 1], the six component scores in [0, 1], the weighted total
        in [0, 1] (weights normalised to sum 1), the dominant component and a one-sentence `why_now`.
    """
    chosen_policy = policy if policy is not None else SelectionPolicy()
    low, high = session_band(low=chosen_policy.band_low, high=chosen_policy.band_high, session=session,
                             gain=chosen_policy.session_gain, prior=chosen_policy.session_prior)
    pick_policy = replace(chosen_policy, band_low=low, band_high=high)
    sampled = sample_success(candidates=candidates, policy=chosen_policy, rng=rng)
    scores = component_scores(candidates=candidates, sampled_p=sampled, policy=pick_policy)
    eligible = candidates.prerequisite_readiness >= chosen_policy.min_prerequisite_readiness
    if not eligible.any():
        eligible = np.ones_like(eligible)
    eligible = band_gate(predicted_p=candidates.predicted_p, eligible=eligible, low=low, high=high,
                         share=chosen_policy.band_gate_share, minimum=chosen_policy.band_gate_min)
    totals = chosen_policy.weights.as_array() @ scores
    eligible_totals = np.where(eligible, totals, -np.inf)
    # Many candidates score exactly 1 on the band, so ties are common: break them with the rng,
    # never by position (which would always favour whatever the caller listed first).
    if pick is not None:
        index = pick(totals, eligible)
    else:
        tied = np.flatnonzero(eligible_totals >= eligible_totals.max() - _TIE_TOLERANCE)
        index = int(tied[rng.integers(tied.size)]) if tied.size > 1 else int(tied[0])
    return _selection(index=index, candidates=candidates, policy=chosen_policy, sampled=sampled, scores=scores,
                      eligible=eligible, session=session, pick_band=(low, high))


def select_uniformly(
    *, candidates: SelectionCandidates, rng: np.random.Generator, policy: SelectionPolicy | None = None
) -> Selection:
    """A uniformly random candidate: the control arm that adaptive selection is measured against.

    The reason carries the same component scores (for the record), with `dominant_component` "random". No
    Thompson draw is made and the prerequisite gate is not applied: every candidate is equally likely.

    Args:
        candidates: The candidate arrays, as for `select_next_question`.
        rng: Draws the one index.
        policy: Only used to compute the recorded component scores; default SelectionPolicy().

    Returns:
        Selection whose reason has `sampled_p` = `predicted_p` (in [0, 1]), component scores and total in
        [0, 1], and `dominant_component` "random".
    """
    chosen_policy = policy if policy is not None else SelectionPolicy()
    index = int(rng.integers(candidates.n_candidates))
    sampled = candidates.predicted_p  # no Thompson draw: the mean stands in for it
    scores = component_scores(candidates=candidates, sampled_p=sampled, policy=chosen_policy)
    return _selection(index=index, candidates=candidates, policy=chosen_policy, sampled=sampled, scores=scores,
                      eligible=np.ones(candidates.n_candidates, dtype=bool), dominant="random",
                      why=f"Chosen at random (control group); predicted success {float(sampled[index]):.0%}.")
