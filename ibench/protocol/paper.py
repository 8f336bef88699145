"""The paper's tables as data (results/reference/tables.yaml and its CSV files): which datasets
each table has, in the paper's column order, and the rows of numbers it publishes."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from ibench.errors import IbenchError
from ibench.protocol.yamlfile import read_yaml
from ibench.resources import resource_dir


class PaperError(IbenchError, ValueError):
    """The shipped reference files are missing or malformed (a broken install)."""


@dataclass(frozen=True)
class PaperTable:
    """One of the paper's tables: its datasets in the paper's order and its published rows.

    `average` says what a row's average is: "all" (the mean over every column, when all are
    there), "none", or the CSV column that holds the published average.
    """

    name: str
    title: str
    columns: tuple[str, ...]
    numbers: str
    row_label: str
    average: str
    note: str

    def rows(self) -> list[tuple[str, dict[str, float | None]]]:
        """The published rows: (model, {column or "average": number or None}); none for a
        table the paper does not have."""
        if not self.numbers:
            return []
        path = resource_dir("reference") / self.numbers
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            wanted = [c for c in self.columns if c in (reader.fieldnames or [])]
            out = []
            for row in reader:
                values = {c: _number(row[c]) for c in wanted}
                if self.average not in ("all", "none"):
                    values = {"average": _number(row[self.average])}
                out.append((row["model"] + self.row_label, values))
        return out


def _number(text: str | None) -> float | None:
    return float(text) if text else None


@cache
def paper_tables() -> dict[str, PaperTable]:
    """Every table of tables.yaml, in its order (held-out, held-in, finetuned)."""
    path = resource_dir("reference") / "tables.yaml"
    raw = read_yaml(path, PaperError)
    if not isinstance(raw, dict):
        raise PaperError(f"{path}: must map table names to tables")
    out = {}
    for name, entry in raw.items():
        try:
            out[name] = PaperTable(name=name, title=entry["title"],
                                   columns=tuple(entry["columns"]), numbers=entry["numbers"],
                                   row_label=entry.get("row_label") or "",
                                   average=entry["average"], note=entry.get("note") or "")
        except (KeyError, TypeError) as exc:
            raise PaperError(f"{path}: table {name!r}: missing or malformed {exc}") from exc
    return out


def held_out_order() -> tuple[str, ...]:
    """The 13 held-out datasets in Table 1's column order."""
    return paper_tables()["held-out"].columns


def reference_rows(table: str = "held-out") -> list[tuple[str, dict[str, float | None]]]:
    """A table's published rows (default Table 1's)."""
    return paper_tables()[table].rows()


def other_table(task_ids: list[str]) -> PaperTable:
    """A table for tasks outside the paper's tables (a user's own, a server-scored split):
    no published rows, the runs' values only."""
    return PaperTable(name="others", title="Other tasks (not in the paper's tables)",
                      columns=tuple(task_ids), numbers="", row_label="", average="none",
                      note="")


def in_paper_tables(task_id: str) -> bool:
    """Whether a task is a column of one of the paper's tables."""
    return any(task_id in table.columns for table in paper_tables().values())
