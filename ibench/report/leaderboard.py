"""Leaderboard and comparison tables, and their renderers (terminal, md, csv, json, latex)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from ibench.models.families import paper_rows
from ibench.protocol.paper import (
    PaperTable,
    held_out_order,
    in_paper_tables,
    other_table,
    paper_tables,
)
from ibench.report.differences import protocol_differences
from ibench.run.predictions import lost_lines
from ibench.run.schema import Manifest, TaskMetrics, open_run, read_metrics


@dataclass
class Board:
    """A leaderboard: named rows of values per dataset of one paper table (None where there
    is none)."""

    columns: list[str]
    rows: list[tuple[str, dict[str, float | None]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    title: str = ""

    def grouped_notes(self) -> list[tuple[str, list[str]]]:
        """The notes grouped by the row they are about (`row name: note`), each row named
        once; notes about no row first, under ""."""
        names = sorted({name for name, _ in self.rows}, key=len, reverse=True)
        groups: dict[str, list[str]] = {}
        for note in self.notes:
            name = next((n for n in names if note.startswith(f"{n}: ")), "")
            groups.setdefault(name, []).append(note[len(name) + 2:] if name else note)
        return sorted(groups.items(), key=lambda item: item[0] != "")


def boards_for(run_paths: list[Path], which: str = "auto", include_reference: bool = True,
               runs_columns: bool = False) -> list[Board]:
    """The leaderboards asked for (a table of results/reference/tables.yaml, or "others": the
    runs' tasks outside the paper's tables), or ("auto") those the runs have tasks of: Table
    1's when they have a held-out task, each other table when they have one of its datasets
    outside Table 1, and "others" when they have tasks of no table. `runs_columns` keeps only
    the columns of the runs' tasks (eval shows its run so; the full table is `leaderboard`'s)."""
    tables = paper_tables()
    tasks: list[str] = []
    for path in run_paths:
        tasks += [t for t in open_run(path)[1].settings.get("tasks", []) if t not in tasks]
    others = other_table(sorted(t for t in tasks if not in_paper_tables(t)))
    if which == "others":
        return [build_board(others, run_paths, include_reference)]
    if which != "auto":
        return [build_board(tables[which], run_paths, include_reference)]
    held_out = set(held_out_order())
    chosen = [table for table in tables.values()
              if set(tasks) & (set(table.columns) - (held_out if table.name != "held-out"
                                                     else set()))]
    if others.columns:
        chosen.append(others)
    if runs_columns:  # cut to some of its columns, a table has no average of them to show
        chosen = [table if set(table.columns) <= set(tasks) else replace(
                      table, columns=tuple(c for c in table.columns if c in tasks),
                      average="none" if table.average == "all" else table.average)
                  for table in chosen]
    return [build_board(table, run_paths, include_reference)
            for table in chosen or [tables["held-out"]]]


def build_leaderboard(run_paths: list[Path], include_reference: bool = True) -> Board:
    """Table 1's board: the paper's rows and each run's, a run with a paper row followed by
    its difference to it."""
    return build_board(paper_tables()["held-out"], run_paths, include_reference)


def build_board(table: PaperTable, run_paths: list[Path], include_reference: bool = True
                ) -> Board:
    """One paper table's board: its published rows, then a row per run (and, for a run whose
    checkpoint has a published row in the table, its difference to that row), with the notes a
    reader needs before comparing them."""
    columns = list(table.columns)
    board = Board(columns=columns + ([] if table.average == "none" else ["average"]),
                  title=table.title)
    average = (lambda v: v) if table.average == "none" else (
        lambda v: with_average(v, columns))
    published = dict(table.rows())
    if include_reference:
        board.rows += [(name, values if table.average not in ("all", "none") else average(values))
                       for name, values in published.items()]
        if table.note:
            board.notes.append(table.note)
    settings = []
    for path in run_paths:
        run, manifest = open_run(path)
        settings.append(manifest.settings)
        scored = read_metrics(run.metrics)[1] if run.metrics.exists() else {}
        values = {t: scored[t].value if t in scored else None for t in columns}
        name = run_row_name(run.path.name, manifest)
        board.rows.append((name, average(values)))
        board.notes += run_notes(name, manifest, scored, table)
        board.notes += [f"{name}: damaged: {lost} (run its eval command again to repair it)"
                        for task, lost in lost_lines(run, manifest.tasks) if task in columns]
        own = manifest.settings  # a local copy says which checkpoint it is
        paper = paper_rows().get(str(own.get("published_as") or own.get("model")))
        if paper and paper in published and table.average == "all":
            diff = {t: values[t] - published[paper][t]  # type: ignore[operator]
                    if values[t] is not None and published[paper].get(t) is not None else None
                    for t in columns}
            board.rows.append((f"  difference to {paper}", average(diff)))
    differing = list(dict.fromkeys(key for first in settings[:1] for other in settings[1:]
                                   for key in protocol_differences(first, other)))
    for key in differing:
        board.notes.append(f"the runs differ in {key}: their rows are not directly comparable")
    return board


def with_average(values: dict[str, float | None], columns: list[str]) -> dict[str, float | None]:
    """Add the mean over the table's columns ("average"); none unless every column has a
    value, since a mean over different subsets of tasks does not compare."""
    present = [values.get(t) for t in columns]
    complete = all(v is not None for v in present)
    return {**values, "average": sum(present) / len(present) if complete else None}  # type: ignore[arg-type]


def run_row_name(run_name: str, manifest: Manifest) -> str:
    """A run's row label in every table: the run, its model alias, and DEMO for a demo run."""
    demo = ", DEMO" if manifest.demo_reasons() else ""
    return f"{run_name} ({manifest.settings.get('model_alias')}{demo})"


def run_notes(name: str, manifest: Manifest, tasks: dict[str, TaskMetrics],
              table: PaperTable) -> list[str]:
    """What a reader must know before comparing a run's row with the paper's (for the
    datasets of one table)."""
    order, label = table.columns, table.name
    notes = []
    demo = manifest.demo_reasons()
    if demo:
        notes.append(f"{name}: a DEMO run ({' and '.join(demo)}): its numbers mean nothing "
                     "and compare with nothing")
    gen = manifest.settings.get("gen_kwargs")
    if gen:
        notes.append(f"{name}: decoding overridden with --gen-kwargs ({json.dumps(gen)}): not "
                     "comparable to the paper")
    info = manifest.model_info
    if info.get("protocol_differences"):  # another vision-language model (models/vlm.py)
        notes.append(f"{name}: {info.get('family')}, not InstructBLIP (no paper row); its "
                     f"protocol differs: {'; '.join(map(str, info['protocol_differences']))}")
    scored = [t for t in order if t in tasks and tasks[t].value is not None]
    if len(scored) < len(order) and table.average != "none":
        notes.append(f"{name}: {len(scored)} of {len(order)} {label} tasks scored, so no "
                     "average")
    if manifest.status not in (None, "complete"):
        notes.append(f"{name}: the run is {manifest.status}")
    limit = manifest.settings.get("limit")
    if limit is not None:
        notes.append(f"{name}: --limit {limit}: a seeded subset, not the full split")
    for task_id in order:
        result = tasks.get(task_id)
        if result is None:
            continue
        entry = result.entry
        if result.status in ("not scored", "skipped"):
            notes.append(f"{name}: {task_id} {result.status}: {result.reason}")
        elif result.headline_is_zero_shot is False:
            notes.append(f"{name}: {task_id} is scored with template "
                         f"{result.headline_template}, not the zero-shot prompt")
        failures = dict(result.failures)
        bad = failures.pop("bad_record", 0)
        if bad:
            notes.append(f"{name}: {task_id}: {bad} bad records in the data, left out of the "
                         "metric (see the predictions' reasons): not comparable to the paper")
        failed = sum(failures.values())
        if failed:
            notes.append(f"{name}: {task_id}: {failed} failed requests scored as wrong")
        variant = entry.get("metric_options", {}).get("variant")
        if variant:
            notes.append(f"{name}: {task_id}: VQA accuracy by its dataset's evaluator "
                         f"(variant {variant}; metrics.json says what it does)")
    for task_id, source in manifest.settings.get("data_sources", {}).items():
        if task_id not in order or not isinstance(source, dict) or source.get(
                "layout") != "hub":
            continue
        if not source.get("revision"):
            notes.append(f"{name}: {task_id} read a hub mirror of {source.get('repo')} of "
                         "unknown revision (a copy without download metadata)")
        elif source.get("pinned") and source["revision"] != source["pinned"]:
            notes.append(f"{name}: {task_id} read {source.get('repo')} at revision "
                         f"{source['revision']}, not the pinned {source['pinned']}")
    if "vizwiz" in order and "vizwiz" in tasks and tasks["vizwiz"].value is not None:
        notes.append(f"{name}: vizwiz is the val split scored locally; the paper's VizWiz number "
                     "is test-dev, which only the VizWiz server scores")
    for task_id, result in tasks.items():
        if result.status == "submission" and task_id in order:
            entry = result.entry
            notes.append(f"{name}: {task_id}: its number comes from the {entry['format']} "
                         f"server: upload {entry['file']} ({entry['n']} answers) to "
                         f"{entry['server']}")
    return notes


# ------------------------------------------------------------------------------------- compare
