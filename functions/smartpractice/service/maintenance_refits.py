"""Maintenance refits from recent answers: BKT parameters per skill and IRT item parameters.

The fitting itself is learner.bkt_em / learner.irt; this module reads, reshapes arrays and writes.

BKT: every answer is one opportunity for *each* skill of its question (single-skill attribution), a
learner × skill sequence is ordered by answer time and keeps its first `bkt_max_sequence_length`
opportunities in the window; skills with fewer than `bkt_min_observations` are left as they are.
Skills are independent in EM, so they are fitted in groups sized to a budget of answers (length-packed, no padding).

IRT: each learner's first attempt at a question in the window (later attempts are practice effects),
items with at least `irt_min_responses` such answers, calibrated per exam section (one ability per
section); the guessing floor is fixed at 1/k for k-option multiple choice (3PL), 0 otherwise (2PL).

Both learn only from answers that carried evidence when served (maintenance_io.served_evidence > 0): a repeat
within 7 days or an answer faster than half its type's plausible minimum moved no mastery and no difficulty
online, and one account's scripted answers must not move the shared BKT parameters or difficulties at night.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from smartpractice.learner import bkt_em, irt
from smartpractice.learner.bkt import BKTParams
from smartpractice.service.maintenance_io import (
    AttemptLog,
    Row,
    StepContext,
    log_event,
    read_attempts,
    read_table,
    served_evidence,
)

IntArray = NDArray[np.int64]
IRT_COLD_TOLERANCE = 1e-4  # logits, as irt.calibrate_items by default


# --- BKT --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkillObservations:
    """One observation per (answer, skill of its question), sorted by skill, learner, answer time."""

    skill_id: IntArray
    correct: NDArray[np.int8]
    position: IntArray  # opportunity index within its learner × skill sequence
    sequence: IntArray  # non-decreasing sequence number, one per learner × skill


def skill_observations(*, attempts: AttemptLog, question_skills: list[Row], max_length: int) -> SkillObservations:
    tagged_question = np.array([int(r["question_id"]) for r in question_skills], dtype=np.int64)
    tagged_skill = np.array([int(r["skill_id"]) for r in question_skills], dtype=np.int64)
    by_question = np.argsort(tagged_question, kind="stable")
    tagged_question, tagged_skill = tagged_question[by_question], tagged_skill[by_question]
    first = np.searchsorted(tagged_question, attempts.question_id, side="left")
    n_skills = np.searchsorted(tagged_question, attempts.question_id, side="right") - first
    # Ragged expansion: answer i repeated once per skill of its question.
    answer = np.repeat(np.arange(attempts.size), n_skills)
    within = np.arange(answer.size) - np.repeat(np.cumsum(n_skills) - n_skills, n_skills)
    skill = tagged_skill[np.repeat(first, n_skills) + within]
    learner = attempts.learner[answer]
    order = np.lexsort((attempts.answered_epoch[answer], learner, skill))
    skill, learner, correct = skill[order], learner[order], attempts.correct[answer][order]
    starts = np.ones(skill.size, dtype=np.bool_)
    starts[1:] = (skill[1:] != skill[:-1]) | (learner[1:] != learner[:-1])
    sequence = np.cumsum(starts) - 1
    position = np.arange(skill.size) - np.flatnonzero(starts)[sequence]
    keep = position < max_length
    return SkillObservations(skill[keep], correct[keep], position[keep], sequence[keep])


def bkt_training_batches(
    obs: SkillObservations, *, min_observations: int, cell_budget: int
) -> list[tuple[IntArray, bkt_em.PackedSequences]]:
    """(skill ids, length-packed sequences) per EM call, for the skills with enough observations.

    Skills are taken in id order into one call until its answers would exceed `cell_budget` (a skill with
    more answers than the budget gets a call of its own); packing stores answers only, never padding.
    """
    skills, counts = np.unique(obs.skill_id, return_counts=True)
    fitted, sizes = skills[counts >= min_observations], counts[counts >= min_observations]
    groups: list[tuple[int, int]] = []  # [first skill, last skill + 1) per EM call
    start, cells = 0, 0
    for k, size in enumerate(sizes.tolist()):
        if k > start and cells + size > cell_budget:
            groups.append((start, k))
            start, cells = k, 0
        cells += size
    if fitted.size:
        groups.append((start, fitted.size))
    batches = []
    for lo, hi in groups:
        skills_here = fitted[lo:hi]
        in_group = np.isin(obs.skill_id, skills_here)
        _, sequence = np.unique(obs.sequence[in_group], return_inverse=True)  # compact sequence numbers
        sequence_skill = np.zeros(sequence.max(initial=-1) + 1, dtype=np.int64)
        sequence_skill[sequence] = np.searchsorted(skills_here, obs.skill_id[in_group])
        data = bkt_em.PackedSequences.from_cells(sequence=sequence.astype(np.int64), position=obs.position[in_group],
                                                 correct=obs.correct[in_group], skill_index=sequence_skill,
                                                 n_skills=int(skills_here.size))
        batches.append((skills_here, data))
    return batches


def _previous_fits(ctx: StepContext) -> dict[int, BKTParams]:
    """The fitted parameters per skill (skills never fitted are absent)."""
    rows = read_table(ctx.store, "bkt_params", "skill_id,p_init,p_learn,p_guess,p_slip,p_forget,fitted_at",
                      order="skill_id", page=ctx.config.read_page)
    return {int(r["skill_id"]): BKTParams(p_init=float(r["p_init"]), p_learn=float(r["p_learn"]),
                                          p_guess=float(r["p_guess"]), p_slip=float(r["p_slip"]),
                                          p_forget=float(r["p_forget"]))
            for r in rows if r.get("fitted_at") is not None}


def run_bkt_refit(ctx: StepContext) -> dict[str, int]:
    config = ctx.config
    read = read_attempts(ctx, since=ctx.day_end - timedelta(days=config.bkt_window_days), step="bkt_refit")
    question_skills = read_table(ctx.store, "question_skills", "question_id,skill_id", order="question_id,skill_id",
                                 page=config.read_page)
    attempts = _with_evidence(read, _question_types(ctx))
    obs = skill_observations(attempts=attempts, question_skills=question_skills,
                             max_length=config.bkt_max_sequence_length)
    rng = np.random.default_rng(ctx.run_date.toordinal())  # EM restarts: reproducible per run date
    previous = _previous_fits(ctx)
    rows: list[Row] = []
    converged = 0
    for skill_ids, data in bkt_training_batches(obs, min_observations=config.bkt_min_observations,
                                                cell_budget=config.bkt_cell_budget):
        warm = [previous.get(int(skill_id)) for skill_id in skill_ids]
        # Last night's optimum on mostly the same answers: one EM run from it instead of three restarts.
        em = bkt_em.EMConfig(n_restarts=1) if all(w is not None for w in warm) else None
        result = bkt_em.fit_bkt(data=data, rng=rng, config=em, warm_start=warm)
        converged += int(result.converged.sum())
        for k, skill_id in enumerate(skill_ids):
            params = result.params[k]
            rows.append({"skill_id": int(skill_id), "p_init": params.p_init, "p_learn": params.p_learn,
                         "p_guess": params.p_guess, "p_slip": params.p_slip, "p_forget": params.p_forget,
                         "n_obs": int(result.n_obs[k]), "fitted_at": ctx.now.isoformat()})
        log_event("maintenance bkt batch", step="bkt_refit", run_date=ctx.run_date_iso, skills=len(skill_ids),
                  sequences=data.n_sequences, answers=data.n_cells, longest=int(data.batch_sizes.size),
                  cells_walked=result.cells_walked)
    written = int(ctx.store.call("upsert_bkt_params", {"p_rows": rows})) if rows else 0
    return {"attempts_read": read.size, "learners": attempts.n_learners, "skills_fitted": written,
            "skills_converged": converged, "observations": sum(int(r["n_obs"]) for r in rows),
            "read_capped": int(read.capped), "answers_without_evidence": read.size - attempts.size}


def _question_types(ctx: StepContext) -> dict[int, str]:
    return {int(q["id"]): str(q["question_type"]) for q in read_table(
        ctx.store, "questions", "id,question_type", order="id", page=ctx.config.read_page)}


def _with_evidence(attempts: AttemptLog, question_types: dict[int, str]) -> AttemptLog:
    """The answers that carried evidence when served (learner indices unchanged)."""
    keep = served_evidence(attempts, question_types=question_types).weight > 0.0
    return attempts if keep.all() else attempts.subset(keep, n_learners=attempts.n_learners)


# --- IRT --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FirstResponses:
    learner: IntArray
    question_id: IntArray
    correct: NDArray[np.int8]


def first_responses(attempts: AttemptLog, *, carried: NDArray[np.bool_] | None = None) -> FirstResponses:
    """Each learner's first answer to each question, kept only where `carried` (per answer) is True: a first
    answer without evidence is left out, not replaced by a later one (a practice effect)."""
    order = np.lexsort((attempts.answered_epoch, attempts.question_id, attempts.learner))
    learner, question = attempts.learner[order], attempts.question_id[order]
    first = np.ones(learner.size, dtype=np.bool_)
    first[1:] = (learner[1:] != learner[:-1]) | (question[1:] != question[:-1])
    if carried is not None:
        first &= carried[order]
    return FirstResponses(learner[first], question[first], attempts.correct[order][first])


def guessing_floor(question: Row) -> float:
    """1/k for a k-option multiple-choice question, 0 for free response."""
    options = question.get("options")
    n_options = len(options) if question.get("question_type") == "multiple_choice" and options else 0
    return float(irt.guessing_for_options(n_options=n_options if n_options >= 2 else 0))


def calibration_blocks(responses: FirstResponses, *, questions: dict[int, Row], min_responses: int,
                       cell_budget: int) -> list[IntArray]:
    """Item groups to calibrate together: one per exam section, split when learners × items exceeds the budget."""
    items, counts = np.unique(responses.question_id, return_counts=True)
    by_section: dict[str, list[int]] = {}
    for item in items[counts >= min_responses]:
        question = questions.get(int(item))
        if question is not None:
            by_section.setdefault(str(question["exam_section"]), []).append(int(item))
    blocks: list[IntArray] = []
    for section in sorted(by_section):
        section_items = np.array(by_section[section], dtype=np.int64)
        n_learners = np.unique(responses.learner[np.isin(responses.question_id, section_items)]).size
        n_blocks = max(1, math.ceil(n_learners * section_items.size / cell_budget))
        blocks.extend(np.array_split(section_items, min(n_blocks, section_items.size)))
    return blocks


def _warm_items(previous: dict[int, tuple[float, float]], block: IntArray) -> irt.ItemParams | None:
    """Last calibration of every item of the block (a warm start: a few EM rounds), or None if any is new."""
    if not all(int(q) in previous for q in block):
        return None
    pairs = np.array([previous[int(q)] for q in block], dtype=np.float64)
    return irt.ItemParams(discrimination=pairs[:, 0], difficulty=pairs[:, 1], guessing=np.zeros(block.size))


def run_irt_calibration(ctx: StepContext) -> dict[str, int]:
    config = ctx.config
    read = read_attempts(ctx, since=ctx.day_end - timedelta(days=config.irt_window_days), step="irt_calibration")
    questions = {int(q["id"]): q for q in read_table(ctx.store, "questions", "id,question_type,exam_section,options",
                                                     order="id", page=config.read_page)}
    carried = served_evidence(read, question_types={q: str(row["question_type"]) for q, row in questions.items()}
                              ).weight > 0.0
    responses = first_responses(read, carried=carried)
    previous = {int(r["question_id"]): (float(r["discrimination"]), float(r["difficulty"]))
                for r in read_table(ctx.store, "question_difficulty_params",
                                    "question_id,discrimination,difficulty,calibrated_at", order="question_id",
                                    page=config.read_page) if r.get("calibrated_at") is not None}
    rows: list[Row] = []
    used, converged = 0, 0
    learners: set[int] = set()
    for block in calibration_blocks(responses, questions=questions, min_responses=config.irt_min_responses,
                                    cell_budget=config.irt_cell_budget):
        selected = np.isin(responses.question_id, block)
        block_learners, row = np.unique(responses.learner[selected], return_inverse=True)
        column = np.searchsorted(block, responses.question_id[selected])
        matrix = np.zeros((block_learners.size, block.size), dtype=np.float64)
        observed = np.zeros(matrix.shape, dtype=np.bool_)
        matrix[row, column] = responses.correct[selected]
        observed[row, column] = True
        guessing = np.array([guessing_floor(questions[int(q)]) for q in block], dtype=np.float64)
        warm = _warm_items(previous, block)
        # From last night's items EM needs a few rounds; 0.001 logits per round is far inside the items'
        # standard errors (~0.03-0.3), so the warm fit stops there (cold fits keep irt's default 1e-4).
        calibration = irt.calibrate_items(responses=matrix, observed=observed, guessing=guessing, warm_start=warm,
                                          tolerance=IRT_COLD_TOLERANCE if warm is None else config.irt_warm_tolerance)
        items = calibration.items
        rows.extend({"question_id": int(q), "discrimination": float(items.discrimination[j]),
                     "difficulty": float(items.difficulty[j]), "guessing": float(items.guessing[j]),
                     "calibrated_at": ctx.now.isoformat()} for j, q in enumerate(block))
        used += int(selected.sum())
        converged += block.size if calibration.converged else 0
        learners.update(int(learner) for learner in block_learners)
        log_event("maintenance irt block", step="irt_calibration", run_date=ctx.run_date_iso, items=int(block.size),
                  learners=int(block_learners.size), iterations=calibration.iterations,
                  converged=calibration.converged)
    written = int(ctx.store.call("upsert_irt_params", {"p_rows": rows})) if rows else 0
    return {"attempts_read": read.size, "responses": used, "learners": len(learners),
            "items_calibrated": written, "items_converged": converged, "read_capped": int(read.capped),
            "answers_without_evidence": int((~carried).sum())}

