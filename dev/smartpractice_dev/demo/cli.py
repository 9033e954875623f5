"""`python -m smartpractice_dev.demo`: set up the cohort, run it through the functions, summarise, plot."""

from __future__ import annotations

import secrets
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx
import numpy as np
import psycopg

from smartpractice.service.goals import DEFAULT_SECTION_TARGET
from smartpractice_dev.demo import plots, report, store
from smartpractice_dev.demo.client import FunctionsClient
from smartpractice_dev.demo.config import DemoConfig, parse_config
from smartpractice_dev.demo.metrics import (
    Calibration,
    calibration,
    correlation,
    group_success,
    learner_means,
    paired_values,
    questions_to_mastery,
    score_recovery,
    summarise_mastery,
    true_section_score,
)
from smartpractice_dev.demo.progress import ProgressBar
from smartpractice_dev.demo.runner import CohortRun, CohortRunner, maintenance_totals
from smartpractice_dev.demo.world import ADAPTIVE, CONTROL, World, assign_groups, build_world, practice_schedule
from smartpractice_dev.simulation import LearnerDynamics, SimulatedCohort
from supalocal import cluster
from supalocal.keys import learner_jwt
from supalocal.process import GatewayProcess
from supalocal.settings import StackSettings, load_settings

TOKEN_TTL_SECONDS = 12 * 3600
TARGET_BAND = (0.60, 0.70)


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    run_tag: str
    users: tuple[uuid.UUID, ...]
    groups: tuple[str, ...]
    answers: int
    sessions: int
    files: tuple[Path, ...]
    summary: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Analysis:
    sections: list[list[str]]
    calibration: dict[str, Calibration]


def sample_learner(run: CohortRun) -> int:
    """The adaptive learner (else anyone) with the median true mean ability at the end: a typical learner."""
    theta = run.days[-1].true_theta.mean(axis=1)
    among = [i for i, g in enumerate(run.groups) if g == ADAPTIVE] or list(range(len(run.groups)))
    ordered = sorted(among, key=lambda i: (float(theta[i]), i))
    return ordered[len(ordered) // 2]


def analyse(run: CohortRun, world: World, *, users: list[uuid.UUID], mastery_theta: float,
            insights: dict[str, Any], sample: int) -> Analysis:
    final_theta = run.days[-1].true_theta
    user_index = {u: i for i, u in enumerate(users)}
    skill_index = {s: k for k, s in enumerate(world.skill_ids)}
    in_scope = [r for r in run.final_rows if r.skill_id in skill_index]
    correlations = {}
    for name, field in (("Elo rating", "elo_rating"), ("effective mastery", "effective_mastery")):
        triples = [(user_index[r.user_id], skill_index[r.skill_id], float(getattr(r, field))) for r in in_scope]
        estimate, true = paired_values(truth=final_theta, estimates=triples)
        correlations[f"{name}, per pair"] = correlation(x=estimate, y=true)
        estimate, true = learner_means(truth=final_theta, estimates=triples)
        correlations[f"{name}, per learner"] = correlation(x=estimate, y=true)
    groups = run.groups
    present = [g for g in (ADAPTIVE, CONTROL) if any(e.group == g for e in run.events)]
    success = {g: group_success(correct=[e.server_correct for e in run.events if e.group == g],
                                predicted=[e.predicted_p for e in run.events if e.group == g], band=TARGET_BAND)
               for g in present}
    counts = questions_to_mastery(initial_theta=run.initial_theta, practice=run.practice, mastery_theta=mastery_theta)
    mastery = {g: summarise_mastery(counts, learners=[i for i, x in enumerate(groups) if x == g]) for g in present}
    answers = {g: sum(1 for e in run.events if e.group == g) for g in present}
    skills_per_answer = {g: sum(1 for p in run.practice if groups[p.learner] == g) / answers[g] for g in present}
    tables = {g: calibration(predicted=[e.predicted_p for e in run.events if e.group == g],
                             observed=[e.server_correct for e in run.events if e.group == g]) for g in present}
    sample_theta = {world.skill_ids[k]: float(final_theta[sample, k]) for k in range(len(world.skill_ids))}
    return Analysis(sections=[
        report.correlation_lines(correlations),
        report.success_lines(success, TARGET_BAND),
        report.mastery_lines(mastery, mastery_theta=mastery_theta, skills_per_answer=skills_per_answer,
                             bank_skills_per_question=float(np.mean([len(q.skill_ids)
                                                                     for q in world.questions.values()]))),
        report.calibration_lines(tables),
        report.insights_lines(insights, learner=sample, group=groups[sample], true_theta=sample_theta,
                              skill_names=dict(zip(world.skill_ids, world.skill_names, strict=True))),
    ], calibration=tables)


def _score_recovery(run: CohortRun, world: World, dynamics: LearnerDynamics, everyone: list[dict[str, Any]], *,
                    section: str) -> list[str]:
    """Each learner's insights score for `section` against the simulator's true expected score over the world's
    questions (the subject's active bank, the section insights averages over) at the end of the run."""
    truth = true_section_score(theta=run.days[-1].true_theta,
                               questions=[(q.skills, q.difficulties) for q in world.simulated.values()],
                               guess=dynamics.guess, slip=dynamics.slip)
    entries = [next((s for s in (i.get("predicted_scores") or {}).get("sections") or [] if s["section"] == section),
                    None) for i in everyone]
    return report.score_recovery_lines(score_recovery(sections=entries, true_scores=truth), section=section)


EVENT_COLUMNS = ("learner", "group", "day", "question_id", "n_skills", "predicted_p", "sampled_p", "true_p",
                 "intended_correct", "server_correct")


def write_events(run: CohortRun, *, path: Path) -> Path:
    """Every answer of the run as CSV, in (day, learner, answer) order: what the server predicted and drew when
    it served the question, the simulator's true P and both gradings (for offline calibration analyses)."""
    rows = [",".join(EVENT_COLUMNS)]
    rows.extend(f"{e.learner},{e.group},{e.day},{e.question_id},{e.n_skills},{e.predicted_p!r},{e.sampled_p!r},"
                f"{e.true_p!r},{int(e.intended_correct)},{int(e.server_correct)}" for e in run.events)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_plots(run: CohortRun, world: World, analysis: Analysis, *, mastery_theta: float, output: Path) -> list[Path]:
    final_theta = run.days[-1].true_theta.mean(axis=1)
    shown = plots.spread_learners(list(final_theta), among=range(len(run.groups)), count=4)
    return [
        plots.growth_plot(run, mastery_theta=mastery_theta, path=output / "growth.png"),
        plots.heatmap_plot(run, world, mastery_theta=mastery_theta, path=output / "mastery_heatmap.png"),
        plots.calibration_plot(analysis.calibration, path=output / "calibration.png"),
        plots.predicted_score_plot(
            run.sessions, cut_score=float(DEFAULT_SECTION_TARGET), path=output / "predicted_score.png",
            learners={i: f"learner #{i} ({run.groups[i]}, final true mean θ {final_theta[i]:+.2f})" for i in shown}),
    ]


def run_demo(config: DemoConfig, *, settings: StackSettings | None = None, out: TextIO | None = None) -> DemoOutcome:
    stream = out if out is not None else sys.stdout
    started = time.perf_counter()
    settings = settings or load_settings()
    cluster.up(settings)  # a no-op when `make demo` already brought it up
    run_tag = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    config.output.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(settings.dsn(), autocommit=True) as conn:
        deleted = store.delete_demo_users(conn) if config.cleanup else None
        questions, skill_names = store.load_bank(conn, subject=None if config.subject == "all" else config.subject)
        world = build_world(questions=questions, skill_names=skill_names)
        subject = None if config.subject == "all" else store.subject_id(conn, config.subject)
        rng = np.random.default_rng(config.seed)
        dynamics = LearnerDynamics(learn_rate=config.learn_rate)
        cohort = SimulatedCohort.random(n_learners=config.learners, n_skills=len(world.skill_ids), rng=rng,
                                        dynamics=dynamics)
        base_ability = cohort.abilities(now=datetime.now(UTC)).mean(axis=1)  # nobody has practised: any `now`
        groups = assign_groups(ability=list(base_ability), control_share=config.control_share, rng=rng)
        schedule = practice_schedule(n_learners=config.learners, days=config.days, rng=rng,
                                     sessions_per_day=config.sessions_per_day,
                                     sessions_per_week=config.sessions_per_week)
        learner_rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(config.learners)]
        users = store.create_users(conn, run_tag=run_tag, count=config.learners)
        # A learner practising one SAT section prepares that section (readiness is about its score).
        section = config.subject if config.subject in store.TARGET_COLUMNS else None
        if section is not None:
            store.prepare_section(conn, users, section=section, target=DEFAULT_SECTION_TARGET)
        tokens = [learner_jwt(u, secret=settings.jwt_secret, ttl_seconds=TOKEN_TTL_SECONDS) for u in users]
        today = datetime.now(UTC).date()
        first_date = today
        setup_seconds = time.perf_counter() - started
        total_answers = int(schedule.sum()) * config.questions_per_session
        print(f"demo run {run_tag}: {config.learners} learners, {int(schedule.sum())} sessions, up to "
              f"{total_answers} answers over {config.days} simulated days (subject {config.subject}); "
              f"output in {config.output}/", file=stream, flush=True)
        maintenance_token = secrets.token_urlsafe(32)
        gateway = GatewayProcess(settings, maintenance_token=maintenance_token,
                                 log_path=config.output / "gateway.log", append_log=False)
        limits = httpx.Limits(max_connections=config.workers + 2, max_keepalive_connections=config.workers + 2)
        with gateway, httpx.Client(timeout=120.0, limits=limits) as http:
            client = FunctionsClient(http=http, base_url=gateway.url, maintenance_token=maintenance_token)
            runner = CohortRunner(
                client=client, world=world, cohort=cohort, users=users, tokens=tokens, groups=groups,
                rngs=learner_rngs, schedule=schedule, questions_per_session=config.questions_per_session,
                subject_id=subject, first_date=first_date, run_tag=run_tag,
                read_mastery=lambda ids: store.read_mastery(conn, ids),
                forget_maintenance=lambda run_date: store.forget_maintenance_runs(conn, run_date),
                took=lambda session_id, question_id, seconds: store.took(conn, session_id, question_id, seconds))
            practice_started = time.perf_counter()
            run = runner.run(workers=config.workers, progress=ProgressBar(total=total_answers, days=config.days))
            practice_seconds = time.perf_counter() - practice_started
            summary_started = time.perf_counter()
            sample = sample_learner(run)
            # every learner's insights when they prepare one section: its predicted score against the truth
            everyone = [client.insights(t, days=30) for t in tokens] if section is not None else []
            insights = everyone[sample] if everyone else client.insights(tokens[sample], days=30)
        demo_users_now = store.count_demo_users(conn)

    header = report.header_lines(report.RunFacts(
        run_tag=run_tag, learners=config.learners, adaptive=groups.count(ADAPTIVE), control=groups.count(CONTROL),
        days=config.days, subject=config.subject, skills=len(world.skill_ids), questions=len(world.questions),
        sessions=len(run.sessions), answers=len(run.events),
        grading_agreed=sum(e.intended_correct == e.server_correct for e in run.events),
        practice_seconds=practice_seconds, workers=config.workers, first_date=first_date.isoformat(),
        last_date=datetime.now(UTC).date().isoformat(),
        maintenance=maintenance_totals(run.days)))
    analysis = analyse(run, world, users=users, mastery_theta=dynamics.mastery_theta, insights=insights,
                       sample=sample)
    if section is not None:
        analysis.sections.append(_score_recovery(run, world, dynamics, everyone, section=section))
    files = [*write_plots(run, world, analysis, mastery_theta=dynamics.mastery_theta, output=config.output),
             write_events(run, path=config.output / "events.csv"), config.output / "summary.txt"]
    web_url = f"{settings.api_url}/app/?learner={users[sample]}#progress"
    footer = report.footer_lines(
        created=len(users), run_tag=run_tag, demo_users_now=demo_users_now, deleted=deleted,
        web_url=web_url, web_learner=f"learner #{sample} ({groups[sample]})",
        files=[str(f) for f in files], total_seconds=time.perf_counter() - started,
        phases={"setup": setup_seconds, "practice": practice_seconds,
                "summary and plots": time.perf_counter() - summary_started})
    sections = [header, *analysis.sections, footer]
    lines = [line for section in sections for line in ("", *section)][1:]  # a blank line between sections
    files[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines), file=stream, flush=True)
    if config.serve:
        serve_web_client(settings, web_url, log_path=config.output / "web_gateway.log", out=stream)
    return DemoOutcome(run_tag=run_tag, users=tuple(users), groups=groups, answers=len(run.events),
                       sessions=len(run.sessions), files=tuple(files), summary=tuple(lines))


def serve_web_client(settings: StackSettings, url: str, *, log_path: Path, out: TextIO) -> None:
    """The gateway on the stack's own API port (the printed URL) until Ctrl-C; a no-op if one runs there."""
    try:
        with GatewayProcess(settings, port=settings.api_port, log_path=log_path, append_log=False):
            print(f"\nServing the web client: open {url}  (Ctrl-C stops it)", file=out, flush=True)
            signal.pause()
    except KeyboardInterrupt:
        print("\nweb client stopped", file=out)
    except RuntimeError as exc:  # the port is taken, e.g. by `make gateway`, which serves the same URL
        print(f"\nnot serving the web client ({exc}); `make gateway` serves {url}", file=out)


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    try:
        run_demo(config)
    except KeyboardInterrupt:
        print("\ninterrupted: the gateway is stopped; this run's demo users stay until `--cleanup`.",
              file=sys.stderr)
        return 130
    return 0
