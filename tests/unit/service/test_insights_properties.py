"""insights over generated learner histories (hypothesis, derandomized by the repo's profile): every number is
finite and within its documented range (the response models enforce the ranges and refuse NaN), and coherent
with its neighbours (velocity ⇔ trend, ready ⇔ pass probability ≥ 0.5 ⇔ days to ready 0, the total is the sum of
the sections, the gaps are the table's rows in order, the series covers every day and every answer). The predicted
scores are the predictor route's (score_source "predictor"): null with a reason exactly when the evidence is short
(no predictor state, or fewer than MIN_SECTION_ANSWERS answers in the section)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from smartpractice.db.contexts import InsightsContext
from smartpractice.learner import predictor
from smartpractice.learner import predictor_scores as ps
from smartpractice.service.deps import LearnerDeps
from smartpractice.service.insights import insights
from smartpractice.service.models_requests import InsightsRequest

NOW = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
WINDOW = 30
SECTION_OF_TOPIC = {1: "math", 2: "reading_writing", 3: "science"}
SKILLS = [{"id": k, "name": f"skill {k}", "topic_id": 1 + (k - 1) // 2} for k in range(1, 7)]
TOPICS = [{"id": t, "name": f"topic {t}", "subject_id": t, "exam_weight": 0.5, "exam_section": s}
          for t, s in SECTION_OF_TOPIC.items()]


def _with_targets(profile: dict[str, Any]) -> dict[str, Any]:
    sections: list[str] = profile["sections"]
    return profile | ({"target_total": 1300} if len(sections) == 2 else {f"target_{sections[0]}": 650})


PROFILES = st.none() | st.fixed_dictionaries({
    "exam": st.just("sat"),
    "sections": st.sampled_from([["math"], ["reading_writing"], ["math", "reading_writing"]]),
    "time_zone": st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
    "exam_date": st.none() | st.sampled_from(["2026-12-20", "2027-05-01"]),
}).map(_with_targets)
ANSWERS = st.lists(st.tuples(st.floats(0.0, WINDOW - 0.01), st.integers(1, 6), st.booleans(), st.floats(5.0, 300.0),
                             st.floats(0.0, 1.0)), max_size=60)


# (θ, Fisher information, answers in math, answers in reading_writing) or no predictor state
PREDICTOR = st.none() | st.tuples(st.floats(-5.0, 5.0), st.floats(0.0, 300.0), st.integers(0, 9), st.integers(0, 9))
OFFSETS = ps.OFFSETS
BANK_B = {"math": np.linspace(-2.0, 2.5, 12), "reading_writing": np.linspace(-1.5, 1.0, 9)}


def _predictor_block(state: tuple[float, float, int, int] | None) -> dict[str, Any]:
    """insights_context's predictor_scores for a small bank of one-skill questions with a floor of 1/4."""
    sections = []
    for name, answers in (("math", 0 if state is None else state[2]),
                          ("reading_writing", 0 if state is None else state[3])):
        b = BANK_B[name]
        curve = None if state is None else ps.section_curve(
            offsets=OFFSETS, theta=state[0], learner_answers=20, learner_correct=12,
            deviations=np.zeros((b.size, 1)), skill_answers=np.zeros((b.size, 1)),
            skill_correct=np.zeros((b.size, 1)), present=np.ones((b.size, 1), dtype=bool), difficulties=b,
            floors=np.full(b.size, 0.25),
            weights=predictor.Weights((0.1, 0.9, 0.0, 0.2, 0.0, 0.0, -0.3, -0.2))).tolist()
        sections.append({"section": name, "questions": int(b.size), "answers": answers, "curve": curve})
    return {"learner": None if state is None else {"theta": state[0], "answers": 20, "correct": 12},
            "weights": [0.1, 0.9, 0.0, 0.2, 0.0, 0.0, -0.3, -0.2], "offsets": OFFSETS.tolist(),
            "information": 0.0 if state is None else state[1], "sections": sections}


class FakeLearner:
    def __init__(self, context: InsightsContext) -> None:
        self.context = context

    def insights_context(self, since: str, now: str) -> InsightsContext:
        return self.context


def _context(answers: list[tuple[float, int, bool, float, float]], profile: dict[str, Any] | None,
             gaps: list[float], state: tuple[float, float, int, int] | None = None) -> InsightsContext:
    answers = sorted(answers, key=lambda a: -a[0])  # oldest first
    epoch = [NOW.timestamp() - a[0] * 86_400.0 for a in answers]
    last: dict[int, tuple[float, float, int]] = {}
    for (_, skill, _, _, mastery), t in zip(answers, epoch, strict=True):
        last[skill] = (mastery, t, last.get(skill, (0.0, 0.0, 0))[2] + 1)
    mastery_rows = [{"skill_id": k, "p_mastery": m, "effective_mastery": m, "total_attempts": n, "stability": 10.0,
                     "last_review": datetime.fromtimestamp(t, UTC).isoformat(), "due": None, "plateau_flag": False}
                    for k, (m, t, n) in sorted(last.items())]
    return InsightsContext.model_validate({
        "mastery": mastery_rows, "skills": SKILLS, "topics": TOPICS, "prerequisites": [],
        "attempts": {"session_id": [f"s{int(a[0])}" for a in answers], "is_correct": [a[2] for a in answers],
                     "confidence_score": [3] * len(answers), "answered_epoch": epoch,
                     "skill_ids": [[a[1]] for a in answers], "time_spent_seconds": [a[3] for a in answers],
                     "expected_time_seconds": [75] * len(answers),
                     "difficulty_label": [("easy", "medium", "hard")[a[1] % 3] for a in answers],
                     "topic_id": [1 + (a[1] - 1) // 2 for a in answers]},
        "history": {"skill_id": [a[1] for a in answers], "mastery_after": [a[4] for a in answers], "epoch": epoch},
        "sessions": [], "cohort": [],
        "gaps": [{"skill_id": 1 + i % 6, "severity": "medium", "priority_score": p, "gap_score": 0.5,
                  "updated_at": NOW.isoformat()} for i, p in enumerate(sorted(gaps, reverse=True))],
        "profile": profile, "predictor_scores": _predictor_block(state),
        "snapshots": [{"date": (NOW - timedelta(days=3)).date().isoformat(), "avg_mastery": 0.4,
                       "predicted_score": 1000.0, "answered": 5, "pass_probability": 0.2,
                       "sections": {"math": {"score": 500.0, "low": 450.0, "high": 550.0},
                                    "reading_writing": {"score": 520.0, "low": 470.0, "high": 570.0}}}],
    })


# No explain phase: it re-runs the shrunk case hundreds of times for a marginal hint.
@settings(max_examples=120, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
@given(answers=ANSWERS, profile=PROFILES, gaps=st.lists(st.floats(0.0, 10.0), max_size=5), state=PREDICTOR)
def test_every_number_is_in_range_and_coherent(answers: list[tuple[float, int, bool, float, float]],
                                               profile: dict[str, Any] | None, gaps: list[float],
                                               state: tuple[float, float, int, int] | None) -> None:
    context = _context(answers, profile, gaps, state)
    deps = cast(LearnerDeps, type("Deps", (), {"learner": FakeLearner(context), "now": NOW})())
    out = insights(user_id=cast(Any, None), body=InsightsRequest(days=WINDOW), deps=deps)

    for m in out.mastery:
        assert (m.velocity is None) == (m.trend is None) == (m.velocity_reason is not None)
        assert m.velocity is None or -1.0 <= m.velocity <= 1.0
    assert out.learning_velocity is None or -1.0 <= out.learning_velocity <= 1.0
    strongest, weakest = [h.skill_id for h in out.strongest], [h.skill_id for h in out.weakest]
    assert not set(strongest) & set(weakest) and len(strongest) == len(weakest) <= 3
    assert all(a.effective_mastery >= b.effective_mastery for a in out.strongest for b in out.weakest)
    r = out.readiness
    if r.predicted_score is not None:
        assert r.ready == (r.pass_probability is not None and r.pass_probability >= 0.5) == (r.days_to_ready == 0)
        assert r.ready == (r.predicted_score >= r.target_score)
    assert r.days_to_ready is None or r.days_to_ready <= 365
    scores = out.predicted_scores
    assert [s.section for s in scores.sections] == out.goals.sections
    if scores.total is not None:
        assert scores.total == sum(s.score or 0.0 for s in scores.sections) and len(scores.sections) == 2
        assert scores.total_low is not None and scores.total_high is not None
        assert 400.0 <= scores.total_low <= scores.total <= scores.total_high <= 1600.0
    assert scores.score_source == "predictor" and r.score_source == "predictor"
    assert (scores.ability_se is None) == (state is None)
    for section in scores.sections:
        answered = 0 if state is None else state[2 if section.section == "math" else 3]
        short = state is None or answered < ps.MIN_SECTION_ANSWERS
        assert (section.score is None) == short == (section.reason is not None)
        if section.score is not None:
            assert section.low is not None and section.high is not None and section.expected_proportion is not None
            assert 200.0 <= section.low <= section.score <= section.high <= 800.0
            assert section.score == 10 * round((200 + 600 * section.expected_proportion) / 10)
    assert (r.predicted_score is None) == (r.pass_probability is None)
    assert r.pass_probability is None or 0.0 <= r.pass_probability <= 1.0
    assert [(g.skill_id, g.priority) for g in out.knowledge_gaps] == \
        [(g["skill_id"], g["priority_score"]) for g in context.gaps]
    assert len(out.series.days) == WINDOW + 1  # the local days touched by the 30 × 24 h window
    assert sum(d.answers for d in out.series.days) == len(answers)
    assert sum(b.answers for b in out.accuracy_by_difficulty) == len(answers)
    assert sum(lv.answers for lv in out.levels.topics) == len(answers)
    assert out.performance.overall is None or np.isfinite(out.performance.overall)
    assert (profile is None) == ("sections" in out.goals.defaulted)
