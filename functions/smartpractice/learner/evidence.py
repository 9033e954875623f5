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

from dataclasses import replace

from smartpractice.learner.knowledge import SkillChange

# Plausible minimum seconds to read and answer, per question type (the bank's types; others get the default).
MIN_SECONDS: dict[str, float] = {"multiple_choice": 6.0, "numeric": 10.0}
DEFAULT_MIN_SECONDS = 6.0


def evidence_weight(*, server_seconds: float | None, question_type: str) -> float:
    """w in [0, 1] for an answer given `server_seconds` after serving (None: no server time, no evidence)."""
    if server_seconds is None:
        return 0.0
    half = MIN_SECONDS.get(question_type, DEFAULT_MIN_SECONDS) / 2.0
    return min(1.0, max(0.0, (server_seconds - half) / half))


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
