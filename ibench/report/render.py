"""Tables as text: the leaderboard and the comparison rendered as md, csv, json or latex (every
cell from a run folder escaped for its format)."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from ibench.report.compare import Comparison
from ibench.report.leaderboard import Board
from ibench.safetext import latex_cell, md_cell

FORMATS = ("table", "md", "csv", "json", "latex")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{value:.{digits}f}")


def render_board(board: Board, fmt: str) -> str:
    """Render a leaderboard as md, csv, json or latex text."""
    header = ["model", *board.columns]
    cells = [[name, *[_fmt(values.get(c)) for c in board.columns]] for name, values in board.rows]
    if fmt == "json":
        return json.dumps({"columns": board.columns, "notes": board.notes, "rows": [
            {"model": name, **{c: values.get(c) for c in board.columns}}
            for name, values in board.rows]}, indent=2) + "\n"
    raw = [[name, *["" if values.get(c) is None else values[c] for c in board.columns]]
           for name, values in board.rows]
    return render_cells(header, cells, fmt, board.notes, raw)


def render_cells(header: list[str], cells: list[list[str]], fmt: str, notes: list[str],
                 raw: list[list[Any]] | None = None) -> str:
    """A table of text cells as md, csv or latex (csv writes `raw`, the unrounded values,
    when given)."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(raw if raw is not None else cells)
        return out.getvalue()
    if fmt == "md":  # every cell and note escaped: it stays in its cell of its row
        lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in cells]
        return "\n".join(lines + [""] + [f"- {md_cell(n)}" for n in notes]) + "\n"
    if fmt == "latex":
        lines = ["\\begin{tabular}{l" + "r" * (len(header) - 1) + "}", "\\toprule",
                 " & ".join(latex_cell(h) for h in header) + " \\\\", "\\midrule"]
        lines += [" & ".join(latex_cell(c) for c in row) + " \\\\" for row in cells]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


COMPARE_HEADER = ["task", "metric", "templates A/B", "n", "A", "B", "B - A", "95% interval", "p",
                  "better in A", "better in B"]


def comparison_cells(result: Comparison) -> list[list[str]]:
    """The compare table's rows as text (the terminal and md/latex show these)."""
    return [[r.task, c.metric, f"{r.template_a}/{r.template_b}", str(c.n), f"{c.value_a:.2f}",
             f"{c.value_b:.2f}", f"{c.difference:+.2f}", f"[{c.low:+.2f}, {c.high:+.2f}]",
             f"{c.p_value:.3f}", str(c.better_in_a), str(c.better_in_b)]
            for r in result.rows for c in [r.result]]


def render_comparison(result: Comparison, fmt: str) -> str:
    """`ibench compare` as md, csv, json or latex, like the leaderboard's formats; the notes
    are its warnings and the settings that differ."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, default=str) + "\n"
    notes = [*result.warnings, *(f"setting {k} differs: A {a}, B {b}"
                                 for k, a, b in result.manifest_diff)]
    raw = [[r.task, r.result.metric, f"{r.template_a}/{r.template_b}", r.result.n,
            r.result.value_a, r.result.value_b, r.result.difference, r.result.low,
            r.result.high, r.result.p_value, r.result.better_in_a, r.result.better_in_b]
           for r in result.rows]
    if fmt == "csv":
        header = [*COMPARE_HEADER[:7], "low", "high", *COMPARE_HEADER[8:]]
        return render_cells(header, [], fmt, notes, raw)
    return render_cells(COMPARE_HEADER, comparison_cells(result), fmt, notes)
