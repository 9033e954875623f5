"""JWT matrix: every class of bad token × every function endpoint and the gateway's /rest/v1 (a table read and
an RPC), each its own test id. All carry learner V's id; V has real rows, which must not change.

The functions verify tokens themselves (signature, exp/nbf/iat, aud, role, sub): everything here is 401 for
them — except run_maintenance, which answers a correctly signed token of someone other than the service role
with 403 (authenticated, not allowed). The gateway follows PostgREST: it refuses bad signatures, algorithms
and time claims with 401, but (like PostgREST without `jwt-aud`) it does not check `aud`, `sub` or the
presence of `exp`; such tokens are signed with the project secret, run as `authenticated`, and RLS limits
them to the subject's rows (none without a subject).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from postgrest.exceptions import APIError
from supabase import create_client
from supabase.lib.client_options import SyncClientOptions

from supalocal.keys import anon_key, learner_jwt
from supalocal.settings import StackSettings
from tests import figures
from tests.integration import security_targets as targets
from tests.integration.conftest import LiveStack

pytestmark = pytest.mark.stack

WRONG_SECRET = "not-the-project-secret-but-long-enough-for-hs256-0123456789"
ENDPOINTS = ("start_session", "next_question", "submit_answer", "complete_session", "insights", "run_maintenance",
             "rest:table", "rest:rpc")
ACCEPTED = None  # the gateway runs the request (as authenticated): PostgREST does not check this claim


@dataclass(frozen=True)
class BadToken:
    function_code: str  # the functions' 401 error code
    gateway_code: str | None  # PostgREST's 401 code, or ACCEPTED
    signed_ok: bool = False  # correctly signed: run_maintenance answers 403 (not the service role)


CASES: dict[str, BadToken] = {
    "empty bearer": BadToken("malformed_authorization_header", "PGRST301"),
    "not three parts": BadToken("malformed_token", "PGRST301"),
    "bad base64 payload": BadToken("malformed_token", "PGRST301"),
    "alg none": BadToken("unsupported_algorithm", "PGRST301"),
    "wrong secret": BadToken("invalid_signature", "PGRST301"),
    "forged service_role (wrong secret)": BadToken("invalid_signature", "PGRST301"),
    "expired": BadToken("token_expired", "PGRST303"),
    "nbf in the future": BadToken("token_not_yet_valid", "PGRST303"),
    "iat in the future": BadToken("token_not_yet_valid", "PGRST303"),
    "unknown role": BadToken("invalid_role", "PGRST303", signed_ok=True),
    "wrong audience": BadToken("invalid_audience", "PGRST303", signed_ok=True),
    "missing sub": BadToken("missing_claim", ACCEPTED, signed_ok=True),
    "no exp": BadToken("missing_claim", ACCEPTED),
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


HS256_HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')


def _authorization(case: str, secret: str, victim: uuid.UUID) -> str:
    now = int(time.time())
    learner: dict[str, Any] = {"sub": str(victim), "role": "authenticated", "aud": "authenticated",
                               "iat": now, "exp": now + 600}

    def signed(claims: dict[str, Any], key: str = secret) -> str:
        return "Bearer " + jwt.encode(claims, key, algorithm="HS256")

    tokens: dict[str, Callable[[], str]] = {
        "empty bearer": lambda: "Bearer",  # "Bearer " on the wire: HTTP strips the trailing space
        "not three parts": lambda: "Bearer abc.def",
        "bad base64 payload": lambda: f"Bearer {HS256_HEADER}.e.{_b64(b'sig')}",  # "e": not base64 of anything
        "alg none": lambda: "Bearer " + jwt.encode(learner, "", algorithm="none"),
        "wrong secret": lambda: signed(learner, WRONG_SECRET),
        "forged service_role (wrong secret)": lambda: signed({**learner, "role": "service_role"}, WRONG_SECRET),
        "expired": lambda: signed({**learner, "iat": now - 7200, "exp": now - 3600}),
        "nbf in the future": lambda: signed({**learner, "nbf": now + 3600}),
        "iat in the future": lambda: signed({**learner, "iat": now + 3600, "exp": now + 7200}),
        "unknown role": lambda: signed({**learner, "role": "admin"}),
        "wrong audience": lambda: signed({**learner, "aud": "some-other-service"}),
        "missing sub": lambda: signed({k: v for k, v in learner.items() if k != "sub"}),
        "no exp": lambda: signed({k: v for k, v in learner.items() if k != "exp"}),
    }
    return tokens[case]()


@dataclass(frozen=True)
class Victim:
    user_id: uuid.UUID
    active_session: uuid.UUID
    served_question: int


@pytest.fixture(scope="module")
def db(stack_settings: StackSettings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(stack_settings.dsn(), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def victim(live_stack: LiveStack, db: psycopg.Connection) -> Iterator[Victim]:
    user_id = uuid.uuid4()
    db.execute("insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id}@jwt.test"))
    try:
        token = learner_jwt(user_id, secret=live_stack.settings.jwt_secret)
        targets.run_session(live_stack, db, token, answers=1, complete=True)
        session_id, _, pending = targets.run_session(live_stack, db, token, answers=0, complete=False)
        assert pending is not None
        yield Victim(user_id=user_id, active_session=session_id, served_question=pending)
    finally:
        db.execute("delete from auth.users where id = %s", (user_id,))


@pytest.fixture(scope="module")
def outcomes() -> Iterator[list[tuple[bool, int]]]:
    """(accepted where a 401/403 was due, status) per attempt, for the figures table."""
    seen: list[tuple[bool, int]] = []
    yield seen
    figures.record(check="JWT matrix (13 bad tokens × 6 functions + /rest/v1 table, rpc; 6 maintenance creds)",
                   tried=len(seen), succeeded=sum(bad for bad, _ in seen),
                   server_errors=sum(status >= 500 for _, status in seen),
                   note="missing sub / no exp run as authenticated on /rest/v1 (PostgREST rules; RLS: no rows)")


def _call_function(stack: LiveStack, endpoint: str, authorization: str, victim: Victim,
                   db: psycopg.Connection) -> httpx.Response:
    bodies: dict[str, Any] = {
        "start_session": {},
        "next_question": {"session_id": str(victim.active_session)},
        "submit_answer": {"session_id": str(victim.active_session), "question_id": victim.served_question,
                          "user_answer": targets.answer_key(db, victim.served_question), "time_spent_seconds": 3.0,
                          "idempotency_key": f"jwt-{uuid.uuid4()}"},
        "complete_session": {"session_id": str(victim.active_session)},
        "run_maintenance": {"run_date": "2001-01-06", "steps": ["partitions"]},
    }
    if endpoint == "insights":
        return stack.http.get(f"{stack.url}/functions/v1/insights", params={"days": "30"},
                              headers={"Authorization": authorization})
    return stack.http.post(f"{stack.url}/functions/v1/{endpoint}", json=bodies[endpoint],
                           headers={"Authorization": authorization})


def _call_gateway(stack: LiveStack, endpoint: str, authorization: str,
                  victim: Victim) -> tuple[int, str | None, list[Any] | None]:
    """(status, PostgREST error code, rows) of a table read or an RPC through the official client."""
    seen: list[httpx.Response] = []
    http = httpx.Client(timeout=30.0, event_hooks={"response": [seen.append]})
    client = create_client(stack.url, anon_key(stack.settings.jwt_secret),
                           SyncClientOptions(headers={"Authorization": authorization}, httpx_client=http))
    query: Any = client.table("practice_sessions").select("id,user_id").eq("user_id", str(victim.user_id)) \
        if endpoint == "rest:table" else client.rpc("next_question_context",
                                                     {"p_session_id": str(victim.active_session)})
    with http:
        try:
            data = query.execute().data
        except APIError as error:
            return seen[-1].status_code, error.code, None
    rows = data if isinstance(data, list) else [data]
    return seen[-1].status_code, None, rows


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", list(CASES))
def test_bad_token_is_refused(case: str, endpoint: str, live_stack: LiveStack, victim: Victim,
                              db: psycopg.Connection, outcomes: list[tuple[bool, int]]) -> None:
    expected = CASES[case]
    authorization = _authorization(case, live_stack.settings.jwt_secret, victim.user_id)
    tables = [t for t in targets.RELATIONS if t not in targets.VIEWS]
    before = targets.fingerprint(db, tables, [victim.user_id])
    if endpoint.startswith("rest:"):
        status, code, rows = _call_gateway(live_stack, endpoint, authorization, victim)
        refused = code is not None
        want = (200, None) if expected.gateway_code is ACCEPTED else (401, expected.gateway_code)
        should_refuse = expected.gateway_code is not ACCEPTED
    else:
        response = _call_function(live_stack, endpoint, authorization, victim, db)
        status, code, rows = response.status_code, response.json().get("error", {}).get("code"), None
        refused = status in (401, 403)
        should_refuse = True
        want = (403, "service_role_required") if endpoint == "run_maintenance" and expected.signed_ok \
            else (401, expected.function_code)
    changed = {t: v for t, v in targets.fingerprint(db, tables, [victim.user_id]).items() if before[t] != v}
    outcomes.append(((should_refuse and not refused) or bool(changed), status))

    assert changed == {}, f"{case} on {endpoint} changed {sorted(changed)}"
    assert (status, code) == want
    if case == "missing sub" and rows is not None:
        # accepted as authenticated without a subject: auth.uid() is null, so RLS shows nothing of V
        assert rows == [] if endpoint == "rest:table" else rows[0]["session"] is None
        assert str(victim.user_id) not in str(rows) and str(victim.active_session) not in str(rows)


MAINTENANCE_CREDENTIALS: dict[str, tuple[Callable[[str, uuid.UUID], dict[str, str]], int, str]] = {
    # name: (headers, status, code). A valid token of someone other than the service role is 403.
    "wrong maintenance token": (lambda s, v: {"X-Maintenance-Token": "x" * 40}, 401, "invalid_maintenance_token"),
    "maintenance token with a learner JWT": (
        lambda s, v: {"X-Maintenance-Token": "guess", "Authorization": f"Bearer {learner_jwt(v, secret=s)}"},
        401, "invalid_maintenance_token"),
    "learner JWT": (lambda s, v: {"Authorization": f"Bearer {learner_jwt(v, secret=s)}"},
                    403, "service_role_required"),
    "anon key": (lambda s, v: {"Authorization": f"Bearer {anon_key(s)}"}, 403, "service_role_required"),
    "learner JWT with admin claims": (lambda s, v: {"Authorization": "Bearer " + jwt.encode(
        {"sub": str(v), "role": "authenticated", "aud": "authenticated", "exp": int(time.time()) + 600,
         "app_metadata": {"role": "service_role"}, "is_admin": True}, s, algorithm="HS256")},
        403, "service_role_required"),
    "no credential": (lambda s, v: {}, 401, "missing_token"),
}


@pytest.mark.parametrize("credential", list(MAINTENANCE_CREDENTIALS))
def test_maintenance_refuses_everyone_but_the_scheduler(credential: str, live_stack: LiveStack, victim: Victim,
                                                        db: psycopg.Connection,
                                                        outcomes: list[tuple[bool, int]]) -> None:
    make_headers, status, code = MAINTENANCE_CREDENTIALS[credential]
    tables = [t for t in targets.RELATIONS if t not in targets.VIEWS]
    before = targets.fingerprint(db, tables, [victim.user_id])
    response = live_stack.http.post(f"{live_stack.url}/functions/v1/run_maintenance",
                                    json={"run_date": "2001-01-06", "steps": ["partitions"]},
                                    headers=make_headers(live_stack.settings.jwt_secret, victim.user_id))
    changed = {t: v for t, v in targets.fingerprint(db, tables, [victim.user_id]).items() if before[t] != v}
    outcomes.append((response.status_code < 400 or bool(changed), response.status_code))
    assert changed == {}
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
