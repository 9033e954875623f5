"""Server-side grading against the hidden answer key (pure: no I/O).

Supported question types and their rule:
- multiple_choice / true_false: exactly one answer, equal to the key (case-insensitive option label);
- multi_select: the set of chosen options equals the key's set (all or nothing);
- numeric: one number within the key's tolerance (absolute, default 1e-6 relative to the key's scale);
- short_answer: one text equal to any accepted answer after case folding and whitespace collapsing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_WHITESPACE = re.compile(r"\s+")


class UnsupportedQuestionTypeError(ValueError):
    """The question bank holds a type this grader does not know (a content bug, not a user error)."""


@dataclass(frozen=True, slots=True)
class AnswerKey:
    question_type: str
    correct: tuple[str, ...]
    tolerance: float | None = None


@dataclass(frozen=True, slots=True)
class Grade:
    is_correct: bool
    reason: str


def _norm_option(value: str) -> str:
    return value.strip().upper()


def _norm_text(value: str) -> str:
    return _WHITESPACE.sub(" ", value.strip().casefold())


def _parse_number(value: str) -> float | None:
    try:
        number = float(value.strip().replace(",", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def grade(*, key: AnswerKey, answer: tuple[str, ...]) -> Grade:
    kind = key.question_type
    if kind in ("multiple_choice", "true_false"):
        if len(answer) != 1:
            return Grade(False, "expected exactly one option")
        return Grade(_norm_option(answer[0]) in {_norm_option(c) for c in key.correct}, "option compared")
    if kind == "multi_select":
        return Grade({_norm_option(a) for a in answer} == {_norm_option(c) for c in key.correct}, "set compared")
    if kind == "numeric":
        if len(answer) != 1:
            return Grade(False, "expected exactly one number")
        given = _parse_number(answer[0])
        if given is None:
            return Grade(False, "not a number")
        for expected_text in key.correct:
            expected = _parse_number(expected_text)
            if expected is None:
                continue
            tolerance = key.tolerance if key.tolerance is not None else 1e-6 * max(1.0, abs(expected))
            if abs(given - expected) <= tolerance:
                return Grade(True, "within tolerance")
        return Grade(False, "outside tolerance")
    if kind == "short_answer":
        if len(answer) != 1:
            return Grade(False, "expected exactly one text answer")
        return Grade(_norm_text(answer[0]) in {_norm_text(c) for c in key.correct}, "text compared")
    raise UnsupportedQuestionTypeError(kind)
