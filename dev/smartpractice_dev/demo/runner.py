"""The cohort loop: every simulated day, each scheduled learner runs its sessions through the real functions
(start_session → (next_question → submit_answer)×n → complete_session) with its own JWT, `workers` learners
at a time over one shared httpx.Client; then the day's mastery is read back and run_maintenance runs for
the day's date.

Simulated learners live on simulated time (sessions at 17:00 + 2 h per extra session on their day, answers
spaced by their simulated time spent), so their forgetting follows the simulated calendar. The backend
stamps everything with the wall clock: to it the whole run is a few minutes.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from smartpractice.service.states import UNPRACTISED_MASTERY
from smartpractice_dev.demo.client import FunctionsClient, JsonObject
from smartpractice_dev.demo.metrics import Practice
from smartpractice_dev.demo.progress import ProgressBar
from smartpractice_dev.demo.store import MasteryRow
from smartpractice_dev.demo.world import World, answer_for, skill_matrix
from smartpractice_dev.simulation import SimulatedCohort

FIRST_SESSION_HOUR = 17
HOURS_BETWEEN_SESSIONS = 2
SECONDS_BETWEEN_ANSWERS = 10.0  # reading feedback before the next question
# Every step but decay: decay evaluates forgetting at the end of run_date from last_review stamps that are
# wall-clock (seconds old), so on the demo's compressed calendar it would apply days of forgetting to answers
# given moments ago. The simulated learners do the forgetting; the backend's decay is tested elsewhere.
MAINTENANCE_STEPS = ["snapshots", "aggregates", "bkt_refit", "irt_calibration", "predictor_fit", "retention",
                     "partitions"]


class DemoStoppedError(RuntimeError):
    """A worker noticed the run was stopped (Ctrl-C or another worker's error)."""


@dataclass(frozen=True, slots=True)
class AnswerEvent:
    learner: int
    group: str
    day: int
    question_id: int
    predicted_p: float  # the server's reason.predicted_p_correct when it served the question
    true_p: float  # the simulated learner's true probability
    intended_correct: bool  # what the simulated learner meant to answer
    server_correct: bool  # what the server graded
    sampled_p: float = float("nan")  # the server's reason.sampled_p_correct (the Thompson draw; random: = predicted)
    n_skills: int = 1  # the question's skills


@dataclass(frozen=True, slots=True)
class SessionRecord:
    learner: int
    day: int
    answered: int
    avg_mastery: float
    predicted_score: float | None
    predicted_low: float | None
    predicted_high: float | None
    pass_probability: float | None


@dataclass(frozen=True, slots=True)
class LearnerDay:
    events: tuple[AnswerEvent, ...]
    practice: tuple[Practice, ...]
    sessions: tuple[SessionRecord, ...]


@dataclass(frozen=True, slots=True)
class DayState:
    day: int
    run_date: date
    backend_mastery: np.ndarray  # (learners, skills) effective mastery (unpractised: the BKT prior)
    true_theta: np.ndarray  # (learners, skills) θ_eff at the end of the simulated day
    maintenance: JsonObject


@dataclass(frozen=True, slots=True)
class CohortRun:
    groups: tuple[str, ...]
    initial_theta: np.ndarray  # (learners, skills) true θ at the start
    events: tuple[AnswerEvent, ...]  # in (day, learner, answer) order
    practice: tuple[Practice, ...]
    sessions: tuple[SessionRecord, ...]
    days: tuple[DayState, ...]
    final_rows: tuple[MasteryRow, ...]  # the backend's mastery rows after the last day


def simulated_day_start(start: date, day: int) -> datetime:
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return midnight + timedelta(days=day)


@dataclass(frozen=True, slots=True)
class CohortRunner:
    client: FunctionsClient
    world: World
    cohort: SimulatedCohort  # the one stateful object: each learner's slot is touched by one thread at a time
    users: list[uuid.UUID]
    tokens: list[str]
    groups: tuple[str, ...]
    rngs: list[np.random.Generator]  # one per learner: draws do not depend on thread scheduling
    schedule: np.ndarray  # (learners, days) sessions
    questions_per_session: int
    subject_id: int | None  # the sessions' subject filter (None: the whole bank)
    first_date: date  # the date of simulated day 0 (the simulated calendar starts today)
    run_tag: str
    read_mastery: Callable[[list[uuid.UUID]], list[MasteryRow]]
    # Clears a date's maintenance bookkeeping, so the nightly job runs again on that (wall-clock) date.
    forget_maintenance: Callable[[date], None]
    # Makes the server see the simulated time on a question (session id, question id, seconds); see store.took.
    took: Callable[[str, int, float], None] = lambda session_id, question_id, seconds: None
    stop: threading.Event = field(default_factory=threading.Event)

    def _session(self, learner: int, day: int, number: int, progress: ProgressBar) -> LearnerDay:
        token, group, rng = self.tokens[learner], self.groups[learner], self.rngs[learner]
        now = simulated_day_start(self.first_date, day) + timedelta(
            hours=FIRST_SESSION_HOUR + HOURS_BETWEEN_SESSIONS * number, minutes=float(rng.uniform(0.0, 60.0)))
        session_id = str(self.client.start_session(token, target_questions=self.questions_per_session,
                                                         subject_id=self.subject_id)["session_id"])
        events: list[AnswerEvent] = []
        practice: list[Practice] = []
        for n in range(self.questions_per_session):
            if self.stop.is_set():
                raise DemoStoppedError("stopped")
            served = self.client.next_question(token, session_id=session_id, strategy=group)
            if served["status"] != "served":
                break
            question_id = int(served["question"]["id"])
            question = self.world.simulated.get(question_id)
            if question is None:
                raise RuntimeError(f"question {question_id} was served but is not in the demo's bank")
            answer = self.cohort.answer(learner=learner, question=question, now=now, rng=rng)
            after = self.cohort.learner(learner).theta
            self.took(session_id, question_id, answer.time_spent_seconds)
            graded = self.client.submit_answer(
                token, session_id=session_id, question_id=question_id,
                user_answer=answer_for(self.world.questions[question_id], correct=answer.is_correct, rng=rng),
                confidence=answer.confidence, time_spent_seconds=answer.time_spent_seconds,
                idempotency_key=f"demo-{self.run_tag}-{learner}-{day}-{number}-{n}")
            events.append(AnswerEvent(learner, group, day, question_id,
                                      float(served["reason"]["predicted_p_correct"]), answer.p_correct,
                                      answer.is_correct, bool(graded["is_correct"]),
                                      float(served["reason"].get("sampled_p_correct") or float("nan")),
                                      len(question.skills)))
            practice.extend(Practice(learner, skill, float(after[skill])) for skill in question.skills)
            now += timedelta(seconds=answer.time_spent_seconds + SECONDS_BETWEEN_ANSWERS)
            progress.advance()
        snapshot = self.client.complete_session(token, session_id=session_id)["snapshot"]
        record = SessionRecord(learner, day, len(events), float(snapshot["avg_mastery"]),
                               snapshot.get("predicted_score"), snapshot.get("predicted_score_low"),
                               snapshot.get("predicted_score_high"), snapshot.get("pass_probability"))
        return LearnerDay(tuple(events), tuple(practice), (record,))

    def _learner_day(self, learner: int, day: int, progress: ProgressBar) -> LearnerDay:
        parts = [self._session(learner, day, number, progress) for number in range(int(self.schedule[learner, day]))]
        return LearnerDay(tuple(e for p in parts for e in p.events), tuple(x for p in parts for x in p.practice),
                          tuple(s for p in parts for s in p.sessions))

    def _backend_matrix(self, rows: list[MasteryRow]) -> np.ndarray:
        index = {user: i for i, user in enumerate(self.users)}
        return skill_matrix(((index[r.user_id], r.skill_id, r.effective_mastery) for r in rows),
                            n_learners=len(self.users), world=self.world, default=UNPRACTISED_MASTERY)

    def _day(self, pool: ThreadPoolExecutor, day: int, progress: ProgressBar) -> list[LearnerDay]:
        futures: list[Future[LearnerDay]] = [
            pool.submit(self._learner_day, learner, day, progress)
            for learner in range(len(self.users)) if self.schedule[learner, day] > 0]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None:
                raise error
        return [future.result() for future in futures]  # in learner order: deterministic logs

    def run(self, *, workers: int, progress: ProgressBar) -> CohortRun:
        initial = self.cohort.abilities(now=simulated_day_start(self.first_date, 0))
        parts: list[LearnerDay] = []
        days: list[DayState] = []
        rows: list[MasteryRow] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-learner") as pool:
            try:
                for day in range(self.schedule.shape[1]):
                    progress.start_day(day + 1)
                    parts.extend(self._day(pool, day, progress))
                    rows = self.read_mastery(self.users)
                    # The backend saw this simulated day's answers today (wall clock), and a run date may not be
                    # in the future: every simulated night is a run for today, after clearing its bookkeeping
                    # (otherwise the second one would be skipped as already done).
                    run_date = datetime.now(UTC).date()
                    self.forget_maintenance(run_date)
                    maintenance = self.client.run_maintenance(run_date=run_date, steps=MAINTENANCE_STEPS)
                    end_of_day = simulated_day_start(self.first_date, day + 1)
                    days.append(DayState(day, run_date, self._backend_matrix(rows),
                                         self.cohort.abilities(now=end_of_day), maintenance))
                    progress.end_day()
            except BaseException:
                self.stop.set()  # workers still running stop before their next call
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            finally:
                progress.close()
        return CohortRun(
            groups=self.groups, initial_theta=initial,
            events=tuple(e for p in parts for e in p.events), practice=tuple(x for p in parts for x in p.practice),
            sessions=tuple(s for p in parts for s in p.sessions), days=tuple(days), final_rows=tuple(rows))


def maintenance_totals(days: tuple[DayState, ...]) -> dict[str, Any]:
    """Summed counts of the steps that ran (not skipped) over the run's maintenance calls."""
    totals: dict[str, dict[str, int]] = {}
    for state in days:
        for step in state.maintenance.get("steps", []):
            if step.get("status") != "done":
                continue
            bucket = totals.setdefault(str(step["step"]), {"runs": 0})
            bucket["runs"] += 1
            for key, value in (step.get("counts") or {}).items():
                bucket[key] = bucket.get(key, 0) + int(value)
    return totals
