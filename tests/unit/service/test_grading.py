from __future__ import annotations

import pytest

from smartpractice.service.grading import AnswerKey, UnsupportedQuestionTypeError, grade


@pytest.mark.parametrize(
    ("key", "answer", "expected"),
    [
        (AnswerKey("multiple_choice", ("B",)), ("b",), True),
        (AnswerKey("multiple_choice", ("B",)), ("A",), False),
        (AnswerKey("multiple_choice", ("B",)), ("B", "C"), False),
        (AnswerKey("true_false", ("TRUE",)), (" true ",), True),
        (AnswerKey("multi_select", ("A", "C")), ("C", "a"), True),
        (AnswerKey("multi_select", ("A", "C")), ("A",), False),
        (AnswerKey("multi_select", ("A", "C")), ("A", "C", "D"), False),
        (AnswerKey("numeric", ("42",)), ("42.0",), True),
        (AnswerKey("numeric", ("3.14",), tolerance=0.01), ("3.149",), True),
        (AnswerKey("numeric", ("3.14",), tolerance=0.01), ("3.151",), False),
        (AnswerKey("numeric", ("1000",)), ("1,000",), True),
        (AnswerKey("numeric", ("42",)), ("forty-two",), False),
        (AnswerKey("numeric", ("42",)), ("nan",), False),
        (AnswerKey("short_answer", ("Mitochondria",)), ("  mitochondria ",), True),
        (AnswerKey("short_answer", ("cell  wall",)), ("Cell Wall",), True),
        (AnswerKey("short_answer", ("cell wall",)), ("cell",), False),
    ],
)
def test_grade_rules(key: AnswerKey, answer: tuple[str, ...], expected: bool) -> None:
    assert grade(key=key, answer=answer).is_correct is expected


def test_unknown_question_type_is_a_content_error() -> None:
    with pytest.raises(UnsupportedQuestionTypeError):
        grade(key=AnswerKey("essay", ("x",)), answer=("x",))
