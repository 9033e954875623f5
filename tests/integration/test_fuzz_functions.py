"""Property-based fuzzing of every function endpoint through the real gateway, driven by functions/openapi.json.

Strategies are derived from each request schema: valid values, boundary and out-of-range numbers, huge
integers, wrong types, nulls, unicode (NUL, lone surrogates, emoji, long strings), missing required and
extra fields; plus raw bodies (malformed / truncated / deeply nested JSON, invalid UTF-8, NaN, oversized),
wrong content types and wrong methods. For every request:
  - status < 500 and no stack trace in the body;
  - an error has the documented body ({error: {code, message, fields, request_id, retryable}}) and a status
    the document lists for that operation (405 for methods it does not list);
  - a success body validates against the documented response model;
  - a rejected (4xx) request changed no row (row counts and counters of every learner-data table).
Deterministic (derandomize=True, no example database) and bounded; the slow variant tries many more.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpractice.api.endpoints import ENDPOINTS
from smartpractice.api.errors import ErrorResponse
from smartpractice.api.models import MaintenanceRequest
from tests.figures import record
from tests.integration.conftest import MAINTENANCE_TOKEN, Learner, LiveStack

pytestmark = pytest.mark.stack

OPENAPI: dict[str, Any] = json.loads((Path(__file__).resolve().parents[2] / "functions" / "openapi.json").read_text())
SCHEMAS: dict[str, Any] = OPENAPI["components"]["schemas"]
FAST_EXAMPLES, SLOW_EXAMPLES = 60, 400
MAX_BODY = 64 * 1024
JSON_BODY_ENDPOINTS = ("start_session", "next_question", "submit_answer", "complete_session", "insights",
                       "run_maintenance")
# Counters of every table a function can write: any change shows in one of them.
SNAPSHOT_SQL = """
select (select count(*) from auth.users),
       (select count(*) from practice_sessions), (select coalesce(sum(total_interactions), 0) from practice_sessions),
       (select count(*) filter (where status = 'active') from practice_sessions),
       (select count(*) from session_questions), (select count(answered_at) from session_questions),
       (select count(*) from user_skill_mastery), (select coalesce(sum(version), 0) from user_skill_mastery),
       (select count(*) from mastery_history), (select count(*) from learning_events),
       (select count(*) from user_performance_snapshots), (select count(*) from maintenance_runs),
       (select coalesce(sum(runs), 0) from maintenance_runs),
       (select coalesce(sum(attempts), 0) from question_skills),
       (select coalesce(sum(times_seen), 0) from question_difficulty_params),
       (select count(*) from daily_user_stats), (select count(*) from knowledge_gaps),
       (select count(*) from pg_inherits where inhparent = 'public.learning_events'::regclass)
"""


@dataclass(frozen=True, slots=True)
class World:
    """Real ids for the strategies to aim at, so valid-ish requests get past the 404s."""

    learner: Learner
    active_session: str
    completed_session: str
    foreign_session: str  # another learner's
    question_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Request:
    endpoint: str
    method: str
    content: bytes | None
    headers: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, str], ...] = ()


# --- value strategies from the schema -----------------------------------------------------------

NASTY_TEXT = st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "\udfff", "💥" * 50, "' or 1=1 --", "null",
                              "%s%s%n", "ﬁ\u202e\u200b", "a" * 600, "Ω" * 129, "../../etc/passwd", "-1", "1e309"])
HUGE_INTS = st.sampled_from([0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 2**64, 10**30, -(10**30)])
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), HUGE_INTS, st.floats(allow_nan=False, allow_infinity=False), NASTY_TEXT,
    st.text(max_size=12), st.just([]), st.just({}), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return SCHEMAS[ref.rsplit("/", 1)[-1]] if ref else schema


def _bounds(schema: dict[str, Any], default_low: float, default_high: float) -> tuple[Any, Any]:
    low = schema.get("minimum", schema.get("exclusiveMinimum", default_low))
    high = schema.get("maximum", schema.get("exclusiveMaximum", default_high))
    return low, high


def _valid(schema: dict[str, Any], world: World, name: str) -> st.SearchStrategy[Any]:
    """Values the schema accepts (real ids where they matter, so requests get past the 404s)."""
    kind = schema.get("type")
    if "anyOf" in schema:
        return st.one_of(*(_valid(_resolve(branch), world, name) for branch in schema["anyOf"]))
    if name == "question_id":
        return st.sampled_from(world.question_ids)
    if kind == "integer":
        low, high = _bounds(schema, -(2**63), 2**63 - 1)
        low += "exclusiveMinimum" in schema
        return st.one_of(st.integers(low, min(high, low + 400)), st.sampled_from([low, high]))
    if kind == "number":
        low, high = _bounds(schema, -1e9, 1e9)
        return st.floats(low, high, exclude_min="exclusiveMinimum" in schema,
                         exclude_max="exclusiveMaximum" in schema)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(_valid(_resolve(schema["items"]), world, ""), min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 4), 4))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "uuid":
        return st.sampled_from([world.active_session, world.completed_session, world.foreign_session,
                                str(uuid.UUID(int=1))])
    if schema.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat())
    if "pattern" in schema:
        return st.uuids().map(lambda u: f"fz:{u}")
    return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))


def _mutant(schema: dict[str, Any], world: World) -> st.SearchStrategy[Any]:
    """Near misses and abuse: boundaries ± 1, huge numbers, wrong types, odd strings, oversize arrays."""
    kind = next((b.get("type") for b in map(_resolve, schema.get("anyOf", [schema])) if b.get("type") != "null"),
                None)
    options: list[st.SearchStrategy[Any]] = [JUNK]
    if kind in ("integer", "number"):
        low, high = _bounds(schema, -(2**63), 2**63 - 1)
        edges = st.sampled_from([low - 1, low, high, high + 1, (low + high) / 2])
        options += [edges, edges.map(str), HUGE_INTS, st.sampled_from([1e308, -1e308, 5e-324, 2.5])]
    elif kind == "string":
        options += [NASTY_TEXT, st.text(max_size=8), st.sampled_from(["2024-02-30", "0000-01-01", "2024-01-01T00:00",
                                                                      world.active_session.upper(),
                                                                      world.active_session[:-1], "ADAPTIVE"])]
    elif kind == "array":
        items = _resolve(next(b for b in map(_resolve, schema.get("anyOf", [schema])) if b.get("type") == "array")
                         ["items"])
        options += [st.just([]), st.lists(_valid(items, world, ""), min_size=11, max_size=101),
                    st.lists(JUNK, min_size=1, max_size=3)]
    return st.one_of(*options)


def body_for(schema_name: str, world: World) -> st.SearchStrategy[Any]:
    """A valid JSON object for the schema, or one with exactly one defect: a mutated field, a missing
    required field, an extra field, or not an object at all (one defect at a time reaches every check)."""
    schema = SCHEMAS[schema_name]
    props = {k: _resolve(v) for k, v in schema["properties"].items()}
    required = sorted(schema.get("required", []))
    valid = st.builds(lambda base, optional: {**base, **optional},
                      st.fixed_dictionaries({k: _valid(props[k], world, k) for k in required}),
                      st.fixed_dictionaries({}, optional={k: _valid(v, world, k) for k, v in props.items()
                                                          if k not in required}))
    mutated = st.sampled_from(sorted(props)).flatmap(
        lambda key: st.tuples(valid, st.just(key), _mutant(props[key], world))).map(
        lambda t: {**t[0], t[1]: t[2]})
    not_an_object = st.tuples(JUNK).map(lambda t: t[0])  # one_of would flatten JUNK and favour its branches
    defects = [mutated, st.builds(lambda body, key, value: {**body, key: value}, valid,
                                  st.sampled_from(["user_id", "extra", "", "is_correct", "__proto__"]), JUNK),
               not_an_object]
    if required:
        defects.append(st.builds(lambda body, key: {k: v for k, v in body.items() if k != key}, valid,
                                 st.sampled_from(required)))
    return st.one_of(valid, valid, *defects)


# --- raw requests --------------------------------------------------------------------------------

def _big_body(size: int) -> bytes:
    if size == 30000:
        return b"[" * size + b"]" * size  # deep arrays
    if size == 5000:
        return b'{"a":' * size + b"1" + b"}" * size  # deep objects
    return b'{"mode": "' + b"x" * size + b'"}'  # over the size limit


RAW_BODIES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b" ", b"{", b"}", b"{}x", b"[]", b"null", b"\xef\xbb\xbf{}", b'{"mode": "\xff"}',
                     b'{"session_id": NaN}', b'{"days": Infinity}', b'{"a":1,"a":2}', b"\x00",
                     '{"mode":"exam"}'.encode("utf-16")]),
    # built lazily: hypothesis would otherwise print the huge literals in its strategy repr
    st.sampled_from([30000, 5000, MAX_BODY + 10]).map(_big_body),
    st.builds(lambda text, cut: text[:cut], st.just(b'{"session_id": "00000000-0000-0000-0000-000000000000", '
                                                    b'"user_answer": ["A"]}'), st.integers(0, 60)),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
                                 "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                 "application/json-patch+json", "application/xml", ""])
METHODS = st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])


def encode(body: Any) -> bytes:
    """json.dumps with ASCII escapes: lone surrogates and NaN go over the wire as the fuzz intends."""
    return json.dumps(body, ensure_ascii=True).encode()


def auth_headers(endpoint: str, world: World) -> tuple[tuple[str, str], ...]:
    if endpoint == "run_maintenance":
        return (("X-Maintenance-Token", MAINTENANCE_TOKEN),)
    return (("Authorization", f"Bearer {world.learner.token}"),)


def json_requests(endpoint: str, world: World) -> st.SearchStrategy[Request]:
    schema_name = ENDPOINTS[endpoint].request_model.__name__
    headers = (*auth_headers(endpoint, world), ("Content-Type", "application/json"))

    def build(body: Any) -> Request:
        if endpoint == "run_maintenance" and maintenance_would_run(encode(body)):
            body = {**body, "fuzz": True}  # a valid body would really run maintenance: keep it a 400
        return Request(endpoint, "POST", encode(body), headers)

    return body_for(schema_name, world).map(build)


def maintenance_would_run(raw: bytes) -> bool:
    """Whether run_maintenance would accept this body (an empty one means all defaults)."""
    try:
        MaintenanceRequest.model_validate_json(raw if raw.strip() else b"{}")
    except ValueError:
        return False
    return True


def query_requests(world: World) -> st.SearchStrategy[Request]:
    values = st.one_of(st.integers(-5, 400).map(str), HUGE_INTS.map(str), NASTY_TEXT, st.sampled_from(["1.5", ""]))
    params = st.lists(st.tuples(st.sampled_from(["days", "days", "user_id", "x"]), values), max_size=3)
    return params.map(lambda p: Request("insights", "GET", None, auth_headers("insights", world), tuple(p)))


def transport_requests(world: World) -> st.SearchStrategy[Request]:
    """Raw bodies × content types × methods on every endpoint (maintenance bodies never valid)."""
    def build(endpoint: str, method: str, content: bytes, content_type: str) -> Request:
        headers = auth_headers(endpoint, world) + ((("Content-Type", content_type),) if content_type else ())
        # An empty or valid body would really run maintenance (all steps): keep it a 400.
        if endpoint == "run_maintenance" and maintenance_would_run(content):
            content = b'{"fuzz": true}'
        return Request(endpoint, method, content, headers)

    return st.builds(build, st.sampled_from(JSON_BODY_ENDPOINTS), METHODS, RAW_BODIES, CONTENT_TYPES)


# --- the oracle ----------------------------------------------------------------------------------


def documented_statuses(endpoint: str, method: str) -> set[int] | None:
    operation = OPENAPI["paths"][f"/{endpoint}"].get(method.lower())
    return None if operation is None else {int(s) for s in operation["responses"]}


class Fuzzer:
    def __init__(self, stack: LiveStack, world: World) -> None:
        self.stack = stack
        self.world = world
        self.statuses: Counter[int] = Counter()
        self.rows_changed = 0
        self.conn = psycopg.connect(stack.settings.dsn(), autocommit=True)

    def snapshot(self) -> tuple[Any, ...]:
        row = self.conn.execute(SNAPSHOT_SQL).fetchone()
        assert row is not None
        return tuple(row)

    def check(self, request: Request) -> None:
        before = self.snapshot()
        # The query is encoded by hand: lone surrogates go over the wire as (invalid) UTF-8 bytes.
        query = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in request.params)
        url = f"{self.stack.url}/functions/v1/{request.endpoint}" + (f"?{query}" if query else "")
        response = self.stack.http.request(request.method, url, content=request.content,
                                           headers=dict(request.headers))
        after = self.snapshot()
        status = response.status_code
        self.statuses[status] += 1
        assert request.endpoint != "run_maintenance" or status != 200, "the fuzz must never run maintenance"
        if 400 <= status < 500 and before != after:
            self.rows_changed += 1
        assert status < 500, (request, response.text)
        assert b"Traceback" not in response.content
        if request.method in ("OPTIONS", "HEAD"):
            assert status in (204, 405) if request.method == "OPTIONS" else status == 405
            return
        documented = documented_statuses(request.endpoint, request.method)
        if status >= 400:
            error = ErrorResponse.model_validate_json(response.content).error
            assert error.request_id == response.headers["X-Request-Id"]
            assert status in (documented or {405}), (request, status, response.text)
            assert (status == 405) == (documented is None)
            assert not error.retryable or status in (409, 429, 503)
            if status == 503:
                assert error.retryable and int(response.headers["Retry-After"]) > 0
            if status == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert before == after, (request, response.text)
        else:
            spec = ENDPOINTS[request.endpoint]
            assert status == spec.success_status
            spec.response_model.model_validate_json(response.content)

    def close(self) -> None:
        self.conn.close()


# --- tests ---------------------------------------------------------------------------------------


@pytest.fixture()
def world(live_stack: LiveStack, make_learner: Callable[[], Learner]) -> World:
    learner, other = make_learner(), make_learner()

    def session(who: Learner) -> str:
        response = live_stack.call("start_session", token=who.token, json={})
        assert response.status_code == 201, response.text
        return str(response.json()["session_id"])

    active, completed, foreign = session(learner), session(learner), session(other)
    done = live_stack.call("complete_session", token=learner.token, json={"session_id": completed})
    assert done.status_code == 200, done.text
    with psycopg.connect(live_stack.settings.dsn()) as conn:
        questions = tuple(int(r[0]) for r in conn.execute("select id from questions order by id limit 40").fetchall())
    return World(learner=learner, active_session=active, completed_session=completed, foreign_session=foreign,
                 question_ids=questions)


STRATEGIES: dict[str, Callable[[World], st.SearchStrategy[Request]]] = {
    **{name: functools.partial(json_requests, name) for name in JSON_BODY_ENDPOINTS},
    "insights_query": query_requests,
    "transport": transport_requests,
}


def run_fuzz(target: str, stack: LiveStack, world: World, *, examples: int) -> None:
    fuzzer = Fuzzer(stack, world)

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(request=STRATEGIES[target](world))
    def fuzz(request: Request) -> None:
        fuzzer.check(request)

    try:
        fuzz()
    finally:
        fuzzer.close()
        tried = sum(fuzzer.statuses.values())
        server_errors = sum(n for s, n in fuzzer.statuses.items() if s >= 500)
        shown = " ".join(f"{s}×{n}" for s, n in sorted(fuzzer.statuses.items()))
        record(check=f"fuzz {target} ({examples} examples)", tried=tried,
               succeeded=sum(n for s, n in fuzzer.statuses.items() if s < 300), server_errors=server_errors,
               note=f"rows changed by 4xx: {fuzzer.rows_changed}; {shown}")
    assert fuzzer.rows_changed == 0


@pytest.mark.parametrize("target", sorted(STRATEGIES))
def test_fuzzed_requests_never_5xx_and_rejections_change_nothing(target: str, live_stack: LiveStack,
                                                                 world: World) -> None:
    run_fuzz(target, live_stack, world, examples=FAST_EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(STRATEGIES))
def test_fuzzed_requests_many_examples(target: str, live_stack: LiveStack, world: World) -> None:
    run_fuzz(target, live_stack, world, examples=SLOW_EXAMPLES)
