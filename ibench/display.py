"""Printing records as rich tables on a terminal or as JSON for machines."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def console(stderr: bool = False) -> Console:
    """A rich console; plain (no colours, wide) when not writing to a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, soft_wrap=False, width=None if stream.isatty() else 200)


def print_json(value: Any) -> None:
    """Write a JSON document to standard output."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def print_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = ""
) -> None:
    """Print rows under column headers as a rich table."""
    table = Table(title=title, caption=caption or None, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console().print(table)
