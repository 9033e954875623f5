"""Command line of the demo: flags → one frozen DemoConfig (defaults sized for a few minutes on 2 cores)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

SUBJECTS = ("math", "reading_writing", "science", "all")

# Defaults: 200 learners × 2 weeks × 3 sessions a week × 5 questions = 6,000 answers, which the local stack
# serves at ~30 answers/s with 4 workers on 2 cores: about 3½ minutes of practice, under 5 minutes in all.
DEFAULT_LEARNERS = 200
DEFAULT_WEEKS = 2
DEFAULT_SESSIONS_PER_WEEK = 3.0
DEFAULT_QUESTIONS_PER_SESSION = 5
# The toolkit's default learning rate (2 % of the gap to max_theta per practice) needs ~20 practices of a
# skill to move an average learner to mastery; the demo compresses a term into ~30 answers a learner, so its
# learners learn 4× faster (8 %, 12 % after an error) — enough for true mastery to be reached and measured.
DEFAULT_LEARN_RATE = 0.08
QUICK = {"learners": 6, "days": 2, "sessions_per_day": 1.0, "questions_per_session": 3}


@dataclass(frozen=True, slots=True)
class DemoConfig:
    learners: int = DEFAULT_LEARNERS
    days: int = DEFAULT_WEEKS * 7
    sessions_per_day: float | None = None  # exactly one of sessions_per_day / sessions_per_week is set
    sessions_per_week: float | None = DEFAULT_SESSIONS_PER_WEEK
    questions_per_session: int = DEFAULT_QUESTIONS_PER_SESSION
    subject: str = "math"
    learn_rate: float = DEFAULT_LEARN_RATE
    control_share: float = 0.5
    seed: int = 7
    workers: int = 4
    output: Path = Path("demo_output")
    cleanup: bool = False
    serve: bool = False  # after the report, serve the web client on the stack's API port until Ctrl-C

    def __post_init__(self) -> None:
        if self.learners < 1 or self.days < 1 or self.questions_per_session < 1 or self.workers < 1:
            raise ValueError("learners, days, questions per session and workers must be >= 1")
        if (self.sessions_per_day is None) == (self.sessions_per_week is None):
            raise ValueError("set exactly one of sessions_per_day and sessions_per_week")
        rate = self.sessions_per_day if self.sessions_per_day is not None else self.sessions_per_week
        if rate is None or rate <= 0:
            raise ValueError("the session rate must be > 0")
        if self.subject not in SUBJECTS:
            raise ValueError(f"subject must be one of {', '.join(SUBJECTS)}")
        if not 0.0 < self.learn_rate <= 1.0 or not 0.0 <= self.control_share <= 1.0:
            raise ValueError("learn_rate must be in (0, 1] and control_share in [0, 1]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m smartpractice_dev.demo",
        description="Simulated cohort with known true abilities practising through the real functions on the "
                    "local stack; prints how well the backend recovers them and writes plots.")
    parser.add_argument("--learners", type=int, help=f"cohort size (default {DEFAULT_LEARNERS})")
    period = parser.add_mutually_exclusive_group()
    period.add_argument("--days", type=int, help="simulated days (default: 2 weeks)")
    period.add_argument("--weeks", type=int, help=f"simulated weeks (default {DEFAULT_WEEKS})")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--sessions-per-day", type=float, help="sessions per learner per simulated day")
    rate.add_argument("--sessions-per-week", type=float,
                      help="sessions per learner per simulated week, on random days "
                           f"(default {DEFAULT_SESSIONS_PER_WEEK:g})")
    parser.add_argument("--questions-per-session", type=int,
                        help=f"answers per session (default {DEFAULT_QUESTIONS_PER_SESSION})")
    parser.add_argument("--subject", choices=SUBJECTS, default="math",
                        help="the exam section the cohort practises (default math; 'all' = the whole bank)")
    parser.add_argument("--learn-rate", type=float, default=DEFAULT_LEARN_RATE,
                        help=f"simulated learning per practice (default {DEFAULT_LEARN_RATE}; toolkit default 0.02)")
    parser.add_argument("--control-share", type=float, default=0.5,
                        help="share of learners served uniformly random questions (default 0.5)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated world (default 7)")
    parser.add_argument("--workers", type=int, default=4, help="learners practising concurrently (default 4)")
    parser.add_argument("--output", type=Path, default=Path("demo_output"),
                        help="folder for the plots and summary (default demo_output/)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (6 learners, 2 days, 3 questions a session) unless flags say otherwise")
    parser.add_argument("--cleanup", action="store_true",
                        help="first delete the users of earlier demo runs (cascades through every table)")
    parser.add_argument("--serve", action=argparse.BooleanOptionalAction, default=None,
                        help="after the report, serve the web client (the printed URL) until Ctrl-C "
                             "(default: when run in a terminal)")
    return parser


def parse_config(argv: list[str] | None = None) -> DemoConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    quick: dict[str, float] = dict(QUICK) if args.quick else {}
    if args.weeks is not None:
        days = args.weeks * 7
    elif args.days is not None:
        days = args.days
    else:
        days = int(quick.get("days", DEFAULT_WEEKS * 7))
    per_day: float | None = args.sessions_per_day
    per_week: float | None = args.sessions_per_week
    if per_day is None and per_week is None:
        if "sessions_per_day" in quick:
            per_day = quick["sessions_per_day"]
        else:
            per_week = DEFAULT_SESSIONS_PER_WEEK
    try:
        return DemoConfig(
            learners=args.learners if args.learners is not None else int(quick.get("learners", DEFAULT_LEARNERS)),
            days=days, sessions_per_day=per_day, sessions_per_week=per_week,
            questions_per_session=(args.questions_per_session if args.questions_per_session is not None
                                   else int(quick.get("questions_per_session", DEFAULT_QUESTIONS_PER_SESSION))),
            subject=args.subject, learn_rate=args.learn_rate, control_share=args.control_share, seed=args.seed,
            workers=args.workers, output=args.output, cleanup=args.cleanup,
            serve=args.serve if args.serve is not None else sys.stdin.isatty() and sys.stdout.isatty(),
        )
    except ValueError as exc:
        parser.error(str(exc))
        raise  # parser.error exits; this keeps type checkers content
