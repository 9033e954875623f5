"""Anonymous learners end to end (README, "Anonymous users"): tokens shaped as Supabase Auth issues them for
an anonymous sign-in (role authenticated, is_anonymous true, aal, amr, session_id), auth.users rows written
as Supabase Auth writes them, the real functions and the gateway. They practise; question difficulty, the
cohort statistics and the refits' input stay exactly as if they had not answered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from smartpractice.db.repository import ServiceStore
from supalocal.keys import anon_key, learner_jwt, service_role_key
from tests.integration.conftest import Learner, LiveStack

pytestmark = pytest.mark.stack

WRONG = ["definitely-wrong"]
Snapshot = list[tuple[Any, ...]]


@pytest.fixture()
def make_anonymous_learner(live_stack: LiveStack) -> Iterator[Callable[[], Learner]]:
    """auth.users rows as signInAnonymously() leaves them (no email, is_anonymous), deleted afterwards."""
    created: list[uuid.UUID] = []

    def make() -> Learner:
        user_id = uuid.uuid4()
        with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
            conn.execute("""insert into auth.users (id, aud, role, raw_app_meta_data, raw_user_meta_data,
                                                    created_at, updated_at, is_anonymous)
                            values (%s, 'authenticated', 'authenticated', '{}', '{}', now(), now(), true)""",
                         (user_id,))
        created.append(user_id)
        return Learner(user_id=user_id,
                       token=learner_jwt(user_id, secret=live_stack.settings.jwt_secret, anonymous=True))

    yield make
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        conn.execute("delete from auth.users where id = any(%s)", (created,))


def _rows(stack: LiveStack, sql: str, *args: object) -> Snapshot:
    with psycopg.connect(stack.settings.dsn()) as conn:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]


def _shared_difficulty(stack: LiveStack) -> Snapshot:
    return _rows(stack, """select qs.question_id, qs.skill_id, qs.elo_difficulty, qs.attempts, p.times_seen
                           from question_skills qs left join question_difficulty_params p using (question_id)
                           order by 1, 2""")


def _practise_wrong(stack: LiveStack, learner: Learner, skill_id: int, answers: int = 1) -> list[int]:
    """A session on one skill with `answers` wrong answers through the functions; the questions answered."""
    started = stack.call("start_session", token=learner.token, json={"mode": "adaptive", "skill_ids": [skill_id]})
    assert started.status_code == 201, started.text
    session_id = started.json()["session_id"]
    answered = []
    for _ in range(answers):
        served = stack.call("next_question", token=learner.token, json={"session_id": session_id})
        assert served.status_code == 200 and served.json()["status"] == "served", served.text
        question_id = served.json()["question"]["id"]
        submitted = stack.call("submit_answer", token=learner.token, json={
            "session_id": session_id, "question_id": question_id, "user_answer": WRONG,
            "time_spent_seconds": 30.0, "idempotency_key": f"anon-{uuid.uuid4()}"})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["is_correct"] is False
        answered.append(question_id)
    return answered


def _unpractised_skill(stack: LiveStack) -> int:
    rows = _rows(stack, """select s.id from skills s where not exists (select 1 from user_skill_mastery m
                           where m.skill_id = s.id) order by s.id limit 1""")
    assert rows, "every skill has been practised: the cohort counts below would not be exact"
    return int(rows[0][0])


def _rest_cohort(stack: LiveStack, token: str, skill_id: int | None) -> list[dict[str, Any]]:
    """The learner's own REST read (supabase-js: apikey = the anon key, Authorization = the session token)."""
    response = stack.http.post(f"{stack.url}/rest/v1/rpc/cohort_mastery_distribution",
                               json={"p_skill_id": skill_id},
                               headers={"apikey": anon_key(stack.settings.jwt_secret),
                                        "Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_an_anonymous_learner_practises_without_moving_question_difficulty(
        live_stack: LiveStack, make_anonymous_learner: Callable[[], Learner],
        make_learner: Callable[[], Learner], monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[uuid.UUID, list[dict[str, Any]]]] = []
    record_answer = ServiceStore.record_answer

    def spy(self: ServiceStore, **kwargs: Any) -> Any:
        sent.append((kwargs["user_id"], kwargs["difficulty_deltas"]))
        return record_answer(self, **kwargs)

    monkeypatch.setattr(ServiceStore, "record_answer", spy)
    anonymous = make_anonymous_learner()
    skill = _unpractised_skill(live_stack)
    before = _shared_difficulty(live_stack)

    answered = _practise_wrong(live_stack, anonymous, skill, answers=4)

    assert _shared_difficulty(live_stack) == before  # difficulty, attempts and exposure: not one bit moved
    assert [deltas for _, deltas in sent] == [[], [], [], []]  # the function sends none either
    mastery = _rows(live_stack, "select skill_id, total_attempts from user_skill_mastery where user_id = %s",
                    anonymous.user_id)
    assert (skill, 4) in mastery  # their own knowledge state follows every answer
    done = live_stack.call("complete_session", token=anonymous.token,
                           json={"session_id": str(_rows(live_stack, "select id from practice_sessions where "
                                                         "user_id = %s", anonymous.user_id)[0][0])})
    assert done.status_code == 200 and done.json()["snapshot"]["total_answered"] == 4
    insights = live_stack.call("insights", token=anonymous.token, json={"days": 30})
    assert insights.status_code == 200, insights.text
    assert {m["skill_id"] for m in insights.json()["mastery"]} == {s for s, _ in mastery}

    # The control: the same wrong answers by a permanent learner move exactly the rows they touch.
    permanent = make_learner()
    control = _practise_wrong(live_stack, permanent, skill, answers=len(answered))
    after = {(r[0], r[1]): r for r in _shared_difficulty(live_stack)}
    touched = {key for key, row in after.items() if row != {(r[0], r[1]): r for r in before}[key]}
    tagged = set(_rows(live_stack, "select question_id, skill_id from question_skills where question_id = any(%s)",
                       control))
    assert touched == tagged
    by_key = {(r[0], r[1]): r for r in before}
    for key in touched:  # a wrong answer makes a question harder (positive delta), counted once per answer
        assert after[key][2] > by_key[key][2]
        assert after[key][3] == by_key[key][3] + control.count(key[0])
    assert all(deltas for user, deltas in sent if user == permanent.user_id)


def test_anonymous_learners_count_in_no_cohort_and_no_refit(
        live_stack: LiveStack, make_anonymous_learner: Callable[[], Learner],
        make_learner: Callable[[], Learner]) -> None:
    started_at = datetime.now(UTC) - timedelta(seconds=1)
    with psycopg.connect(live_stack.settings.dsn(), autocommit=True) as conn:
        conn.execute("delete from private.cohort_mastery_stats where true")  # no release yet (restored after)
        conn.execute("delete from private.cohort_release_seeds where true")
    skill = _unpractised_skill(live_stack)
    anonymous = [make_anonymous_learner() for _ in range(4)]
    permanent = [make_learner() for _ in range(10)]
    for learner in [*anonymous, *permanent[:9]]:
        _practise_wrong(live_stack, learner, skill)

    def released_count() -> int:  # the true count the nightly release gates on (k = 50), never served
        rows = _rows(live_stack, "select learners from private.cohort_bin_counts() where skill_id = %s", skill)
        return int(rows[0][0]) if rows else 0

    # 9 permanent + 4 anonymous learners: the release counts the 9 only.
    assert released_count() == 9
    _practise_wrong(live_stack, permanent[9], skill)
    assert released_count() == 10
    # Learners read only the nightly release: none yet, so nothing, with the reason.
    cohort = _rest_cohort(live_stack, anonymous[0].token, skill)
    assert [(row["learners"], row["p50"], row["withheld_reason"]) for row in cohort] == \
        [(None, None, "not_yet_released")]
    overall = live_stack.call("insights", token=anonymous[0].token, json={"days": 30})
    assert overall.status_code == 200, overall.text
    assert overall.json()["peer_percentile"] == {"percentile": None, "cohort_size": 0, "k_anonymous": False,
                                                 "released_on": None, "withheld_reason": "not_yet_released"}

    # The nightly release (service role through the gateway): 10 permanent learners stay below k = 50.
    service = service_role_key(live_stack.settings.jwt_secret)
    refreshed = live_stack.http.post(f"{live_stack.url}/rest/v1/rpc/refresh_cohort_stats",
                                     json={"p_release_date": started_at.date().isoformat()},
                                     headers={"apikey": service, "Authorization": f"Bearer {service}"})
    assert refreshed.status_code == 200, refreshed.text
    assert [(row["learners"], row["withheld_reason"]) for row in _rest_cohort(live_stack, permanent[0].token, skill)] \
        == [(None, "cohort_below_k")]

    # The refits' input: every permanent learner's answer, no anonymous one.
    page = live_stack.http.post(f"{live_stack.url}/rest/v1/rpc/attempt_log_page", json={
        "p_from": started_at.isoformat(), "p_to": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()},
        headers={"apikey": service, "Authorization": f"Bearer {service}"})
    assert page.status_code == 200, page.text
    users = [uuid.UUID(u) for u in page.json()["user_ids"]]
    answers_by_user = [users[i] for i in page.json()["learner"]]
    assert {learner.user_id for learner in anonymous}.isdisjoint(users)
    assert sorted(str(u) for u in answers_by_user if u in {p.user_id for p in permanent}) == \
        sorted(str(p.user_id) for p in permanent)
