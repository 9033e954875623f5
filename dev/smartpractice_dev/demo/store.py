"""The demo's direct database work, as the superuser (it is an operator tool on the local stack):
demo users in auth.users, the bank with its answer keys, and read-backs of what the functions wrote."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import psycopg

from smartpractice_dev.demo.world import BankQuestion

DEMO_EMAIL_DOMAIN = "demo.test"
DEMO_EMAIL_PATTERN = f"demo-%@{DEMO_EMAIL_DOMAIN}"

_BANK_SQL = """
select q.id, q.question_type, coalesce(q.options, '[]'::jsonb), k.correct_answer, k.numeric_tolerance,
       q.expected_time_seconds,
       array_agg(qs.skill_id order by qs.skill_id), array_agg(qs.elo_difficulty order by qs.skill_id)
from public.questions q
join public.topics t on t.id = q.topic_id
join public.subjects sub on sub.id = t.subject_id
join public.question_skills qs on qs.question_id = q.id
join public.question_answer_keys k on k.question_id = q.id
where q.is_active and (%(subject)s::text is null or sub.code = %(subject)s)
group by q.id, k.question_id
order by q.id
"""


@dataclass(frozen=True, slots=True)
class MasteryRow:
    user_id: uuid.UUID
    skill_id: int
    effective_mastery: float
    p_mastery: float
    elo_rating: float
    total_attempts: int


def demo_email(run_tag: str, n: int) -> str:
    return f"demo-{run_tag}-{n:04d}@{DEMO_EMAIL_DOMAIN}"


def subject_id(conn: psycopg.Connection, code: str) -> int:
    row = conn.execute("select id from public.subjects where code = %s", (code,)).fetchone()
    if row is None:
        raise LookupError(f"subject {code!r} is not in the bank; is the stack seeded? (make stack-reset)")
    return int(row[0])


def load_bank(conn: psycopg.Connection, *, subject: str | None) -> tuple[list[BankQuestion], dict[int, str]]:
    """Active questions of the subject (None = all) with skills, Elo difficulties and answer keys."""
    questions = []
    for qid, qtype, options, key, tolerance, seconds, skills, difficulties in conn.execute(
            _BANK_SQL, {"subject": subject}).fetchall():
        questions.append(BankQuestion(
            question_id=int(qid), question_type=str(qtype),
            option_labels=tuple(str(o.get("key") or o.get("label")) for o in options),
            correct_answer=tuple(str(v) for v in key),
            numeric_tolerance=None if tolerance is None else float(tolerance),
            expected_time_seconds=float(seconds), skill_ids=tuple(int(s) for s in skills),
            elo_difficulties=tuple(float(d) for d in difficulties)))
    names = {int(i): str(n) for i, n in conn.execute("select id, name from public.skills").fetchall()}
    if not questions:
        raise LookupError("the bank is empty; seed the stack first (make stack-reset)")
    return questions, names


def create_users(conn: psycopg.Connection, *, run_tag: str, count: int) -> list[uuid.UUID]:
    users = [uuid.uuid4() for _ in range(count)]
    with conn.cursor() as cursor:
        cursor.executemany("insert into auth.users (id, email) values (%s, %s)",
                           [(user, demo_email(run_tag, n)) for n, user in enumerate(users)])
    return users


TARGET_COLUMNS = {"math": "target_math", "reading_writing": "target_reading_writing"}


def prepare_section(conn: psycopg.Connection, users: list[uuid.UUID], *, section: str, target: int) -> None:
    """Each demo learner prepares the one SAT section it practises, with a target (a learner_profiles row, as the
    web client's goal form sets it): readiness is then about that section's predicted score."""
    column = TARGET_COLUMNS[section]
    with conn.cursor() as cursor:
        cursor.executemany(f"insert into learner_profiles (user_id, sections, {column}) values (%s, %s, %s)",
                           [(user, [section], target) for user in users])


def delete_demo_users(conn: psycopg.Connection) -> int:
    """Every earlier demo user; deleting auth.users cascades through every learner table."""
    return conn.execute("delete from auth.users where email like %s", (DEMO_EMAIL_PATTERN,)).rowcount


def count_demo_users(conn: psycopg.Connection) -> int:
    row = conn.execute("select count(*) from auth.users where email like %s", (DEMO_EMAIL_PATTERN,)).fetchone()
    return int(row[0]) if row else 0


def read_mastery(conn: psycopg.Connection, users: list[uuid.UUID]) -> list[MasteryRow]:
    rows = conn.execute(
        "select user_id, skill_id, effective_mastery, p_mastery, elo_rating, total_attempts "
        "from public.user_skill_mastery where user_id = any(%s)", (users,)).fetchall()
    return [MasteryRow(r[0], int(r[1]), float(r[2]), float(r[3]), float(r[4]), int(r[5])) for r in rows]


def forget_maintenance_runs(conn: psycopg.Connection, run_date: date) -> None:
    """Delete the date's maintenance_runs rows (dev stack only): the next run for the date runs every step."""
    conn.execute("delete from public.maintenance_runs where run_date = %s", (run_date,))


def took(conn: psycopg.Connection, session_id: str, question_id: int, seconds: float) -> None:
    """The demo compresses time: a served question is moved back by the simulated learner's time on it, so the
    server (which weighs an answer by its own time since serving) sees the pace the simulation claims."""
    conn.execute("update public.session_questions set served_at = least(served_at, now() - make_interval(secs => %s)) "
                 "where session_id = %s and question_id = %s and answered_at is null",
                 (seconds, uuid.UUID(session_id), question_id))
