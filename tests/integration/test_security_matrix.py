"""Cross-user matrix: every table, view and RPC of `public` × verb × identity, through the gateway with the
official supabase client, checked with the superuser connection (fingerprints of the rows before/after).

Identities: the anon key alone; learner A acting on learner B's rows; A's id in a token that claims
`service_role` but is signed with the wrong secret; A's id correctly signed as `authenticated` with extra
admin-looking claims; and the service role as the control (its writes sent with `Prefer: tx=rollback`, so
they prove the targets are reachable without changing anything). Then the same through the functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from postgrest.exceptions import APIError
from supabase import Client, create_client
from supabase.lib.client_options import SyncClientOptions

from supalocal.keys import anon_key, mint_jwt, service_role_key
from supalocal.settings import StackSettings
from tests import figures
from tests.integration import security_targets as targets
from tests.integration.conftest import LiveStack
from tests.integration.security_targets import Cast, Tally

pytestmark = pytest.mark.stack

WRONG_SECRET = "not-the-project-secret-but-long-enough-for-hs256-0123456789"
ELEVATED_CLAIMS = {"is_admin": True, "user_role": "service_role", "app_metadata": {
    "provider": "email", "role": "service_role", "roles": ["admin"], "is_admin": True, "claims_admin": True},
    "user_metadata": {"role": "admin"}}
IDENTITIES = ("anon", "learner_a", "forged_service_role", "learner_a_elevated_claims", "service_role")
VERBS = ("select", "insert", "update", "delete")
CASES = [(name, verb) for name in targets.RELATIONS for verb in VERBS] + [(name, "rpc") for name in targets.RPCS]
# The service role's own limits: append-only history and a read-only view refuse it too.
SERVICE_REFUSED = {("mastery_history", "insert"), ("mastery_history", "update"), ("mastery_history", "delete"),
                   ("learning_events", "update"), ("learning_events", "delete")}


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    counts = Tally()
    yield counts
    notes = {"service_role": "control: writes rolled back; succeeded = responses carrying B's rows",
             "functions": "A (and A with admin-looking claims) sending B's ids; insights; maintenance",
             "functions:control": "B sending the same ids"}
    for key in counts.tried:
        figures.record(check=f"cross-user matrix ({key})", tried=counts.tried[key],
                       succeeded=counts.succeeded[key], server_errors=counts.server_errors[key],
                       note=notes.get(key, "every public table/view × verb + RPC, aimed at B; 5xx: writes to the "
                                           "non-updatable view (Postgres 55000, 500 as in PostgREST)"))


@pytest.fixture(scope="module")
def cast(live_stack: LiveStack, db: psycopg.Connection) -> Iterator[Cast]:
    users = [uuid.uuid4() for _ in range(3)]
    try:
        yield targets.arrange_cast(live_stack, db, users)
    finally:
        db.execute("delete from maintenance_runs where run_date = '2001-01-03' and step = 'security_matrix'")
        db.execute("delete from function_request_stats where function_name = 'security_matrix'")
        for user in users:
            db.execute("delete from auth.users where id = %s", (user,))


@pytest.fixture(scope="module")
def db(stack_settings: StackSettings) -> Iterator[psycopg.Connection]:
    """One superuser connection for the whole matrix (a connection per case would double its runtime)."""
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def key_texts(db: psycopg.Connection, cast: Cast) -> frozenset[str]:
    """Explanations A has never been shown: strings no response to A may carry (A's own stored answers
    include the explanation shown after answering; explanations are shared by templated questions)."""
    rows = db.execute("""select distinct k.explanation from question_answer_keys k
                         where k.explanation is not null and k.explanation not in (
                           select seen.explanation from question_answer_keys seen
                           join session_questions sq on sq.question_id = seen.question_id
                           where sq.user_id = %s and sq.answered_at is not null)""", (cast.a,)).fetchall()
    assert len(rows) >= 50  # templated explanations repeat across questions: ~180 distinct in the seed
    return frozenset(str(r[0]) for r in rows)


def _strings(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = list(value.values())
    return set().union(*map(_strings, value)) if isinstance(value, list) else set()


@pytest.fixture(scope="module")
def clients(live_stack: LiveStack, cast: Cast) -> dict[str, Client]:
    return {identity: _client(live_stack, _token(identity, cast, live_stack.settings.jwt_secret))
            for identity in IDENTITIES}


@pytest.fixture(scope="module")
def responses(live_stack: LiveStack) -> Iterator[list[httpx.Response]]:
    """Every raw response the shared client receives while this module runs (the client hides statuses)."""
    seen: list[httpx.Response] = []
    hooks = live_stack.http.event_hooks
    live_stack.http.event_hooks = {**hooks, "response": [*hooks.get("response", []), seen.append]}
    yield seen
    live_stack.http.event_hooks = hooks


def _token(identity: str, cast: Cast, secret: str) -> str:
    return {
        "anon": anon_key(secret),
        "learner_a": cast.a_token,
        "forged_service_role": jwt.encode({"role": "service_role", "sub": str(cast.a), "aud": "authenticated",
                                           "exp": 4_000_000_000}, WRONG_SECRET, algorithm="HS256"),
        "learner_a_elevated_claims": mint_jwt(role="authenticated", sub=str(cast.a), secret=secret,
                                              extra=ELEVATED_CLAIMS),
        "service_role": service_role_key(secret),
    }[identity]


def _client(stack: LiveStack, token: str) -> Client:
    return create_client(stack.url, anon_key(stack.settings.jwt_secret),
                         SyncClientOptions(headers={"Authorization": f"Bearer {token}"}, httpx_client=stack.http))


@dataclass(frozen=True)
class Expected:
    status: int
    code: str | None = None  # PostgREST / Postgres error code
    rows: int | None = None  # rows returned (None: not checked)
    reach_only: bool = False  # the control got past every privilege check (any outcome but a refusal or 5xx)


REFUSALS = ("42501", "PGRST202", "PGRST203", "PGRST301", "PGRST303")
# Called with B's session / idempotency key, the context reads answer as if B's rows did not exist
# (B's stored answer responses carry no marker of B, so these are checked by shape).
LEARNER_RPC_SEES_NOTHING_OF_B: dict[str, Callable[[Any], bool]] = {
    "answer_context": lambda d: d["earlier"] is None and d["session"] is None,
    "next_question_context": lambda d: d["session"] is None,
    "session_summary_context": lambda d: d["answers"] == [],
}


def _count(conn: psycopg.Connection, query: str, *args: object) -> int:
    row = conn.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


def _expected(identity: str, name: str, verb: str, cast: Cast, conn: psycopg.Connection,
              max_rows: int | None) -> Expected:
    """The answer due. A read returns at most the gateway's db-max-rows rows, as on hosted."""

    def rows(query: str) -> int:
        count = _count(conn, query)
        return count if max_rows is None else min(count, max_rows)

    learner_table = name in targets.LEARNER_TABLES
    if identity == "forged_service_role":
        return Expected(401, "PGRST301")
    if name in targets.VIEWS and verb in ("insert", "update", "delete"):
        # GROUP BY makes the view not updatable; Postgres' rewriter says so before any privilege check,
        # and PostgREST maps 55000 to 500. Refused for everyone all the same.
        return Expected(500, "55000")
    if identity == "anon":
        return Expected(401, "42501")  # anon holds no grant at all: PostgREST answers 401
    if identity == "service_role":
        if (name, verb) in SERVICE_REFUSED:
            return Expected(403, "42501")
        if verb == "delete":  # deleted, or stopped by the rows referencing it / history it would cascade into
            return Expected(200, reach_only=True)
        if verb == "insert" and name in targets.NO_FRESH_KEY:
            return Expected(409, "23505")
        if verb == "select":
            where = f"where user_id in ('{cast.a}', '{cast.b}')" if learner_table else ""
            return Expected(200, rows=rows(f"select count(*) from public.{name} {where}"))
        if verb == "rpc":  # run with B's ids and rolled back: it reached the body (some refuse empty input)
            return Expected(200, reach_only=True)
        return Expected(201 if verb == "insert" else 200, rows=1)
    # learner A, with or without elevated-looking claims
    if verb == "rpc":
        return Expected(200) if name in targets.LEARNER_RPCS else Expected(403, "42501")
    if verb == "select" and name not in targets.SERVICE_ONLY_TABLES:
        where = f"where user_id = '{cast.a}'" if learner_table else ""
        return Expected(200, rows=rows(f"select count(*) from public.{name} {where}"))
    return Expected(403, "42501")


def _attempt(client: Client, name: str, verb: str, identity: str, cast: Cast,
             conn: psycopg.Connection) -> tuple[Any, APIError | None]:
    learner_table = name in targets.LEARNER_TABLES
    row = targets.target_row(conn, name, cast) if verb in ("update", "delete") else {}
    if verb == "rpc":
        query: Any = client.rpc(name, targets.rpc_args(conn, name, cast))
    elif verb == "select":
        query = client.table(name).select("*")
        if learner_table:
            query = query.in_("user_id", [str(cast.a), str(cast.b)])
    elif verb == "insert":
        query = client.table(name).insert(targets.insert_payload(conn, name, cast))
    else:
        if verb == "update":
            if learner_table:  # the attack re-assigns B's row to A; the control re-writes B's own id
                change = {"user_id": str(cast.b if identity == "service_role" else cast.a)}
            else:
                keys = targets.primary_key(conn, name)
                column = next((c for c in row if c not in keys), keys[0])  # a key-only table: its own key
                change = {column: row[column]}
            query = client.table(name).update(change)
        else:
            query = client.table(name).delete()
        for column, value in targets.key_filter(conn, name, row).items():
            query = query.eq(column, value)
    if identity == "service_role" and verb != "select":
        prefer = query.request.headers.get("Prefer")
        query.request.headers["Prefer"] = f"{prefer},tx=rollback" if prefer else "tx=rollback"
    try:
        return query.execute().data, None
    except APIError as error:
        return None, error


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(("name", "verb"), CASES)
def test_cross_user_matrix(name: str, verb: str, identity: str, cast: Cast, clients: dict[str, Client],
                           db: psycopg.Connection, responses: list[httpx.Response], key_texts: frozenset[str],
                           tally: Tally, live_stack: LiveStack) -> None:
    tables = [t for t in targets.RELATIONS if t not in targets.VIEWS]
    people = (cast.a, cast.b, cast.c)
    expected = _expected(identity, name, verb, cast, db, live_stack.settings.max_rows)
    before = targets.fingerprint(db, tables, people)
    data, error = _attempt(clients[identity], name, verb, identity, cast, db)
    status = responses[-1].status_code
    changed = {t: v for t, v in targets.fingerprint(db, tables, people).items() if before[t] != v}
    leaked = cast.leaked(data) if data is not None else []
    if identity != "service_role" and _strings(data) & key_texts:
        leaked.append("answer keys")
    if identity == "service_role":
        tally.add(identity, succeeded=bool(leaked), status=status)  # the control: reaching B is the point
    else:  # an attack succeeds if it got B's data, changed anything, or got through where a refusal was due
        tally.add(identity, succeeded=bool(leaked or changed) or (expected.status >= 400 and status < 300),
                  status=status)

    assert changed == {}, f"{identity} {verb} {name} changed rows of {sorted(changed)}"
    if expected.reach_only:
        assert status < 500 and (error is None or error.code not in REFUSALS), (status, error)
    else:
        assert (status, error.code if error else None) == (expected.status, expected.code), (error, data)
    if expected.rows is not None:
        assert isinstance(data, list) and len(data) == expected.rows
    if identity != "service_role":
        assert leaked == [], f"{identity} {verb} {name} returned B's data / answer keys"
        if name in LEARNER_RPC_SEES_NOTHING_OF_B and status == 200:
            assert LEARNER_RPC_SEES_NOTHING_OF_B[name](data), data
    elif verb == "select" and name in targets.LEARNER_TABLES:
        assert str(cast.b) in leaked  # the control reaches B's rows: the leak detector is live
    elif verb == "select" and name == "question_answer_keys":
        assert _strings(data) & key_texts  # ... and so is the answer-key detector
    if error and expected.code == "42501" and verb in ("insert", "update", "delete") and identity != "anon":
        # refused for want of a grant (so no policy could let an own-row forgery through either)
        assert error.message == f"permission denied for {'view' if name in targets.VIEWS else 'table'} {name}"


def test_every_public_object_is_classified(db: psycopg.Connection) -> None:
    """A table, view or function added to public fails here until it is classified in security_targets."""
    relations, functions = targets.discover_public_objects(db)
    assert sorted(relations) == sorted(targets.RELATIONS + targets.LEARNER_WRITABLE_TABLES)
    assert sorted(n for n, kind in relations.items() if kind in ("v", "m")) == sorted(targets.VIEWS)
    assert sorted(functions) == sorted(targets.RPCS)


# --- the same through the functions: learner A (and A with elevated claims) sending B's ids -----------------

FUNCTION_IDENTITIES = ("learner_a", "learner_a_elevated_claims", "anon", "service_role", "forged_service_role")


def _answered_question(conn: psycopg.Connection, key: str) -> int:
    return _count(conn, "select question_id from session_questions where idempotency_key = %s", key)


def _stored_request(conn: psycopg.Connection, key: str) -> dict[str, Any]:
    row = conn.execute("select request from session_questions where idempotency_key = %s", (key,)).fetchone()
    assert row is not None and row[0] is not None
    return {k: v for k, v in row[0].items() if k in ("session_id", "question_id", "user_answer", "confidence_score",
                                                      "time_spent_seconds", "hint_used", "solution_viewed")}


def _function_attack(attack: str, cast: Cast, conn: psycopg.Connection) -> tuple[str, dict[str, Any], int, str]:
    """(endpoint, body, status, error code) for learner A; every other identity is refused with 401."""
    served = {"question_id": cast.b_served_question, "user_answer": targets.answer_key(conn, cast.b_served_question),
              "confidence_score": 5, "time_spent_seconds": 3.0}
    replay = {"question_id": _answered_question(conn, cast.b_idempotency_keys[0]), "user_answer": ["A"],
              "time_spent_seconds": 3.0, "idempotency_key": cast.b_idempotency_keys[0]}
    attacks: dict[str, tuple[str, dict[str, Any], int, str]] = {
        "next_question on B's active session": (
            "next_question", {"session_id": str(cast.b_active_session)}, 404, "session_not_found"),
        "submit_answer to B's served question": (
            "submit_answer", {"session_id": str(cast.b_active_session), **served,
                              "idempotency_key": f"sec-{uuid.uuid4()}"}, 404, "session_not_found"),
        "submit_answer replaying B's idempotency key in B's session": (
            "submit_answer", {"session_id": str(cast.b_completed_session), **replay}, 404, "session_not_found"),
        "submit_answer replaying B's idempotency key in A's session": (
            "submit_answer", {"session_id": str(cast.a_completed_session), **replay}, 409, "session_not_active"),
        "complete_session on B's active session": (
            "complete_session", {"session_id": str(cast.b_active_session)}, 404, "session_not_found"),
        "complete_session on B's completed session": (
            "complete_session", {"session_id": str(cast.b_completed_session)}, 404, "session_not_found"),
        "start_session naming B in the body": (
            "start_session", {"user_id": str(cast.b), "p_user_id": str(cast.b)}, 400, "validation_failed"),
        "insights naming B in the body": (
            "insights", {"days": 30, "user_id": str(cast.b)}, 400, "validation_failed"),
        "run_maintenance with a learner's token": (
            "run_maintenance", {"run_date": "2001-01-07", "steps": ["partitions"]}, 403, "service_role_required"),
    }
    return attacks[attack]


FUNCTION_ATTACKS = (
    "next_question on B's active session", "submit_answer to B's served question",
    "submit_answer replaying B's idempotency key in B's session",
    "submit_answer replaying B's idempotency key in A's session", "complete_session on B's active session",
    "complete_session on B's completed session", "start_session naming B in the body",
    "insights naming B in the body", "run_maintenance with a learner's token",
)
# The service key may run maintenance: that pair is the maintenance suite's business, not an attack.
FUNCTION_CASES = [(attack, identity) for attack in FUNCTION_ATTACKS for identity in FUNCTION_IDENTITIES
                  if (attack, identity) != ("run_maintenance with a learner's token", "service_role")]


@pytest.mark.parametrize(("attack", "identity"), FUNCTION_CASES)
def test_functions_refuse_another_learners_ids(attack: str, identity: str, cast: Cast, live_stack: LiveStack,
                                               db: psycopg.Connection, tally: Tally) -> None:
    tables = [t for t in targets.RELATIONS if t not in targets.VIEWS]
    endpoint, body, status, code = _function_attack(attack, cast, db)
    if endpoint == "run_maintenance":  # a valid token of anyone but the service role: 403
        status, code = (401, "invalid_signature") if identity == "forged_service_role" else (status, code)
    elif not identity.startswith("learner_a"):
        status, code = 401, {"anon": "invalid_role", "service_role": "service_role_not_allowed",
                             "forged_service_role": "invalid_signature"}[identity]
    before = targets.fingerprint(db, tables, (cast.a, cast.b, cast.c))
    response = live_stack.call(endpoint, token=_token(identity, cast, live_stack.settings.jwt_secret), json=body)
    changed = {t: v for t, v in targets.fingerprint(db, tables, (cast.a, cast.b, cast.c)).items() if before[t] != v}
    tally.add("functions", succeeded=bool(changed) or response.status_code < 300, status=response.status_code)

    assert changed == {}, f"{attack} changed {sorted(changed)}"
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert str(cast.b) not in response.text  # errors name the offending fields, never echo B's id


def test_insights_return_only_the_callers_data(cast: Cast, live_stack: LiveStack, db: psycopg.Connection,
                                               tally: Tally) -> None:
    own_skills = {int(r[0]) for r in db.execute("select skill_id from user_skill_mastery where user_id = %s",
                                                 (cast.a,)).fetchall()}
    own_sessions = _count(db, "select count(*) from practice_sessions where user_id = %s", cast.a)
    for identity in ("learner_a", "learner_a_elevated_claims"):
        response = live_stack.call("insights", token=_token(identity, cast, live_stack.settings.jwt_secret),
                                   method="GET", params={"days": "365"})
        body = response.json()
        leaked = cast.leaked(body)
        gaps = {g["skill_id"] for g in body["knowledge_gaps"]}
        tally.add("functions", succeeded=bool(leaked), status=response.status_code)
        assert response.status_code == 200, response.text
        assert leaked == []
        assert {m["skill_id"] for m in body["mastery"]} == own_skills
        assert body["study_patterns"]["sessions"] == own_sessions
        assert gaps <= own_skills and cast.b_gap_skill not in gaps


def test_b_reaches_the_same_targets(cast: Cast, live_stack: LiveStack, db: psycopg.Connection,
                                    tally: Tally) -> None:
    """Control: with B's own token the ids A sent are valid, so A's 404s come from ownership, not typos."""
    key = cast.b_idempotency_keys[0]
    calls = [("complete_session", {"session_id": str(cast.b_completed_session)}),
             # a replay carries the first request's body (another body under the key is refused: 409)
             ("submit_answer", {**_stored_request(db, key), "idempotency_key": key}),
             ("next_question", {"session_id": str(cast.b_active_session)})]
    statuses = []
    for endpoint, body in calls:
        response = live_stack.call(endpoint, token=cast.b_token, json=body)
        statuses.append(response.status_code)
        tally.add("functions:control", succeeded=response.status_code == 200, status=response.status_code)
    assert statuses == [200, 200, 200]
