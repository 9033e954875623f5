"""Where a demo run's served P(correct) is miscalibrated, from its `events.csv` (cli.write_events).

`python -m smartpractice_dev.demo.calibration_audit demo_output/events.csv [--draws 2000] [--seed 0]`

- Noise floor (consistency resampling): the ECE a perfectly calibrated predictor would show on the same
  served predictions, y ~ Bernoulli(predicted) drawn `draws` times (seeded); its mean and 95th percentile
  say how much of an observed ECE is sampling noise at this number of answers.
- Systematic part: the simulator knows each answer's true P, so the binned gap mean(true P) − mean(predicted)
  is the miscalibration without the outcome noise ("ECE vs true P").
- Slices: by predicted bin, group, simulated day (day 0 is served before the first nightly fit), the learner's
  answers so far, a first answer on one of the question's skills, one- vs multi-skill questions.
Pure functions over arrays; the main only reads the CSV and prints.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

from smartpractice.learner.prediction_metrics import ece

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Events:
    learner: npt.NDArray[np.int64]
    group: npt.NDArray[np.str_]
    day: npt.NDArray[np.int64]
    n_skills: npt.NDArray[np.int64]
    predicted: FloatArray
    true_p: FloatArray
    correct: FloatArray  # the server's grading, 0/1
    answer_index: npt.NDArray[np.int64]  # the learner's answers before this one


def read_events(path: Path) -> Events:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    learner = np.array([int(r["learner"]) for r in rows], dtype=np.int64)
    index = np.zeros(learner.size, dtype=np.int64)
    seen: dict[int, int] = {}
    for i, u in enumerate(learner.tolist()):  # events are in (day, learner, answer) order
        index[i] = seen.get(u, 0)
        seen[u] = index[i] + 1
    return Events(learner=learner, group=np.array([r["group"] for r in rows]),
                  day=np.array([int(r["day"]) for r in rows], dtype=np.int64),
                  n_skills=np.array([int(r["n_skills"]) for r in rows], dtype=np.int64),
                  predicted=np.array([float(r["predicted_p"]) for r in rows]),
                  true_p=np.array([float(r["true_p"]) for r in rows]),
                  correct=np.array([float(r["server_correct"]) for r in rows]), answer_index=index)


@dataclass(frozen=True, slots=True)
class NoiseFloor:
    mean: float
    p95: float


def noise_floor(*, predicted: FloatArray, draws: int, rng: np.random.Generator, bins: int = 10) -> NoiseFloor:
    """ECE of a perfectly calibrated predictor on these predictions: y ~ Bernoulli(predicted), `draws` times."""
    values = np.array([ece(rng.random(predicted.size) < predicted, predicted, bins=bins) for _ in range(draws)])
    return NoiseFloor(mean=float(values.mean()), p95=float(np.quantile(values, 0.95)))


def ece_against(*, predicted: FloatArray, outcome: FloatArray, bins: int = 10) -> float:
    """Binned ECE with any outcome per answer: 0/1 answers, or the true P (the noise-free gap)."""
    return ece(outcome, predicted, bins=bins)


@dataclass(frozen=True, slots=True)
class Slice:
    name: str
    n: int
    predicted: float
    true_p: float
    observed: float
    ece_observed: float
    ece_true: float

    @property
    def gap(self) -> float:
        """Mean true P − mean predicted: > 0 the predictor is too low on this slice."""
        return self.true_p - self.predicted


def slice_of(events: Events, mask: BoolArray, name: str) -> Slice:
    p, t, y = events.predicted[mask], events.true_p[mask], events.correct[mask]
    if p.size == 0:
        return Slice(name, 0, float("nan"), float("nan"), float("nan"), float("nan"), float("nan"))
    return Slice(name, int(p.size), float(p.mean()), float(t.mean()), float(y.mean()),
                 ece_against(predicted=p, outcome=y), ece_against(predicted=p, outcome=t))


def slices(events: Events, *, within: BoolArray, first_skill: BoolArray | None) -> list[Slice]:
    """The calibration slices of one group; the first-answer-on-a-skill pair only when `first_skill` is known
    (main's --skills: events.csv does not carry the questions' skills)."""
    out = [slice_of(events, within, "all")]
    edges = np.linspace(0.0, 1.0, 11)
    for lo, hi in pairwise(edges.tolist()):
        out.append(slice_of(events, within & (events.predicted >= lo) & (events.predicted < hi + (hi == 1.0)),
                            f"predicted [{lo:.1f}, {hi:.1f})"))
    for label, mask in (("day 0 (before the first nightly fit)", events.day == 0),
                        ("days 1-3", (events.day >= 1) & (events.day <= 3)),
                        ("days 4-7", (events.day >= 4) & (events.day <= 7)),
                        ("days 8+", events.day >= 8)):
        out.append(slice_of(events, within & mask, label))
    for lo, hi in ((0, 1), (1, 5), (5, 10), (10, 20), (20, 10_000)):
        out.append(slice_of(events, within & (events.answer_index >= lo) & (events.answer_index < hi),
                            f"answers so far {lo}-{hi - 1}" if hi < 10_000 else f"answers so far {lo}+"))
    if first_skill is not None:
        out.append(slice_of(events, within & first_skill, "first answer on one of its skills"))
        out.append(slice_of(events, within & ~first_skill, "all its skills answered before"))
    out.append(slice_of(events, within & (events.n_skills == 1), "one-skill questions"))
    out.append(slice_of(events, within & (events.n_skills > 1), "multi-skill questions"))
    return out


def first_on_skill(*, learner: Sequence[int], skills: Sequence[Sequence[int]]) -> BoolArray:
    """Per answer (in time order per learner): one of the question's skills was never answered before."""
    seen: set[tuple[int, int]] = set()
    out = np.zeros(len(learner), dtype=bool)
    for i, (u, k) in enumerate(zip(learner, skills, strict=True)):
        out[i] = any((u, s) not in seen for s in k)
        seen.update((u, s) for s in k)
    return out


def format_slice(s: Slice) -> str:
    return (f"  {s.name:<40} n {s.n:>5}  pred {s.predicted:.3f}  true {s.true_p:.3f}  obs {s.observed:.3f}  "
            f"true−pred {s.gap:+.3f}  ECE obs {s.ece_observed:.3f}  ECE vs true {s.ece_true:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartpractice_dev.demo.calibration_audit")
    parser.add_argument("events", type=Path)
    parser.add_argument("--skills", type=Path, help="CSV question_id,skill_ids (';'-joined) for first-on-skill")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    events = read_events(args.events)
    question = [int(r["question_id"]) for r in csv.DictReader(args.events.open(encoding="utf-8"))]
    if args.skills is not None:
        skill_table = {int(r["question_id"]): tuple(int(s) for s in r["skill_ids"].split(";"))
                 for r in csv.DictReader(args.skills.open(encoding="utf-8"))}
        first = first_on_skill(learner=events.learner.tolist(), skills=[skill_table[q] for q in question])
    else:
        first = None
    rng = np.random.default_rng(args.seed)
    for group in sorted(set(events.group.tolist())):
        within = events.group == group
        floor = noise_floor(predicted=events.predicted[within], draws=args.draws, rng=rng)
        table = slices(events, within=within, first_skill=first)
        print(f"{group}: {int(within.sum())} answers, ECE {table[0].ece_observed:.4f}; noise floor"
              f" (calibrated predictor, {args.draws} draws) mean {floor.mean:.4f}, 95th pct {floor.p95:.4f}")
        for s in table:
            print(format_slice(s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
