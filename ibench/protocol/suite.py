"""The suite: every task file (shipped, then --include-path folders), keyed by id, and the tasks of
a split in the protocol's order."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ibench.protocol.paper import held_out_order
from ibench.protocol.taskfile import load_task_file
from ibench.protocol.taskspec import SPLITS, TaskError, TaskSpec
from ibench.protocol.yamlfile import read_catalog
from ibench.resources import included, resource_dir


def load_tasks(folder: Path | None = None) -> dict[str, TaskSpec]:
    """Every task file of a folder, keyed by id; by default the shipped tasks/, then those of
    the --include-path folders (an id given twice is an error naming both files)."""
    if folder is not None:
        return read_catalog([folder], load_task_file, "task files", "task id", TaskError)
    return read_catalog(included("tasks"), load_task_file, "task files", "task id", TaskError,
                        dict(_shipped_tasks()))


@cache
def _shipped_tasks() -> dict[str, TaskSpec]:
    return read_catalog([resource_dir("tasks")], load_task_file, "task files", "task id",
                        TaskError)


def select_tasks(
    tasks: dict[str, TaskSpec], split: str = "all", names: list[str] | None = None
) -> list[TaskSpec]:
    """Tasks of a split (held-in, held-out, server; all = held-in and held-out) or by name, in
    the protocol's order."""
    if names:
        from ibench.names import resolve_name

        return [tasks[resolve_name(n, list(tasks), "task")] for n in names]
    if split not in (*SPLITS, "all"):
        raise TaskError(f"unknown split {split!r}: use held-in, held-out, server or all")
    chosen = [t for t in tasks.values()
              if t.split == split or (split == "all" and t.split != "server")]
    return sorted(chosen, key=_order_key)


def _order_key(task: TaskSpec) -> tuple[int, int, str]:
    if task.id in held_out_order():
        return (1, held_out_order().index(task.id), task.id)
    return (0, 0, task.id)


def in_table_order(task_ids: list[str]) -> list[str]:
    """Task ids as the leaderboard shows them: Table 1's datasets in its column order, then
    the others by id."""
    order = held_out_order()
    return sorted(task_ids, key=lambda t: (0, order.index(t), t) if t in order else (1, 0, t))
