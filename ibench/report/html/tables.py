"""The report's tables as plain records: the leaderboard with intervals, the difference to
the paper, template robustness, failures by kind, the manifest, and the two-run comparison.
The leaderboard and compare themselves come from ibench.report.leaderboard."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ibench.models.families import paper_rows
from ibench.protocol.paper import held_out_order, reference_rows
from ibench.report.compare import Comparison
from ibench.report.html.runs import ReportRun, TaskLines
from ibench.report.leaderboard import build_leaderboard

# A run whose model has no row in the paper is set against the row of its architecture.
ARCHITECTURE_ROWS = {"decoder-only": "InstructBLIP (Vicuna-7B)",
                     "encoder-decoder": "InstructBLIP (FlanT5XL)"}
MAX_REASONS = 200  # failure reasons listed per task (the counts are complete)


@dataclass
class Cell:
    """One leaderboard cell: a value and, for a run's own row, its 95% interval."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass
class BoardRow:
    """One leaderboard row; kind is paper, run or difference."""

    name: str
    kind: str
    cells: list[Cell]


@dataclass
class Leaderboard:
    """The leaderboard beside the paper's rows, and its notes."""

    columns: list[str]
    rows: list[BoardRow]
    notes: list[str]


def leaderboard(runs: list[ReportRun]) -> Leaderboard:
    """build_leaderboard's rows, each run's cells with their intervals from metrics.json."""
    board = build_leaderboard([r.path for r in runs])
    paper = {name for name, _ in reference_rows()}
    pending = list(runs)  # the runs' rows come in the runs' order, after the paper's
    rows = []
    for i, (name, values) in enumerate(board.rows):
        run = pending.pop(0) if i >= len(paper) and pending and (
            name == pending[0].board_name) else None
        kind = "paper" if run is None and name in paper else "run" if run else "difference"
        cells = []
        for column in board.columns:
            entry = run.tasks.get(column, {}) if run else {}
            low, high = _interval(entry)
            cells.append(Cell(values.get(column), low, high))
        rows.append(BoardRow(name, kind, cells))
    return Leaderboard(board.columns, rows, board.notes)


def _interval(entry: dict[str, Any]) -> tuple[float | None, float | None]:
    ci = entry.get("ci95")
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return float(ci[0]), float(ci[1])
    return None, None


@dataclass
class Difference:
    """A run's difference to one paper row, per dataset (with the interval shifted alike)."""

    run: str
    paper_row: str
    matched: bool  # the run's model is the paper row's; else the row of its architecture
    tasks: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    lows: list[float] = field(default_factory=list)
    highs: list[float] = field(default_factory=list)


def paper_row_for(run: ReportRun) -> tuple[str | None, bool]:
    """The paper row a run is set against, and whether it is the run's own model."""
    row = paper_rows().get(str(run.settings.get("model")))
    if row:
        return row, True
    architecture = run.manifest.model_info.get("architecture")
    return ARCHITECTURE_ROWS.get(str(architecture)), False


def differences(runs: list[ReportRun]) -> list[Difference]:
    """Per run: run value - paper value on every held-out dataset both have."""
    reference = dict(reference_rows())
    out = []
    for run in runs:
        row, matched = paper_row_for(run)
        if row is None or row not in reference:
            continue
        diff = Difference(run.name, row, matched)
        for task in held_out_order():
            entry, paper = run.tasks.get(task, {}), reference[row].get(task)
            if paper is None or not isinstance(entry.get("value"), (int, float)):
                continue
            low, high = _interval(entry)
            diff.tasks.append(task)
            diff.values.append(entry["value"] - paper)
            diff.lows.append((low if low is not None else entry["value"]) - paper)
            diff.highs.append((high if high is not None else entry["value"]) - paper)
        if diff.tasks:
            out.append(diff)
    return out


@dataclass
class Spread:
    """One task's scores across templates, and their summary."""

    task: str
    headline: str
    scores: list[tuple[str, float]]
    mean: float
    std: float
    low: float
    high: float


def robustness(run: ReportRun) -> list[Spread]:
    """Tasks run with several templates: the score per template and mean/std/min/max."""
    out = []
    for task, entry in run.tasks.items():
        spread = entry.get("across_templates")
        templates = entry.get("templates")
        if not isinstance(spread, dict) or not isinstance(templates, dict):
            continue
        scores = [(str(t), float(v["value"])) for t, v in sorted(templates.items())
                  if isinstance(v, dict) and isinstance(v.get("value"), (int, float))]
        out.append(Spread(task, str(entry.get("headline_template")), scores,
                          *(float(spread.get(k, float("nan")))
                            for k in ("mean", "std", "min", "max"))))
    return out


@dataclass
class FailureGroup:
    """One task's failures of one kind: the count and (up to MAX_REASONS) who and why."""

    task: str
    kind: str
    count: int
    lines: list[tuple[str, str, str]]  # sample id, template id, reason


def failures(run: ReportRun, lines: dict[str, TaskLines]) -> list[FailureGroup]:
    """Failures by task and kind with their reasons, from the prediction lines."""
    out = []
    for task, part in lines.items():
        kinds: dict[str, list[dict[str, Any]]] = {}
        for line in part.failures:
            kinds.setdefault(str(line.get("status")), []).append(line)
        for kind, group in sorted(kinds.items()):
            out.append(FailureGroup(task, kind, len(group), [
                (str(x.get("sample_id")), str(x.get("template_id")), str(x.get("reason") or ""))
                for x in group[:MAX_REASONS]]))
    return out


MANIFEST_SETTINGS = ("model", "model_revision", "model_alias", "dtype", "device",
                     "qformer_instruction", "templates", "limit", "seed", "frames", "data_root",
                     "hub_revision", "gen_kwargs", "include_paths", "stop_token_ids")
MANIFEST_DETAILS = ("decoding", "ranking", "data_sources", "task_hashes", "template_hashes")


def manifest_rows(run: ReportRun) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(setting, value) rows of a manifest: the headline ones, then the long ones as JSON."""
    manifest, settings = run.manifest, run.settings
    info = manifest.model_info
    sessions = manifest.sessions
    last = sessions[-1] if sessions and isinstance(sessions[-1], dict) else {}
    rows = [("run", run.name), ("status", manifest.status),
            ("created", manifest.created), ("ended", manifest.ended),
            ("ibench", manifest.ibench_version), ("git commit", manifest.git_commit)]
    rows += [(key, settings[key]) for key in MANIFEST_SETTINGS if key in settings]
    rows += [(f"model {k}", info[k]) for k in ("architecture", "family", "parameters") if k in info]
    rows += [("tasks", ", ".join(map(str, settings.get("tasks", []))))]
    rows += [("command", " ".join(map(str, last.get("command", [])))),
             ("batch size", last.get("batch_size")), ("processes", last.get("world_size"))]
    rows += [("packages", manifest.packages), ("host", manifest.host)]
    details = [(key, json.dumps(settings[key], indent=1, ensure_ascii=False, default=str))
               for key in MANIFEST_DETAILS if key in settings]
    return [(k, _show(v)) for k, v in rows if v not in (None, "", [])], details


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k} {_show(v)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass
class CompareTable:
    """`ibench compare` as the page shows it."""

    rows: list[dict[str, Any]]
    warnings: list[str]
    manifest_diff: list[tuple[str, str, str]]


def compare_table(result: Comparison) -> CompareTable:
    """The compare rows, warnings and differing settings, as plain values."""
    def shown(value: Any) -> str:
        if isinstance(value, (dict, list)):
            return json.dumps(value, indent=1, ensure_ascii=False, default=str)
        return _show(value)

    return CompareTable(
        rows=[row.to_dict() for row in result.rows], warnings=list(result.warnings),
        manifest_diff=[(k, shown(a), shown(b)) for k, a, b in result.manifest_diff])
