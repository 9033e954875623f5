"""What a session's mode changes (pure).

- exam: an answer's result (correctness, key, explanation, mastery changes, running accuracy) is withheld
  from submit_answer and from its stored, replayable response; complete_session returns them all.
- review: questions practising a skill whose fsrs review is due (due <= now) are served first; when none is
  due the whole pool is served.
- topic (and any filters): the request may narrow the session's filters, never widen them (question_bank).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from smartpractice.service.candidates import CandidatePool, SkillView
from smartpractice.service.models_responses import AnswerProgress, SubmitAnswerResponse

EXAM_FEEDBACK = ("Answer recorded. This is an exam: your results, the answers and their explanations come "
                 "when you complete it.")


def withhold_results(response: SubmitAnswerResponse) -> SubmitAnswerResponse:
    return response.model_copy(update={
        "is_correct": None, "correct_answer": None, "explanation": None, "skills": [],
        "session_progress": AnswerProgress(answered=response.session_progress.answered, correct=None, accuracy=None),
        "feedback": EXAM_FEEDBACK, "withheld": True})


def due_first(pool: CandidatePool, views: Mapping[int, SkillView]) -> CandidatePool:
    """The pool's questions on a due skill, or the whole pool when none is due."""
    due = [skill for skill, view in views.items() if view.due_score > 0.0]
    keep = np.isin(pool.skill_ids, due).any(axis=1) if due else np.zeros(len(pool), dtype=bool)
    if not keep.any():
        return pool
    return pool.subset(np.asarray(keep, dtype=np.bool_))
