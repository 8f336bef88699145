"""Printing records as rich tables on a terminal or as JSON for machines."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Span, Text

from ibench.report.leaderboard import Board
from ibench.safetext import terminal, visible


class SafeConsole(Console):
    """A rich console that prints every string as data: never parsed as markup, control
    characters shown as escapes (`\\x1b`, ibench.safetext); styled output is built as rich
    Text, whose control characters are shown the same way, its styles kept."""

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("markup", False)
        kwargs.setdefault("highlight", False)
        super().print(*(terminal(o) if isinstance(o, str) else visible_text(o)
                        if isinstance(o, Text) else o for o in objects), **kwargs)


def visible_text(text: Text) -> Text:
    """A rich Text with its control characters shown as escapes (ibench.safetext.visible),
    each piece keeping its styles."""
    if visible(text.plain) == text.plain:
        return text
    cuts = sorted({0, len(text), *(s.start for s in text.spans), *(s.end for s in text.spans)})
    out = Text(style=text.style, justify=text.justify, no_wrap=text.no_wrap, end=text.end)
    for piece in text.divide(cuts):
        shown = visible(piece.plain)  # each span covers all of its piece
        out.append_text(Text(shown, spans=[Span(0, len(shown), s.style) for s in piece.spans]))
    return out


def console(stderr: bool = False) -> Console:
    """A rich console; plain (no colours, wide) when not writing to a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "") or 200)
    return SafeConsole(file=stream, soft_wrap=False, width=width)


_C1 = re.compile(r"[\x7f-\x9f]")  # only ever inside a JSON string, so escaping is exact


def print_json(value: Any) -> None:
    """Write a JSON document to standard output. Text is written as it is (UTF-8), except
    control characters: json escapes C0 itself, DEL and C1 (`\\x9b` is a terminal's CSI) are
    written as `\\u007f`..`\\u009f` too; json.loads gives back the exact strings."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str, allow_nan=False)
    sys.stdout.write(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


# The first column (a row's name) may wrap to this width; no other cell is ever folded,
# except in a column of prose (a text over PROSE characters with a space): it wraps.
LABEL_WIDTH = 30
PROSE = 24


def print_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "",
    out: Console | None = None,
) -> None:
    """Print rows under column headers as a rich table. On a terminal too narrow for the
    whole table, it is printed in parts, each with the first column and as many of the others
    as fit, so that no number or other cell is folded (only the first column may wrap)."""
    out = out or console()
    texts = [["" if v is None else visible(v) for v in row] for row in rows]
    columns = [visible(c) for c in columns]
    need = [max([len(str(c)), *(len(r[i]) for r in texts)]) + 3 for i, c in enumerate(columns)]
    # a column of prose (long texts with spaces) wraps at word boundaries instead
    prose = [any(len(r[i]) > PROSE and " " in r[i] for r in texts) for i in range(len(columns))]
    need = [min(n, PROSE + 3) if p else n for n, p in zip(need, prose, strict=True)]
    fits = sum(need) + 1 <= out.width
    label = (need[0] if fits else min(need[0], LABEL_WIDTH + 3)) if columns else 0
    parts: list[list[int]] = [[]]
    used = label + 1
    for i in range(1, len(columns)):
        if parts[-1] and used + need[i] > out.width:
            parts.append([])
            used = label + 1
        parts[-1].append(i)
        used += need[i]
    for k, part in enumerate(parts):
        shown = [0, *part] if columns else []
        name = title if len(parts) == 1 or title is None else (
            f"{title} (part {k + 1} of {len(parts)})")
        note = caption if caption and k == len(parts) - 1 else None
        table = Table(title=None if name is None else terminal(name),
                      caption=None if note is None else terminal(note), show_lines=False)
        for i in shown:
            header = Text(columns[i])
            if i == 0:
                table.add_column(header, overflow="fold",
                                 max_width=None if fits else LABEL_WIDTH)
            elif prose[i]:
                table.add_column(header, overflow="fold")
            else:
                table.add_column(header, no_wrap=True, min_width=need[i] - 3)
        for row in texts:  # cells are Text: a "[bold]" in a run name stays "[bold]"
            table.add_row(*(Text(row[i]) for i in shown))
        out.print(table)


def print_board(board: Board) -> None:
    """A leaderboard, then its notes: one a line, left-aligned, each row they are about named
    once above its own."""
    print_table(board.title, ["model", *board.columns],
                [[name, *[_num(values.get(c)) for c in board.columns]]
                 for name, values in board.rows])
    out = console()
    for name, notes in board.grouped_notes():
        if name:
            out.print(f"{name}:")
        for note in notes:
            out.print(f"  - {note}" if name else note)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
