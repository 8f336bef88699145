"""DataError: a missing annotation file or a malformed record, named precisely enough to fix."""

from __future__ import annotations

from pathlib import Path

from ibench.errors import IbenchError


class DataError(IbenchError):
    """An annotation file is missing or unreadable, or one of its records is malformed.

    The message names the file, the record (index or id) and the field, so a user can find it.
    """

    def __init__(
        self,
        file: Path | str | None,
        problem: str,
        record: str | int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = Path(file) if file is not None else None
        self.record = record
        self.field = field
        self.problem = problem
        parts = [str(self.file) if self.file is not None else "data"]
        if record is not None:
            parts.append(f"record {record}")
        if field is not None:
            parts.append(f"field '{field}'")
        super().__init__(": ".join(parts) + f": {problem}")

