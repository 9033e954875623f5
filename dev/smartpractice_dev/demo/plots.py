"""The demo's PNG figures (matplotlib's object API with the Agg renderer: no pyplot, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless, before anything else of matplotlib draws

import numpy as np
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

from smartpractice.service.states import UNPRACTISED_MASTERY
from smartpractice_dev.demo.metrics import Calibration
from smartpractice_dev.demo.runner import CohortRun, SessionRecord
from smartpractice_dev.demo.world import ADAPTIVE, CONTROL, World

GROUP_STYLE = {ADAPTIVE: ("tab:blue", "adaptive (Thompson sampling)"), CONTROL: ("tab:orange", "control (random)")}
DPI = 110


def spread_learners(values: Sequence[float], *, among: Sequence[int], count: int) -> list[int]:
    """`count` learners of `among` spread over the range of `values` (lowest, …, median, …, highest)."""
    ordered = sorted(among, key=lambda i: (values[i], i))
    if len(ordered) <= count:
        return ordered
    positions = np.linspace(0, len(ordered) - 1, count).round().astype(int)
    return [ordered[p] for p in positions]


def _group_curve(series: np.ndarray, groups: Sequence[str], group: str) -> np.ndarray:
    mask = np.asarray(groups) == group
    return np.asarray(series[:, mask].mean(axis=1))


def growth_plot(run: CohortRun, *, mastery_theta: float, path: Path) -> Path:
    days = np.arange(len(run.days) + 1)
    before = np.full_like(run.initial_theta, UNPRACTISED_MASTERY)  # fresh users: no mastery rows yet
    backend = np.stack([before] + [d.backend_mastery for d in run.days]).mean(axis=2)
    true_theta = np.stack([run.initial_theta] + [d.true_theta for d in run.days])
    true_share = (true_theta >= mastery_theta).mean(axis=2)
    individuals = spread_learners(list(run.initial_theta.mean(axis=1)),
                                  among=[i for i, g in enumerate(run.groups) if g == ADAPTIVE], count=3)
    fig = Figure(figsize=(16, 4.8), dpi=DPI)
    panels = fig.subplots(1, 3)
    for axis, series, title, label in (
            (panels[0], backend, "Backend: mean effective mastery", "effective mastery (unpractised = BKT prior)"),
            (panels[1], true_share, f"Truth: share of skills with θ ≥ {mastery_theta:g}", "share truly mastered"),
            (panels[2], true_theta.mean(axis=2), "Truth: mean ability θ", "θ (logits)")):
        for group in (ADAPTIVE, CONTROL):
            if group in run.groups:
                color, name = GROUP_STYLE[group]
                axis.plot(days, _group_curve(series, run.groups, group), color=color, lw=2.5, label=f"{name} mean")
        for learner in individuals:
            axis.plot(days, series[:, learner], color="tab:blue", lw=0.8, ls="--", alpha=0.6,
                      label=f"adaptive learner #{learner}")
        axis.set(title=title, xlabel="simulated day (0 = before practice)", ylabel=label)
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    panels[0].set_ylim(0.0, 1.0)
    panels[1].set_ylim(0.0, 1.0)
    fig.suptitle("Mastery growth over the simulated calendar")
    fig.tight_layout()
    fig.savefig(path)
    return path


def heatmap_plot(run: CohortRun, world: World, *, mastery_theta: float, path: Path) -> Path:
    final = run.days[-1]
    order = np.argsort(final.true_theta.mean(axis=1), kind="stable")
    labels = [name if len(name) <= 22 else name[:21] + "…" for name in world.skill_names]
    fig = Figure(figsize=(max(10, 0.5 * len(labels) * 2), 7), dpi=DPI)
    left, right = fig.subplots(1, 2)
    # Truth on a diverging scale centred on the mastery threshold: red = truly mastered, blue = not yet.
    low = min(float(final.true_theta.min()), mastery_theta - 0.5)
    high = max(float(final.true_theta.max()), mastery_theta + 0.5)
    for axis, data, title, cmap, norm in (
            (left, final.backend_mastery[order], "Backend: final effective mastery", "viridis",
             Normalize(0.0, 1.0)),
            (right, final.true_theta[order], f"Truth: final θ (logits; mastered ≥ {mastery_theta:g})", "coolwarm",
             TwoSlopeNorm(vcenter=mastery_theta, vmin=low, vmax=high))):
        image = axis.imshow(data, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
        axis.set_title(title)
        axis.set_xticks(range(len(labels)), labels, rotation=70, ha="right", fontsize=7)
        axis.set_ylabel("learner (sorted by true mean θ)")
        fig.colorbar(image, ax=axis, shrink=0.8)
    fig.suptitle("Learner × skill: what the backend believes vs the simulated truth")
    fig.tight_layout()
    fig.savefig(path)
    return path


def calibration_plot(by_group: dict[str, Calibration], *, path: Path) -> Path:
    fig = Figure(figsize=(6.5, 7), dpi=DPI)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], color="grey", ls=":", label="perfect calibration")
    width = 0.1 / (len(by_group) + 1)
    for k, (group, table) in enumerate(by_group.items()):
        color, name = GROUP_STYLE[group]
        x = [b.mean_predicted for b in table.bins]
        top.plot(x, [b.observed_rate for b in table.bins], marker="o", color=color,
                 label=f"{name}: Brier {table.brier:.3f}, ECE {table.expected_calibration_error:.3f}")
        for b in table.bins:
            top.annotate(str(b.count), (b.mean_predicted, b.observed_rate), fontsize=6, color=color,
                         xytext=(3, -9), textcoords="offset points")
        bottom.bar([b.low + (k + 0.5) * width for b in table.bins], [b.count for b in table.bins], width=width,
                   color=color, align="edge")
    top.axhspan(0.60, 0.70, color="tab:green", alpha=0.08, label="target band 0.60–0.70")
    top.set(ylabel="observed share correct", xlim=(0, 1), ylim=(0, 1),
            title="Calibration of next_question's predicted P(correct)")
    top.grid(alpha=0.3)
    top.legend(fontsize=7, loc="upper left")
    bottom.set(xlabel="predicted P(correct) when served (reason.predicted_p_correct)", ylabel="answers")
    fig.tight_layout()
    fig.savefig(path)
    return path


def predicted_score_plot(sessions: Sequence[SessionRecord], *, learners: dict[int, str], cut_score: float,
                         path: Path) -> Path:
    """`learners`: learner index → legend label."""
    fig = Figure(figsize=(9, 5), dpi=DPI)
    axis = fig.subplots()
    colors = ["tab:blue", "tab:green", "tab:purple", "tab:red", "tab:brown", "tab:cyan"]
    for (learner, label), color in zip(learners.items(), colors, strict=False):
        mine = [s for s in sessions if s.learner == learner and s.predicted_score is not None]
        if not mine:
            continue
        # Simulated day of each session, later sessions of the same day a little to the right.
        x = np.array([s.day + 1 + 0.25 * sum(1 for o in mine[:k] if o.day == s.day) for k, s in enumerate(mine)])
        axis.plot(x, [s.predicted_score or 0.0 for s in mine], marker="o", color=color, label=label)
        axis.fill_between(x, [s.predicted_low or 0.0 for s in mine], [s.predicted_high or 0.0 for s in mine],
                          color=color, alpha=0.15)
    axis.axhline(cut_score, color="black", ls="--", lw=1, label=f"cut score {cut_score:g}")
    axis.set(title="Predicted exam score after each session (complete_session snapshots, 90 % interval)",
             xlabel="simulated day", ylabel="predicted score (200–800)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path
