"""Static security checks from the catalog, over every schema the API roles can reach (USAGE granted to anon or
authenticated), not only `public`: RLS and policies on every relation, views that run as the caller,
SECURITY DEFINER functions (who may execute them, pinned search_path), and the shape of every policy.

Left out: objects owned by extensions (pgTAP, pgcrypto, pg_cron) and the gateway tests' throwaway objects
(gwt<6 hex>_*). Every exception below is an explicit, reviewed entry with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

import psycopg
import pytest

from tests import figures

pytestmark = pytest.mark.stack

TEST_OBJECT = re.compile(r"^gwt[0-9a-f]{6}_")
API_ROLES = ("anon", "authenticated")

# RLS on and no policy at all: nobody but the service role (which bypasses RLS) and definer code reads them.
DENY_ALL_TABLES = {
    "public.question_answer_keys": "answer keys: read by the grading function with the service role only",
    "public.maintenance_runs": "maintenance bookkeeping: written and read by run_maintenance (service role)",
    "public.function_request_stats": "the functions' request log: written by the functions (service role), "
                                     "read by analysts as postgres",
    "private.cohort_mastery_stats": "cohort cache: read only inside the k-anonymous security-definer function",
    "private.cohort_release_seeds": "the nightly release's noise seeds: read only by the definer refresh",
    "private.cohort_bin_staging": "the nightly release's true bin counts while being counted: definer code only",
}
# Views that do not run as the caller (none: question_catalog is security_invoker).
REVIEWED_DEFINER_VIEWS: dict[str, str] = {}
# SECURITY DEFINER functions anon/authenticated may execute.
DEFINER_ALLOW_LIST = {
    "private.cohort_mastery_distribution(bigint)":
        "the nightly noised cohort release (k >= 50, epsilon 1), read from the cache only; learners reach it "
        "through public.cohort_mastery_distribution",
}
# Functions in public/private the API roles may execute (every other one is service-role or definer-internal).
API_EXECUTABLE_FUNCTIONS = {
    "private.cohort_mastery_distribution(bigint)": "authenticated: the cached cohort release (allow-listed above)",
    "public.cohort_mastery_distribution(bigint)": "authenticated: its public wrapper",
    "public.question_bank()": "authenticated: the question catalogue, without answer keys",
    "public.next_question_context(uuid)": "authenticated: the learner's own context (auth.uid())",
    "public.answer_context(uuid,bigint,text)": "authenticated: the learner's own context (auth.uid())",
    "public.insights_context(timestamp with time zone,timestamp with time zone)":
        "authenticated: the learner's own context (auth.uid())",
    "public.session_summary_context(uuid)": "authenticated: the learner's own context (auth.uid())",
    "private.is_time_zone(text)": "authenticated: learner_profiles' time-zone check constraint runs as the writer",
    "private.predictor_score_inputs()": "authenticated: the calling learner's own predictor state and the bank "
                                        "(security invoker, auth.uid()) inside insights_context and "
                                        "session_summary_context",
    "private.predictor_score_inputs_of(uuid)":
        "authenticated: predictor_score_inputs()'s body for a given learner (security invoker): called with "
        "auth.uid() there; a learner passing another's id reads none of their rows (RLS on the state and answers; "
        "tests/integration/test_insights_predictor_scores.py); the nightly snapshots (service role) read anyone's",
    "private.predictor_seed_difficulty(double precision[])":
        "authenticated: pure arithmetic (a question's seeded b from its Elo rows) inside question_bank and "
        "answer_context, which run as the learner",
    "private.label_elo_base(text)": "authenticated: pure arithmetic (a difficulty label's Elo base) inside "
                                    "predictor_label_seed_difficulty",
    "private.predictor_label_seed_difficulty(text,integer)":
        "authenticated: pure arithmetic (a question's seed from its difficulty label) inside question_bank, which "
        "runs as the learner",
    "private.served_cold_difficulty(text,integer)":
        "authenticated: the latest seed line (predictor_weights, readable by the learner) on a label seed, what a "
        "question without a stored b is served, inside question_bank, answer_context and predictor_score_inputs "
        "(security invoker, run as the learner)",
    "private.served_guessing_floor(integer)":
        "authenticated: the latest weights row's fitted guessing floor of a format (predictor_weights, readable by "
        "the learner), the floor a question is served, inside question_bank, answer_context and "
        "predictor_score_inputs (security invoker, run as the learner)",
}
# Supabase's own auth schema (the local bootstrap stands in for it): no API role holds any privilege there.
PLATFORM_SCHEMAS = ("auth",)
# Schemas anon/authenticated may USE: public (exposed by the API), private (definer code, EXECUTE only where
# granted), extensions (pgcrypto, pgTAP) and auth (auth.uid() and friends). Not cron, not event_partitions.
REACHABLE_SCHEMAS = ("auth", "extensions", "private", "public")

_NOT_EXTENSION = """not exists (select 1 from pg_depend d where d.classid = '{catalog}'::regclass
                                and d.objid = {oid} and d.deptype = 'e')"""


class Checks(dict[str, int]):
    """Objects checked per check (filled when a check completes) and the violations found, failed or not."""

    violations = 0

    def found(self, problems: Collection[object]) -> Collection[object]:
        """Count `problems` (violations) before the caller asserts that there are none."""
        self.violations += len(problems)
        return problems


@pytest.fixture(scope="module")
def checked() -> Iterator[Checks]:
    counts = Checks()
    yield counts
    figures.record(check="static security checks (catalog)", tried=sum(counts.values()),
                   succeeded=counts.violations, note=", ".join(f"{n} {what}" for what, n in counts.items()))


def _api_schemas(pg: psycopg.Connection) -> list[str]:
    # `tests` holds the pgTAP helpers (supabase/tests/000-setup-tests-hooks.sql): test clusters only.
    rows = pg.execute("""select n.nspname from pg_namespace n
                         where n.nspname not in ('pg_catalog', 'information_schema', 'tests')
                           and n.nspname !~ '^pg_'
                           and (has_schema_privilege('anon', n.oid, 'USAGE')
                                or has_schema_privilege('authenticated', n.oid, 'USAGE'))
                         order by 1""").fetchall()
    return [str(r[0]) for r in rows]


def _relations(pg: psycopg.Connection, schemas: list[str]) -> list[tuple[str, str, bool, int, list[str]]]:
    """(schema.name, relkind, rls on, policies, reloptions) of the non-extension relations of the schemas."""
    rows = pg.execute(f"""
        select n.nspname || '.' || c.relname, c.relkind::text, c.relrowsecurity,
               (select count(*) from pg_policy p where p.polrelid = c.oid)::int, coalesce(c.reloptions, '{{}}')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm', 'f')
          and {_NOT_EXTENSION.format(catalog='pg_class', oid='c.oid')}
        order by 1""", (schemas,)).fetchall()
    return [(str(r[0]), str(r[1]), bool(r[2]), int(r[3]), list(r[4])) for r in rows
            if not TEST_OBJECT.match(str(r[0]).split(".", 1)[1])]


def _api_privileges(pg: psycopg.Connection, relation: str) -> list[str]:
    rows = pg.execute("""select r || ':' || p from unnest(%s::text[]) r,
                           unnest(array['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
                         where has_table_privilege(r, %s::regclass, p)""", (list(API_ROLES), relation)).fetchall()
    return [str(r[0]) for r in rows]


def test_every_reachable_relation_has_rls_and_policies(pg: psycopg.Connection, checked: Checks) -> None:
    schemas = _api_schemas(pg)
    assert checked.found(set(schemas) ^ set(REACHABLE_SCHEMAS)) == set()
    relations = _relations(pg, schemas)
    problems = []
    for name, kind, rls, policies, options in relations:
        schema = name.split(".", 1)[0]
        if schema in PLATFORM_SCHEMAS:
            if _api_privileges(pg, name):
                problems.append(f"{name}: platform table readable/writable by {_api_privileges(pg, name)}")
        elif kind in ("r", "p", "f"):
            if not rls:
                problems.append(f"{name}: row-level security is off")
            if policies == 0 and name not in DENY_ALL_TABLES:
                problems.append(f"{name}: no policy and not a reviewed deny-all table")
            if name in DENY_ALL_TABLES and (policies or _api_privileges(pg, name)):
                problems.append(f"{name}: reviewed as deny-all but has {policies} policies / "
                                f"{_api_privileges(pg, name)}")
        elif kind == "v" and "security_invoker=true" not in options and name not in REVIEWED_DEFINER_VIEWS:
            problems.append(f"{name}: view runs with its owner's rights (not security_invoker)")
        elif kind == "m" and _api_privileges(pg, name):
            problems.append(f"{name}: materialized views have no RLS, yet {_api_privileges(pg, name)}")
    assert checked.found(problems) == []
    assert checked.found((set(DENY_ALL_TABLES) | {"public.question_catalog"}) - {n for n, *_ in relations}) == set()
    checked["relations in API-reachable schemas"] = len(relations)


def test_partitions_of_exposed_tables_keep_rls(pg: psycopg.Connection, checked: Checks) -> None:
    rows = pg.execute("""select c.oid::regclass::text, c.relrowsecurity from pg_inherits i
                         join pg_class c on c.oid = i.inhrelid join pg_class parent on parent.oid = i.inhparent
                         where parent.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')""").fetchall()
    assert rows, "learning_events is partitioned: its partitions must be found"
    assert checked.found([name for name, rls in rows if not rls]) == []
    assert checked.found([name for name, _ in rows if _api_privileges(pg, name)]) == []
    checked["partitions"] = len(rows)


def _definer_functions(pg: psycopg.Connection) -> list[tuple[str, list[str], bool, bool]]:
    rows = pg.execute(f"""
        select p.oid::regprocedure::text, coalesce(p.proconfig, '{{}}'),
               has_function_privilege('anon', p.oid, 'EXECUTE'),
               has_function_privilege('authenticated', p.oid, 'EXECUTE')
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
          and {_NOT_EXTENSION.format(catalog='pg_proc', oid='p.oid')}
        order by 1""").fetchall()
    return [(str(r[0]), list(r[1]), bool(r[2]), bool(r[3])) for r in rows if not TEST_OBJECT.search(str(r[0]))]


def test_security_definer_functions_are_closed_and_pinned(pg: psycopg.Connection, checked: Checks) -> None:
    functions = _definer_functions(pg)
    names = [name for name, *_ in functions]
    assert checked.found(set(DEFINER_ALLOW_LIST) - set(names)) == set()  # a stale allow-list entry is an error too
    executable = [name for name, _, anon, authed in functions if anon or authed]
    assert checked.found(set(executable) ^ set(DEFINER_ALLOW_LIST)) == set()
    assert checked.found([name for name, _, anon, _ in functions if anon]) == []
    # search_path = '' is stored as search_path="": every name inside must be schema-qualified
    assert checked.found([name for name, config, *_ in functions if 'search_path=""' not in config]) == []
    checked["security-definer functions"] = len(functions)


_PRODUCT_FUNCTION_GRANTS = f"""
    select p.oid::regprocedure::text,
           exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                   where a.grantee = 0 and a.privilege_type = 'EXECUTE'),
           has_function_privilege('anon', p.oid, 'EXECUTE') or has_function_privilege('authenticated', p.oid, 'EXECUTE')
    from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
      and {_NOT_EXTENSION.format(catalog='pg_proc', oid='p.oid')}
    order by 1"""


def _product_function_grants(pg: psycopg.Connection) -> list[tuple[str, bool, bool]]:
    """(function, PUBLIC may execute, anon or authenticated may execute) for public/private functions."""
    rows = pg.execute(_PRODUCT_FUNCTION_GRANTS).fetchall()
    return [(str(r[0]), bool(r[1]), bool(r[2])) for r in rows
            if not TEST_OBJECT.match(str(r[0]).removeprefix("private."))]


def test_no_product_function_is_executable_by_public_or_unlisted_api_roles(pg: psycopg.Connection,
                                                                            checked: Checks) -> None:
    """The default privileges are hosted's (functions keep PostgreSQL's EXECUTE for PUBLIC, and those in public
    are granted to anon/authenticated), so each migration must revoke explicitly: one that forgets fails here."""
    functions = _product_function_grants(pg)
    assert len(functions) >= 30
    assert checked.found([name for name, public, _ in functions if public]) == []
    executable = {name.removeprefix("public.") for name, _, api in functions if api}
    assert checked.found(executable ^ {n.removeprefix("public.") for n in API_EXECUTABLE_FUNCTIONS}) == set()
    checked["public/private functions (EXECUTE grants)"] = len(functions)


def test_a_function_without_its_revoke_is_caught(pg: psycopg.Connection) -> None:
    """What the check above relies on: with the bootstrap's (hosted) default privileges, a new function in
    public or private is executable by PUBLIC, and one in public by anon and authenticated, until revoked."""
    with pg.transaction(force_rollback=True):
        pg.execute("create function public.static_probe_forgot_revoke() returns int language sql as 'select 1'")
        pg.execute("create function private.static_probe_forgot_revoke() returns int language sql as 'select 1'")
        found = {name: (public, api) for name, public, api in _product_function_grants(pg)
                 if "static_probe_forgot_revoke" in name}
    assert found == {"static_probe_forgot_revoke()": (True, True),
                     "private.static_probe_forgot_revoke()": (True, True)}


def test_policies_are_for_authenticated_and_use_select_auth_uid(pg: psycopg.Connection, checked: Checks) -> None:
    rows = pg.execute("""select p.schemaname || '.' || p.tablename || ': ' || p.policyname, p.roles::text[],
                                coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '')
                         from pg_policies p where p.schemaname = any(%s)""",
                      (_api_schemas(pg),)).fetchall()
    policies = [(str(r[0]), list(r[1]), str(r[2])) for r in rows
                if not TEST_OBJECT.match(str(r[0]).split(".", 1)[1])]
    assert len(policies) >= 20
    assert checked.found([name for name, roles, _ in policies if roles != ["authenticated"]]) == []
    for helper in ("uid", "jwt", "role"):
        # each call wrapped as (select auth.x()): evaluated once per statement, not per row
        bare = [name for name, _, expr in policies
                if expr.count(f"auth.{helper}()") != expr.count(f"( SELECT auth.{helper}() AS {helper})")]
        assert checked.found(bare) == [], helper
    # user_metadata is editable by the user themselves: never an authorisation input
    assert checked.found([name for name, _, expr in policies if "user_metadata" in expr]) == []
    checked["policies"] = len(policies)


def test_answer_key_columns_are_not_readable_by_api_roles(pg: psycopg.Connection, checked: Checks) -> None:
    """Answer keys live in their own table; no relation anywhere lets anon/authenticated select such a column."""
    rows = pg.execute("""select c.oid::regclass::text || '.' || a.attname, r
                         from pg_attribute a join pg_class c on c.oid = a.attrelid
                         cross join unnest(%s::text[]) r
                         where c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped
                           and a.attname in ('correct_answer', 'numeric_tolerance', 'explanation')
                           and has_column_privilege(r, c.oid, a.attnum, 'SELECT')""", (list(API_ROLES),)).fetchall()
    assert checked.found(rows) == []
    checked["answer-key columns"] = _count(pg, """select count(*) from pg_attribute
        where attname in ('correct_answer', 'numeric_tolerance', 'explanation') and attnum > 0""")


def test_api_roles_create_nothing(pg: psycopg.Connection, checked: Checks) -> None:
    rows = pg.execute("""select n.nspname, r from pg_namespace n, unnest(%s::text[]) r
                         where has_schema_privilege(r, n.oid, 'CREATE')""", (list(API_ROLES),)).fetchall()
    assert checked.found(rows) == []
    checked["schemas without CREATE for API roles"] = _count(pg, "select count(*) from pg_namespace")


def _count(pg: psycopg.Connection, query: str) -> int:
    row = pg.execute(query).fetchone()
    assert row is not None
    return int(row[0])
