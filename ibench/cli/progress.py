"""What `ibench eval` shows while it runs (progress bars) and when it ends (the results table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
from ibench.run.folder import RunDir
from ibench.run.hooks import EvalHooks, TaskOutcome
from ibench.safetext import visible


class RichHooks(EvalHooks):
    """Messages on stderr and one progress bar per task, with rate and ETA."""

    def __init__(self, quiet: bool = False) -> None:
        self.err = console(stderr=True)
        self.progress: Progress | None = None
        self.quiet = quiet  # the other processes of a torchrun stay silent

    def message(self, text: str) -> None:
        if not self.quiet:
            self.err.print(text, markup=False, highlight=False)

    def task_started(self, task: str, total: int, done: int) -> Callable[[int], None]:
        if self.quiet:
            return lambda n: None
        if done:
            self.message(f"{task}: {done} requests already done, {total} to run")
        self.progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(), TextColumn("{task.fields[rate]}", markup=False),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.err, transient=False,
        )
        self.progress.start()
        bar = self.progress.add_task(visible(task), total=total, rate="")  # text, as data
        progress = self.progress

        def advance(n: int) -> None:
            progress.advance(bar, n)
            speed = progress.tasks[bar].speed
            progress.update(bar, rate=f"{speed:.2f} req/s" if speed else "")

        return advance

    def task_finished(self, task: str) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def print_metrics(run: RunDir, metrics: dict[str, Any], outcomes: list[TaskOutcome]) -> None:
    """The per-task results table, then where the files are."""
    rows = []
    for outcome in outcomes:
        entry = metrics.get("tasks", {}).get(outcome.task)
        if entry and entry.get("status") == "submission":
            failed = sum(entry["failures"].values())
            rows.append([outcome.task, "server", "-", "-", entry["n"],
                         f"{entry['file']} for the {entry['format']} server"
                         + (f" ({failed} failed, written empty)" if failed else "")])
            continue
        if outcome.status == "skipped" or not entry or "value" not in entry:
            why = "skipped: data missing or unusable" if outcome.status == "skipped" else (
                f"not scored: {entry.get('reason', 'no predictions')}" if entry else
                "no predictions")
            rows.append([outcome.task, entry.get("metric", "-") if entry else "-", "-", "-",
                         "-", why])
            continue
        low, high = entry["ci95"]
        failures = ", ".join(f"{k} {v}" for k, v in entry["failures"].items()) or "0"
        spread = entry.get("across_templates")
        note = (f"templates: mean {spread['mean']:.1f} sd {spread['std']:.1f} "
                f"[{spread['min']:.1f}, {spread['max']:.1f}]") if spread else ""
        if "candidate_coverage" in entry:
            note += f" coverage {100 * entry['candidate_coverage']:.1f}%"
        rows.append([outcome.task, entry["metric"], f"{entry['value']:.2f}",
                     f"[{low:.2f}, {high:.2f}]", entry["n"], f"failures: {failures} {note}"])
    print_table(f"Results: {run.path}", ["task", "metric", "value", "95% interval", "n", "notes"],
                rows)
    console().print(f"predictions, metrics.json and leaderboard.md are in {run.path}")
