"""How much evidence one graded answer carries, from what the server measured (pure).

The server knows when it served a question (session_questions.served_at) and when the answer arrived; the
client's time_spent_seconds is a claim. An answer faster than a plausible minimum for its question type
(nobody reads and solves a SAT item in a blink; an answer from a harvested key does) carries reduced evidence:

    t      = server seconds between serving and answering
    t_min  = MIN_SECONDS[question_type]
    w(t)   = clip((t − t_min/2) / (t_min/2), 0, 1)

so w = 0 below half the minimum, rising linearly to 1 at the minimum. The update applied is the full one
scaled by w: P(known), Elo rating, learning velocity and the question's difficulty step move w of the way;
fsrs memory and the Elo answer count advance only at w = 1 (an implausibly fast answer schedules no review).
The client's claimed time only ever lowers credit: the time that shapes the performance score and the fsrs
rating is max(claimed, server).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from smartpractice.learner.irt import FloatArray
from smartpractice.learner.knowledge import SkillChange

# Plausible minimum seconds to read and answer, per question type (the bank's types; others get the default).
MIN_SECONDS: dict[str, float] = {"multiple_choice": 6.0, "numeric": 10.0}
DEFAULT_MIN_SECONDS = 6.0
# An answer to a question the learner answered within this many seconds before (in another session: a session
# never serves a question twice) is a repeat: graded, stored, no evidence (private.answered_recently).
REPEAT_WINDOW_SECONDS = 7 * 86_400.0


def evidence_weight(*, server_seconds: float | None, question_type: str) -> float:
    """w in [0, 1] for an answer given `server_seconds` after serving (None: no server time, no evidence)."""
    if server_seconds is None:
        return 0.0
    half = MIN_SECONDS.get(question_type, DEFAULT_MIN_SECONDS) / 2.0
    return min(1.0, max(0.0, (server_seconds - half) / half))


def time_weights(*, served_seconds: npt.ArrayLike, min_seconds: npt.ArrayLike) -> FloatArray:
    """`evidence_weight` element-wise: served_seconds (NaN: unknown → 0) against each answer's type minimum."""
    seconds = np.asarray(served_seconds, dtype=np.float64)
    half = np.broadcast_to(np.asarray(min_seconds, dtype=np.float64), seconds.shape) / 2.0
    result: FloatArray = np.clip((np.nan_to_num(seconds, nan=-np.inf) - half) / half, 0.0, 1.0)
    return result


def repeat_answers(*, learner: npt.ArrayLike, question_id: npt.ArrayLike,
                   answered_epoch: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Per answer, whether the same learner answered the same question less than REPEAT_WINDOW_SECONDS before
    (among the answers given: one before them, e.g. before a read window, is not seen)."""
    who, question = np.asarray(learner), np.asarray(question_id)
    at = np.asarray(answered_epoch, dtype=np.float64)
    if not who.shape == question.shape == at.shape or who.ndim != 1:
        raise ValueError("learner, question_id and answered_epoch need one entry per answer")
    order = np.lexsort((at, question, who))
    same_pair = (who[order][1:] == who[order][:-1]) & (question[order][1:] == question[order][:-1])
    recent = at[order][1:] - at[order][:-1] < REPEAT_WINDOW_SECONDS
    repeat = np.zeros(at.size, dtype=bool)
    repeat[order[1:]] = same_pair & recent
    return repeat


@dataclass(frozen=True, slots=True)
class ReplayedEvidence:
    """Per stored answer: the evidence weight its online step had (0 for a repeat or a too-fast answer), and
    whether it was too fast (time weight 0: under half its type's plausible minimum, or no server time)."""

    weight: FloatArray
    too_fast: npt.NDArray[np.bool_]


def replayed_evidence(*, learner: npt.ArrayLike, question_id: npt.ArrayLike, answered_epoch: npt.ArrayLike,
                      served_seconds: npt.ArrayLike, min_seconds: npt.ArrayLike) -> ReplayedEvidence:
    """Per stored answer, the evidence weight its online step had: 0 for a repeat (`repeat_answers`), else
    `evidence_weight` of its server time (`time_weights`); and which answers were too fast.

    For the nightly replay of the answers (predictor_fit.replay), which must move the state where serving moved
    it (record_answer: private.apply_predictor_update), and for the refits, which learn only from answers with
    evidence (the predictor's weights from all but the too-fast ones).

    Args:
        learner, question_id: Per answer, the learner (any integer id) and the question.
        answered_epoch: Per answer, when it was given (seconds).
        served_seconds: Per answer, the server's seconds from serving to answering (NaN: unknown → weight 0).
        min_seconds: Per answer, its question type's plausible minimum (MIN_SECONDS), broadcast.

    Returns:
        Weights in [0, 1] and the too-fast flags, one per answer each, in the input order.
    """
    time_weight = time_weights(served_seconds=served_seconds, min_seconds=min_seconds)
    if time_weight.shape != np.shape(learner):
        raise ValueError("learner, question_id, answered_epoch and served_seconds need one entry per answer")
    weight: FloatArray = np.where(repeat_answers(learner=learner, question_id=question_id,
                                                 answered_epoch=answered_epoch), 0.0, time_weight)
    return ReplayedEvidence(weight=weight, too_fast=time_weight == 0.0)


def credited_seconds(*, claimed: float | None, server_seconds: float | None) -> float | None:
    """The time that shapes credit: the client may claim more than the server saw (lowering credit), not less."""
    if server_seconds is None:
        return claimed
    return server_seconds if claimed is None else max(claimed, server_seconds)


def weighted(change: SkillChange, weight: float) -> SkillChange:
    """The change scaled by the evidence weight (1: unchanged; 0: the learner's state stays as it was)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight!r}")
    if weight == 1.0:
        return change
    before, full = change.before, change.after
    p = before.p_mastery + weight * (full.p_mastery - before.p_mastery)
    after = replace(
        full,
        p_mastery=p,
        elo_rating=before.elo_rating + weight * (full.elo_rating - before.elo_rating),
        elo_count=before.elo_count,
        memory=before.memory,
        learning_velocity=before.learning_velocity + weight * (full.learning_velocity - before.learning_velocity),
    )
    return replace(change, after=after, effective_mastery=p, difficulty_delta=weight * change.difficulty_delta)
