"""Tables as text: a leaderboard or a comparison becomes a `TextTable`, which every output
format renders (each cell from a run folder escaped for its format).

Adding an output format: a function `TextTable -> str` and its `RENDERERS` entry; the command
line's `--format` choices come from here.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ibench.report.compare import Comparison
from ibench.report.differences import grouped
from ibench.report.leaderboard import Board
from ibench.safetext import latex_cell, md_cell


@dataclass
class TextTable:
    """A table ready for any format: text cells as a reader sees them (rounded), the exact
    values (what csv writes, under `value_header` when it differs), the notes, and the
    structured form json writes."""

    header: list[str]
    cells: list[list[str]]
    values: list[list[Any]]
    notes: list[str]
    data: Any
    value_header: list[str] = field(default_factory=list)


def to_csv(table: TextTable) -> str:
    """The exact values, one row a line (csv quotes; text is written as it is)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.value_header or table.header)
    writer.writerows(table.values)
    return out.getvalue()


def to_md(table: TextTable) -> str:
    """A markdown table and its notes; every cell and note escaped so it stays in its cell."""
    lines = ["| " + " | ".join(md_cell(h) for h in table.header) + " |",
             "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in table.cells]
    return "\n".join(lines + [""] + [f"- {md_cell(n)}" for n in table.notes]) + "\n"


def to_latex(table: TextTable) -> str:
    """A booktabs tabular (every special character escaped)."""
    header = table.header
    lines = ["\\begin{tabular}{l" + "r" * (len(header) - 1) + "}", "\\toprule",
             " & ".join(latex_cell(h) for h in header) + " \\\\", "\\midrule"]
    lines += [" & ".join(latex_cell(c) for c in row) + " \\\\" for row in table.cells]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def _json_safe(value: Any) -> Any:
    """A value for strict JSON: a missing number (NaN) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def to_json(table: TextTable) -> str:
    """The structured form, strict JSON."""
    return json.dumps(_json_safe(table.data), indent=2, default=str, allow_nan=False) + "\n"


RENDERERS: dict[str, Callable[[TextTable], str]] = {
    "md": to_md, "csv": to_csv, "json": to_json, "latex": to_latex}
# What `--format` offers: the terminal table, then every renderer.
FORMATS = ("table", *RENDERERS)


def render(table: TextTable, fmt: str) -> str:
    """The table in one of RENDERERS' formats."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(RENDERERS)}")
    return RENDERERS[fmt](table)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{value:.{digits}f}")


def _exact(value: float) -> float:
    """A value as exact as the arithmetic behind it (12 significant digits): an average's
    float noise (49.800000000000004) is not a digit of the result."""
    return float(f"{value:.12g}")


def board_table(board: Board) -> TextTable:
    """A leaderboard as a TextTable."""
    data = {"columns": board.columns, "notes": board.notes, "rows": [
        {"model": name, **{c: values.get(c) for c in board.columns}}
        for name, values in board.rows]}
    return TextTable(
        header=["model", *board.columns],
        cells=[[name, *[_fmt(values.get(c)) for c in board.columns]]
               for name, values in board.rows],
        values=[[name, *["" if values.get(c) is None else _exact(values[c])
                         for c in board.columns]]
                for name, values in board.rows],
        notes=board.notes, data=data)


def render_board(board: Board, fmt: str) -> str:
    """A leaderboard in one of RENDERERS' formats."""
    return render(board_table(board), fmt)


COMPARE_HEADER = ["task", "A", "B", "B - A", "95% interval", "p", "better in A", "better in B"]
# The terminal shows the first six: the numbers lead, and 80 columns hold them whole.
COMPARE_TERMINAL = 6


def comparison_cells(result: Comparison) -> list[list[str]]:
    """The compare table's rows as text (the terminal and md/latex show these); a row names
    its template only where it tells rows apart or A's and B's differ."""
    per_task: dict[str, int] = {}
    for r in result.rows:
        per_task[r.task] = per_task.get(r.task, 0) + 1
    cells = []
    for r in result.rows:
        c, label = r.result, r.task
        if r.template_a != r.template_b:
            label += f" ({r.template_a}/{r.template_b})"
        elif per_task[r.task] > 1:
            label += f" ({r.template_a})"
        cells.append([label, f"{c.value_a:.2f}", f"{c.value_b:.2f}", f"{c.difference:+.2f}",
                      f"[{c.low:+.1f}, {c.high:+.1f}]", f"{c.p_value:.3f}", str(c.better_in_a),
                      str(c.better_in_b)])
    return cells


def comparison_notes(result: Comparison) -> list[str]:
    """What a reader must know, then the settings that differ (A -> B), a line each."""
    tasks = {r.task for r in result.rows}
    return [*result.warnings, *(f"setting {line}" for line in
                                grouped(result.manifest_diff, tasks))]


def comparison_table(result: Comparison) -> TextTable:
    """`ibench compare` as a TextTable; its notes are the warnings and the settings that
    differ."""
    values = [[r.task, r.result.metric, r.template_a, r.template_b, r.result.n,
               r.result.value_a, r.result.value_b, r.result.difference, r.result.low,
               r.result.high, r.result.p_value, r.result.better_in_a, r.result.better_in_b]
              for r in result.rows]
    return TextTable(header=COMPARE_HEADER, cells=comparison_cells(result), values=values,
                     notes=comparison_notes(result), data=result.to_dict(),
                     value_header=["task", "metric", "template_a", "template_b", "n", "a", "b",
                                   "b_minus_a", "low", "high", "p", "better_in_a",
                                   "better_in_b"])


def render_comparison(result: Comparison, fmt: str) -> str:
    """`ibench compare` in one of RENDERERS' formats."""
    return render(comparison_table(result), fmt)
