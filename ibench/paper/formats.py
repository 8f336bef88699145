"""The replicated Table 1 in each output format: the terminal (one block per model, within 80
columns, no number folded), md, csv, json, latex, and an HTML page (a heat map of the
differences, each cell linking to its run's report)."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable
from pathlib import Path

from ibench.paper.table import VERDICT_TEXT, Cell, PaperTable
from ibench.report.render import TextTable, to_csv, to_json, to_latex, to_md
from ibench.safetext import visible


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(cell: Cell) -> str:
    if cell.low is None or cell.high is None:
        return "-"
    return f"[{cell.low:.1f}, {cell.high:.1f}]"


def _diff(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def _shared_reasons(cells: list[Cell]) -> list[str]:
    """Reasons every scored cell of a row has (said once for the row)."""
    scored = [c.why for c in cells if c.verdict == "not comparable"]
    if not scored or len(scored) < sum(1 for c in cells if c.ours is not None):
        return []
    return [r for r in scored[0] if all(r in why for why in scored)]


HEADER = ("dataset", "paper", "ours", "95% interval", "diff", "verdict")
WIDTHS = (14, 7, 7, 16, 8, 15)  # 67 columns with the spaces


def text(table: PaperTable) -> str:
    """The terminal table: a block per model, a line per dataset, then the row's notes."""
    out: list[str] = []
    line = "  ".join(f"{h:<{w}}" if i in (0, 5) else f"{h:>{w}}"
                     for i, (h, w) in enumerate(zip(HEADER, WIDTHS, strict=True))).rstrip()
    for model, path, _ in table.rows:
        cells = table.row_cells(model.run_name)
        out += [f"{visible(model.label)}", f"  run: {visible(path)}", line]
        for c in cells:
            values = (c.task, _num(c.paper), _num(c.ours), _interval(c), _diff(c.diff),
                      c.verdict)
            out.append("  ".join(f"{v:<{w}}" if i in (0, 5) else f"{v:>{w}}" for i, (v, w)
                                 in enumerate(zip(values, WIDTHS, strict=True))).rstrip())
        average = table.row_average(model.run_name)
        out.append("  ".join([f"{'average':<14}", f"{_num(average['paper']):>7}",
                              f"{_num(average['ours']):>7}", f"{'':>16}",
                              f"{_diff(average['diff']):>8}"]).rstrip())
        shared = _shared_reasons(cells)
        for reason in shared:
            out.append(f"  every scored cell: {visible(reason)}")
        grouped: dict[str, list[str]] = {}  # a reason -> the datasets it applies to
        for c in cells:
            rest = [r for r in c.why if r not in shared]
            if rest and c.verdict != "within":
                grouped.setdefault("; ".join(rest), []).append(c.task)
        for reason, tasks in grouped.items():
            out.append(f"  {', '.join(tasks)}: {visible(reason)}")
        out.append("")
    counts = {v: sum(c.verdict == v for c in table.cells) for v in VERDICT_TEXT}
    out.append("verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n))
    out.append("average: the mean over the 13 datasets, as the paper computes it, only when "
               "all 13 are there")
    out += [f"note: {visible(n)}" for n in table.notes]
    # prose wrapped to the table's 80 columns (the table's own lines are narrower)
    return "\n".join(textwrap.fill(line, 80, subsequent_indent="    ", break_on_hyphens=False,
                                    break_long_words=False) if len(line) > 80 else line
                      for line in out)


def _cell_rows(table: PaperTable) -> TextTable:
    """One row per cell (then each model's average), for md, csv and json: the rounded text,
    the exact values (csv), the structured table (json). Cells are escaped by the renderer."""
    header = ["model", "dataset", "paper", "ours", "95% interval", "diff", "verdict", "why"]
    cells, values = [], []
    for model, _, _ in table.rows:
        for c in table.row_cells(model.run_name):
            cells.append([c.row, c.task, _num(c.paper), _num(c.ours), _interval(c),
                          _diff(c.diff), c.verdict, "; ".join(c.why)])
            values.append([c.model, c.row, c.task, *("" if v is None else repr(v) for v in (
                c.paper, c.ours, c.low, c.high, c.diff)), c.verdict, "; ".join(c.why), c.run])
        average = table.row_average(model.run_name)
        cells.append([model.label, "average", _num(average["paper"]), _num(average["ours"]),
                      "", _diff(average["diff"]), "", ""])
    return TextTable(header, cells, values,
                     [f"run {m.run_name}: {path}" for m, path, _ in table.rows] + table.notes,
                     table.as_dict(),
                     value_header=["model", "row", "task", "paper", "ours", "ci_low", "ci_high",
                                   "diff", "verdict", "why", "run"])


def markdown(table: PaperTable) -> str:
    """A markdown table, a row per cell and per model's average; the runs and notes below."""
    return to_md(_cell_rows(table))


def as_csv(table: PaperTable) -> str:
    """One line per cell, full precision."""
    return to_csv(_cell_rows(table))


def as_json(table: PaperTable) -> str:
    return to_json(_cell_rows(table))


def latex(table: PaperTable) -> str:
    """Table 1's layout: a row per model, a column per dataset, 'ours (paper)'."""
    rows = []
    for model, _, _ in table.rows:
        average = table.row_average(model.run_name)
        rows.append([model.label, *(f"{_num(c.ours)} ({_num(c.paper)})"
                                    for c in table.row_cells(model.run_name)),
                     f"{_num(average['ours'])} ({_num(average['paper'])})"])
    return to_latex(TextTable(["Model", *table.columns, "Avg."], rows, rows, [], None))


def _shade(diff: float | None) -> str:
    """A heat-map colour: blue below the paper, red above, stronger with the difference."""
    if diff is None:
        return "#eeeeee"
    strength = min(abs(diff) / 20.0, 1.0)
    level = int(255 - 150 * strength)
    return f"rgb({level},{level},255)" if diff < 0 else f"rgb(255,{level},{level})"


def html_page(table: PaperTable) -> str:
    """The heat map of ours - paper, a row per model; each cell links to its run's report."""
    columns = table.columns
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for model, path, _ in table.rows:
        link = html.escape(f"{Path(path).name}/report.html#leaderboard")
        tds = []
        for c in table.row_cells(model.run_name):
            title = html.escape(f"{c.task}: paper {_num(c.paper)}, ours {_num(c.ours)} "
                                f"{_interval(c)}; {c.verdict}" + (
                                    f" ({'; '.join(c.why)})" if c.why else ""))
            tds.append(f'<td style="background:{_shade(c.diff)}" title="{title}">'
                       f'<a href="{link}">{_diff(c.diff)}</a><br><small>{c.verdict}</small>'
                       f"</td>")
        rows.append(f"<tr><th>{html.escape(model.label)}</th>{''.join(tds)}</tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
    legend = "".join(f"<li><b>{html.escape(v)}</b>: {html.escape(t)}</li>"
                     for v, t in VERDICT_TEXT.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ibench: Table 1 replicated</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 6px;text-align:center}}th{{font-weight:600}}
tbody th{{text-align:left;max-width:16em}}a{{color:#000}}</style></head><body>
<h1>Table 1 replicated: ours &minus; paper</h1>
<p>Each cell is our score minus the paper's (blue: below, red: above); hover for the numbers
and the verdict, click for the run's report.</p>
<table><thead><tr><th>model</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>
<h2>Verdicts</h2><ul>{legend}</ul><h2>Notes</h2><ul>{notes}</ul></body></html>
"""


RENDERERS: dict[str, Callable[[PaperTable], str]] = {
    "text": text, "md": markdown, "csv": as_csv, "json": as_json, "latex": latex,
    "html": html_page}
