"""`make demo` end to end on a tiny cohort: 3 learners × 1 simulated day × 1 session × 3 questions through the
real functions (the demo starts its own gateway), then exact row counts in the database and the written files."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import psycopg
import pytest

from smartpractice_dev.demo.cli import run_demo
from smartpractice_dev.demo.config import DemoConfig
from supalocal.settings import StackSettings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.stack
def test_tiny_demo_run_writes_exact_rows_and_plots(stack_settings: StackSettings, pg: psycopg.Connection,
                                                   tmp_path: Path) -> None:
    before = set(pg.execute("select run_date, step from maintenance_runs").fetchall())
    config = DemoConfig(learners=3, days=1, sessions_per_day=1.0, sessions_per_week=None, questions_per_session=3,
                        workers=2, seed=11, output=tmp_path)
    printed = io.StringIO()
    outcome = run_demo(config, settings=stack_settings, out=printed)
    users = list(outcome.users)
    try:
        assert len(users) == 3
        assert outcome.groups.count("random") == 1 and outcome.groups.count("adaptive") == 2
        assert (outcome.sessions, outcome.answers) == (3, 9)
        emails = [r[0] for r in pg.execute("select email from auth.users where id = any(%s) order by email",
                                           (users,)).fetchall()]
        assert emails == [f"demo-{outcome.run_tag}-{n:04d}@demo.test" for n in range(3)]
        sessions = pg.execute("select status, count(*) from practice_sessions where user_id = any(%s) group by 1",
                              (users,)).fetchall()
        assert sessions == [("completed", 3)]
        answered = pg.execute(
            "select count(*) filter (where answered_at is not null), count(*) from session_questions "
            "where user_id = any(%s)", (users,)).fetchone()
        assert answered == (9, 9)  # every served question was answered
        random_served = pg.execute(
            "select count(*) from session_questions where user_id = any(%s) "
            "and selection_reason->>'dominant_factor' = 'random'", (users,)).fetchone()
        assert random_served == (3,)  # the control learner's 3 questions were drawn at random
        snapshots = pg.execute("select count(*) from user_performance_snapshots where user_id = any(%s) "
                               "and snapshot_type = 'session_complete'", (users,)).fetchone()
        assert snapshots == (3,)
        for name in ("growth.png", "mastery_heatmap.png", "calibration.png", "predicted_score.png"):
            data = (tmp_path / name).read_bytes()
            assert data[:8] == PNG_SIGNATURE and len(data) > 10_000, name
        summary = (tmp_path / "summary.txt").read_text(encoding="utf-8")
        assert "9 answers in 3 sessions through the real functions" in summary
        assert "matched the simulated learner's intent on 9/9" in summary
        assert summary.strip() == printed.getvalue().split("\n", 1)[1].strip()  # after the opening line
        # The web client's URL signs in a learner of this run, with its history (supalocal/gateway/webapp.py).
        web = re.search(r"^Web client: (\S+)$", summary, re.MULTILINE)
        assert web is not None
        assert re.fullmatch(re.escape(stack_settings.api_url) + r"/app/\?learner=([0-9a-f-]{36})#progress", web[1])
        assert uuid.UUID(web[1].split("=")[1].split("#")[0]) in users
    finally:
        pg.execute("delete from auth.users where id = any(%s)", (users,))
        after = set(pg.execute("select run_date, step from maintenance_runs").fetchall())
        for run_date, step in after - before:
            pg.execute("delete from maintenance_runs where run_date = %s and step = %s", (run_date, step))
