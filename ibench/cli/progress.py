"""What `ibench eval` shows while it runs (progress bars) and when it ends (the results table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ibench.cli.display import console, print_table
from ibench.run.hooks import EvalHooks, SuiteClock
from ibench.safetext import visible

if TYPE_CHECKING:
    from ibench.api import Run


class RichHooks(EvalHooks):
    """Messages on stderr and one progress bar per task, with rate and ETA."""

    def __init__(self, quiet: bool = False) -> None:
        self.err = console(stderr=True)
        self.progress: Progress | None = None
        self.quiet = quiet  # the other processes of a torchrun stay silent
        self.clock: SuiteClock | None = None
        self.share = (0, 1)

    def suite_started(self, estimates: dict[str, int], share: tuple[int, int]) -> None:
        self.clock, self.share = SuiteClock(estimates), share

    def task_begins(self, index: int, count: int, task: str) -> None:
        if self.clock is not None and count > 1:
            self.message(self.clock.line(index, count, visible(task)))

    def message(self, text: str) -> None:
        if not self.quiet:
            self.err.print(text, markup=False, highlight=False)

    def task_started(self, task: str, total: int, done: int) -> Callable[[int], None]:
        if self.quiet:
            return lambda n: None
        if done:
            self.message(f"{visible(task)}: {done} requests already done, {total} to run")
        if self.clock is not None:
            self.clock.counted(task, total)
        self.progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(), TextColumn("{task.fields[rate]}", markup=False),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.err, transient=False,
        )
        self.progress.start()
        process, processes = self.share
        label = visible(task) + (f" (process {process}'s share, 1/{processes})"
                                 if processes > 1 else "")
        bar = self.progress.add_task(label, total=total, rate="")  # text, as data
        progress, clock = self.progress, self.clock

        def advance(n: int) -> None:
            progress.advance(bar, n)
            if clock is not None:
                clock.advanced(task, n)
            speed = progress.tasks[bar].speed
            progress.update(bar, rate=f"{speed:.2f} req/s" if speed else "")

        return advance

    def task_finished(self, task: str) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def print_metrics(run: Run) -> None:
    """The per-task results table of an evaluation, then where the files are."""
    rows = []
    tasks = [o.task for o in run.outcomes] or list(run.scores)
    skipped = {o.task for o in run.outcomes if o.status == "skipped"}
    for task in tasks:
        result = run.scores.get(task)
        entry = result.entry if result is not None else {}
        if result is not None and result.status == "submission":
            failed = sum(result.failures.values())
            rows.append([task, "server", "-", "-", entry["n"],
                         f"{entry['file']} for the {entry['format']} server"
                         + (f" ({failed} failed, written empty)" if failed else "")])
            continue
        if task in skipped or result is None or result.value is None:
            why = "skipped: data missing or unusable" if task in skipped else (
                f"not scored: {result.reason or 'no predictions'}" if result is not None else
                "no predictions")
            rows.append([task, result.metric or "-" if result else "-", "-", "-", "-", why])
            continue
        failures = ", ".join(f"{k} {v}" for k, v in result.failures.items()) or "0"
        spread = entry.get("across_templates")
        note = (f"templates: mean {spread['mean']:.1f} sd {spread['std']:.1f} "
                f"[{spread['min']:.1f}, {spread['max']:.1f}]") if spread else ""
        if "candidate_coverage" in entry:
            note += f" coverage {100 * entry['candidate_coverage']:.1f}%"
        rows.append([task, result.metric, f"{result.value:.2f}",
                     f"[{result.low:.2f}, {result.high:.2f}]", result.n,
                     f"failures: {failures} {note}"])
    print_table(f"Results: {run.path}", ["task", "metric", "value", "95% interval", "n", "notes"],
                rows)
    console().print(f"predictions, metrics.json and leaderboard.md are in {run.path}")
