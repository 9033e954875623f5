"""A small thread-safe progress bar on stderr: "day 3/14 [#####.....] 1234/4800 answers, 21 answers/s, eta 2:50".

On a terminal it redraws one line (throttled); elsewhere (a log, a CI capture) it prints one line per day.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2


def render(*, day: int, days: int, done: int, total: int, elapsed: float, width: int = BAR_WIDTH) -> str:
    share = min(1.0, done / total) if total else 1.0
    filled = round(share * width)
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("nan")
    eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta == eta else "?"
    return (f"day {day}/{days} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} answers, "
            f"{rate:.1f} answers/s, eta {eta_text}")


class ProgressBar:
    def __init__(self, *, total: int, days: int, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._interactive = bool(getattr(self._stream, "isatty", lambda: False)())
        self._total, self._days = total, days
        self._done, self._day = 0, 0
        self._started = time.perf_counter()
        self._drawn = 0.0
        self._lock = threading.Lock()

    @property
    def done(self) -> int:
        return self._done

    def _line(self) -> str:
        return render(day=self._day, days=self._days, done=self._done, total=self._total,
                      elapsed=time.perf_counter() - self._started)

    def start_day(self, day: int) -> None:
        with self._lock:
            self._day = day
            self._draw(force=True)

    def end_day(self) -> None:
        with self._lock:
            if not self._interactive:
                print(self._line(), file=self._stream, flush=True)

    def advance(self, answers: int = 1) -> None:
        with self._lock:
            self._done += answers
            self._draw(force=False)

    def _draw(self, *, force: bool) -> None:
        now = time.perf_counter()
        if self._interactive and (force or now - self._drawn >= REDRAW_SECONDS):
            self._drawn = now
            print("\r" + self._line(), end="", file=self._stream, flush=True)

    def close(self) -> None:
        with self._lock:
            if self._interactive:
                print("\r" + self._line(), file=self._stream, flush=True)
