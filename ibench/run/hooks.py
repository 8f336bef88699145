"""What a run tells its caller: progress and messages as it goes (EvalHooks, which the CLI draws as
bars), and what happened to each task (TaskOutcome)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class EvalHooks:
    """Progress and messages; the CLI overrides these to draw bars and print."""

    def message(self, text: str) -> None:
        """A line for the user (stderr)."""
        print(text, file=sys.stderr)

    def suite_started(self, estimates: dict[str, int], share: tuple[int, int]) -> None:
        """Called once before the first task: each task's estimated requests (before its data
        is read) and this process's share of them (process, processes)."""

    def task_begins(self, index: int, count: int, task: str) -> None:
        """Called before each task (index counts from 1)."""

    def task_started(self, task: str, total: int, done: int) -> Callable[[int], None]:
        """Called before a task runs; returns the per-batch progress callback."""
        return lambda n: None

    def task_finished(self, task: str) -> None:
        """Called when a task's requests are all done."""

    stop = False
    stop_signal = 0  # the signal that asked for the stop (0: none yet)

    def stop_requested(self) -> bool:
        """True once Ctrl-C asked for a clean stop after the batch in flight."""
        return self.stop


@dataclass
class TaskOutcome:
    """What happened to one task in this invocation."""

    task: str
    status: str  # "ran", "skipped"
    message: str = ""
    requests: int = 0
    already_done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    batch_size: int | None = None
    oom_events: int = 0
    work: dict[str, int] = field(default_factory=dict)  # media loads, vision-encoder calls


class SuiteClock:
    """The whole run's progress: requests done and left over every task (a task's estimate is
    replaced by its count once its data is read), and the time left at the rate so far."""

    def __init__(self, estimates: dict[str, int]) -> None:
        self.estimates = dict(estimates)
        self.left = dict(estimates)
        self.counts: dict[str, int] = {}
        self.done = 0
        self.started = time.monotonic()

    def counted(self, task: str, requests: int) -> None:
        """A task's request count, known once its data is read; the tasks not read yet are
        estimated at the share of their split sizes the read ones came to (a --limit, a
        partial copy of the data, the sample pack)."""
        self.counts[task] = requests
        self.left[task] = requests
        promised = sum(self.estimates.get(t, 0) for t in self.counts)
        share = sum(self.counts.values()) / promised if promised else 1.0
        for other, estimate in self.estimates.items():
            if other not in self.counts:
                self.left[other] = round(estimate * min(share, 1.0))

    def advanced(self, task: str, n: int) -> None:
        self.done += n
        self.left[task] = max(0, self.left.get(task, 0) - n)

    def line(self, index: int, count: int, task: str) -> str:
        """`task 4 of 13: gqa; the run: N requests done, ~M left, about H:MM:SS more`."""
        left = sum(self.left.values())
        text = (f"task {index} of {count}: {task}; the run: {self.done:,} requests done, "
                f"~{left:,} left")
        elapsed = time.monotonic() - self.started
        if self.done and left:
            eta = int(elapsed / self.done * left)
            text += f", about {eta // 3600}:{eta // 60 % 60:02d}:{eta % 60:02d} more"
        return text
