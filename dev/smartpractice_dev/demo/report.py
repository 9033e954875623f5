"""The printed summary: plain text lines built from the computed figures (pure: values in, strings out)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smartpractice_dev.demo.metrics import Calibration, Correlation, GroupSuccess, MasterySummary, ScoreRecovery
from smartpractice_dev.demo.world import ADAPTIVE, CONTROL

GROUP_NAMES = {ADAPTIVE: "adaptive", CONTROL: "control (random)"}


def _num(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _pct(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.1f} %"


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


@dataclass(frozen=True, slots=True)
class RunFacts:
    run_tag: str
    learners: int
    adaptive: int
    control: int
    days: int
    subject: str
    skills: int
    questions: int
    sessions: int
    answers: int
    grading_agreed: int
    practice_seconds: float
    workers: int
    first_date: str
    last_date: str
    maintenance: Mapping[str, Mapping[str, int]]


def header_lines(facts: RunFacts) -> list[str]:
    rate = facts.answers / facts.practice_seconds if facts.practice_seconds > 0 else float("nan")
    bkt = facts.maintenance.get("bkt_refit", {})
    irt = facts.maintenance.get("irt_calibration", {})
    fit = facts.maintenance.get("predictor_fit", {})
    return [
        f"Smart Practice demo, run {facts.run_tag}: {facts.learners} simulated learners ({facts.adaptive} adaptive, "
        f"{facts.control} control) over {facts.days} simulated days, subject {facts.subject} "
        f"({facts.skills} skills, {facts.questions} questions)",
        f"  {facts.answers:,} answers in {facts.sessions:,} sessions through the real functions; the server's grading "
        f"matched the simulated learner's intent on {facts.grading_agreed:,}/{facts.answers:,}",
        f"  practice took {duration(facts.practice_seconds)} ({_num(rate, '.1f')} answers/s with {facts.workers} "
        f"workers); run_maintenance ran after each simulated day (run date {facts.last_date}; BKT refit fitted "
        f"{bkt.get('skills_fitted', 0)} skill-parameter sets over {bkt.get('runs', 0)} runs; IRT calibrated "
        f"{irt.get('items_calibrated', 0)} items; the predictor's weights were fitted {fit.get('weights_fitted', 0)} "
        f"times and {fit.get('items_calibrated', 0)} of its difficulties calibrated)",
    ]


def correlation_lines(by_estimate: Mapping[str, Correlation]) -> list[str]:
    lines = ["Estimated vs true ability (truth = simulated θ at the end; over the learner × skill pairs the backend "
             "has a mastery row for; per learner = means over those pairs):"]
    for name, c in by_estimate.items():
        lines.append(f"  {name:<31} n={c.n:<6,} Pearson {_num(c.pearson)}   Spearman {_num(c.spearman)}")
    return lines


def success_lines(by_group: Mapping[str, GroupSuccess], band: tuple[float, float]) -> list[str]:
    lines = [f"Served success rate (target band {band[0]:.2f}–{band[1]:.2f}):"]
    for group, s in by_group.items():
        inside = "inside" if band[0] <= s.rate <= band[1] else "outside"
        lines.append(f"  {GROUP_NAMES[group]:<17} {_num(s.rate)} ({inside} the band; {s.correct:,}/{s.answered:,} "
                     f"correct; mean predicted {_num(s.mean_predicted)}, {_pct(s.share_predicted_in_band)} of "
                     f"questions predicted inside the band)")
    return lines


def mastery_lines(by_group: Mapping[str, MasterySummary], *, mastery_theta: float,
                  skills_per_answer: Mapping[str, float] | None = None, bank_skills_per_question: float | None = None,
                  ) -> list[str]:
    lines = [
        f"Questions to true mastery (learner × skill pairs with true θ < {mastery_theta:g} at the start; count = "
        f"questions practising the skill until θ ≥ {mastery_theta:g}; pairs not mastered by the end are censored: "
        "counted in the share, left out of the mean):",
    ]
    for group, m in by_group.items():
        lines.append(
            f"  {GROUP_NAMES[group]:<17} mastered {m.mastered_pairs:,}/{m.eligible_pairs:,} eligible pairs "
            f"({_pct(m.share_mastered)}; {m.practised_pairs:,} practised), mean {_num(m.mean_questions, '.1f')} "
            f"questions (median {_num(m.median_questions, '.0f')}); censored pairs had "
            f"{_num(m.censored_mean_practised, '.1f')} questions so far")
    if ADAPTIVE in by_group and CONTROL in by_group:
        a, c = by_group[ADAPTIVE], by_group[CONTROL]
        lines.append(f"  adaptive / control: mean questions ×{_num(a.mean_questions / c.mean_questions)}, "
                     f"share mastered ×{_num(a.share_mastered / c.share_mastered)}"
                     if c.mean_questions and c.share_mastered else "  adaptive / control: n/a")
    if skills_per_answer:
        lines.append("  skills practised per answer (a question practises all its skills): " + ", ".join(
            f"{GROUP_NAMES[g]} {v:.2f}" for g, v in skills_per_answer.items())
            + (f"; the bank averages {bank_skills_per_question:.2f}" if bank_skills_per_question else ""))
    return lines


def calibration_lines(by_group: Mapping[str, Calibration]) -> list[str]:
    lines = ["Calibration of next_question's predicted P(correct), the served predictor (10 bins):"]
    for group, table in by_group.items():
        worst = max(table.bins, key=lambda b: abs(b.observed_rate - b.mean_predicted) * b.count)
        lines.append(f"  {GROUP_NAMES[group]:<17} Brier {table.brier:.3f}, expected calibration error "
                     f"{table.expected_calibration_error:.3f}, AUC {table.auc:.3f}, log-loss {table.log_loss:.3f} "
                     f"(largest weighted gap: predicted "
                     f"{worst.mean_predicted:.2f} vs observed {worst.observed_rate:.2f}, n={worst.count})")
    return lines


def insights_lines(insights: Mapping[str, Any], *, learner: int, group: str, true_theta: Mapping[int, float],
                   skill_names: Mapping[int, str]) -> list[str]:
    """The key parts of one learner's insights response, with the simulated truth beside the gaps."""
    readiness = insights.get("readiness") or {}
    lines = [f"Sample learner #{learner} ({GROUP_NAMES[group]}) — insights:"]
    days = readiness.get("days_to_ready")
    days_text = str(days) if days is not None else f"n/a ({readiness.get('days_to_ready_reason') or 'no reason given'})"
    if readiness.get("predicted_score") is None and readiness.get("reason"):
        lines.append(f"  readiness ({readiness.get('scope')}): no predicted score: {readiness['reason']}")
    else:
        lines.append(f"  readiness: predicted score {_num(readiness.get('predicted_score'), '.0f')} "
                     f"[{_num(readiness.get('low'), '.0f')}, {_num(readiness.get('high'), '.0f')}], pass probability "
                     f"{_pct(readiness.get('pass_probability'))}, "
                     f"readiness {_num(readiness.get('readiness_pct'), '.0f')} %, "
                     f"days to ready {days_text}")
    scores = insights.get("predicted_scores") or {}
    for section in scores.get("sections") or []:
        shown = (f"{section['score']:.0f} [{section['low']:.0f}, {section['high']:.0f}]"
                 if section.get("score") is not None else f"n/a ({section.get('reason')})")
        lines.append(f"  {section['section']}: {shown}; from the {scores.get('score_source') or 'unknown'} route, "
                     f"θ's SE {_num(scores.get('ability_se'), '.2f')} logits, "
                     f"{_num(section.get('answers'), 'd')} answers in the section")
    gaps = list(insights.get("knowledge_gaps") or [])[:3]
    for gap in gaps:
        theta = true_theta.get(int(gap["skill_id"]))
        lines.append(f"  gap: {gap['skill_name']} — {gap['severity']}, priority {gap['priority']:.1f} (true θ "
                     f"{_num(theta, '+.2f')}): {gap['recommendation']}")
    if not gaps:
        lines.append("  gaps: none reported")
    mastery = list(insights.get("mastery") or [])
    trends = {t: sum(1 for m in mastery if m.get("trend") == t) for t in ("improving", "stable", "declining")}
    lines.append(f"  trends over {len(mastery)} practised skills: {trends['improving']} improving, "
                 f"{trends['stable']} stable, {trends['declining']} declining "
                 "(on the backend's clock the whole run took minutes)")
    strongest = ", ".join(f"{s['skill_name']} {s['effective_mastery']:.2f}" for s in insights.get("strongest") or [])
    weakest = ", ".join(f"{s['skill_name']} {s['effective_mastery']:.2f}" for s in insights.get("weakest") or [])
    lines.append(f"  strongest: {strongest or 'n/a'}; weakest: {weakest or 'n/a'}")
    peers = insights.get("peer_percentile") or {}
    lines.append(f"  peer percentile: {_num(peers.get('percentile'), '.0f')} (cohort {peers.get('cohort_size', 0)}, "
                 f"{'k-anonymous' if peers.get('k_anonymous') else 'not k-anonymous: withheld'})")
    alerts = insights.get("alerts") or []
    lines.append("  alerts: " + ("; ".join(f"{a['severity']}: {a['message']}" for a in alerts) if alerts else "none"))
    unknown = [s for s in (int(m["skill_id"]) for m in mastery) if s not in skill_names]
    if unknown:
        lines.append(f"  ({len(unknown)} skills outside the demo's subject)")
    return lines


def footer_lines(*, created: int, run_tag: str, demo_users_now: int, deleted: int | None,
                 files: Sequence[str], total_seconds: float, phases: Mapping[str, float], web_url: str,
                 web_learner: str) -> list[str]:
    lines = [f"Web client: {web_url}",
             f"  signed in as {web_learner} with this run's history (the local stack's dev sign-in); "
             "`make gateway` serves it"]
    if deleted is not None:
        lines.append(f"Cleanup: deleted {deleted:,} users of earlier demo runs.")
    lines.append(f"Demo users: created {created:,} (demo-{run_tag}-NNNN@demo.test); {demo_users_now:,} demo users are "
                 "in the database now — `--cleanup` on the next run deletes them (and everything they did).")
    lines.append("Files:")
    lines.extend(f"  {f}" for f in files)
    lines.append(f"Wall time: {duration(total_seconds)} (" + ", ".join(
        f"{name} {duration(seconds)}" for name, seconds in phases.items()) + ")")
    return lines


def score_recovery_lines(recovery: ScoreRecovery, *, section: str) -> list[str]:
    """insights' predicted section score (the production predictor) against the simulator's truth."""
    c = recovery.correlation
    lines = [f"Predicted {section} score (insights, the production predictor) vs the simulator's true expected score "
             f"over the same questions, at the end of the run ({recovery.learners} learners):"]
    if recovery.scored:
        lines.append(f"  {recovery.scored} scored: mean error {recovery.mean_error:+.0f} points (predicted − true), "
                     f"mean |error| {recovery.mean_abs_error:.0f}, the 90 % interval holds the true score for "
                     f"{100.0 * recovery.covered:.0f} %, correlation {_num(c.pearson, '.2f')} "
                     f"(Spearman {_num(c.spearman, '.2f')})")
    for reason, count in sorted(recovery.null_reasons.items()):
        lines.append(f"  {count} without a score: {reason}")
    return lines
