"""What a run tells its caller: progress and messages as it goes (EvalHooks, which the CLI draws as
bars), and what happened to each task (TaskOutcome)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field


class EvalHooks:
    """Progress and messages; the CLI overrides these to draw bars and print."""

    def message(self, text: str) -> None:
        """A line for the user (stderr)."""
        print(text, file=sys.stderr)

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
