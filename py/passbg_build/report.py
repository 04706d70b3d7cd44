"""Build output: numbered step lines, detail lines, a tally of what was downloaded or changed; BuildError."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

MiB = 1024 * 1024


class BuildError(Exception):
    """A failure with a message that tells the user what failed and what to do."""


class Report:
    """Numbered step lines, detail lines and a tally of what was downloaded or changed."""

    def __init__(self, total_steps: int) -> None:
        self.total = total_steps
        self.step_no = 0
        self.downloaded_bytes = 0
        self.changed: list[str] = []
        self.tty = sys.stdout.isatty()

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"[{self.step_no}/{self.total}] {title}", flush=True)

    def info(self, text: str) -> None:
        print(f"      {text}", flush=True)

    def wrote(self, what: str) -> None:
        self.changed.append(what)

    def fetched(self, nbytes: int) -> None:
        self.downloaded_bytes += nbytes

    def progress(self, label: str) -> Callable[[int, int], None]:
        """A callback(done, total) printing MB progress: in place on a terminal, at quarters otherwise."""
        shown = {"quarter": -1, "t": 0.0}

        def update(done: int, total: int) -> None:
            text = f"      {label}: {done / MiB:.1f} / {total / MiB:.1f} MB"
            if self.tty:
                now = time.monotonic()
                if done >= total or now - shown["t"] > 0.2:
                    shown["t"] = now
                    end = "\n" if done >= total else ""
                    print(f"\r{text}", end=end, flush=True)
                return
            quarter = 4 * done // total if total else 4
            if quarter > shown["quarter"]:
                shown["quarter"] = quarter
                print(text, flush=True)

        return update
