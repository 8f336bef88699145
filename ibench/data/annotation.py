"""Typed access to an annotation record: a bad field is a DataError naming file, record, field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ibench.data.data_error import DataError
from ibench.records import Sample

_MISSING = object()


def record_list(data: Any, key: str | None, file: Path, what: str) -> list[Any]:
    """data[key] (or data itself when key is None) as a list, else a DataError naming the file."""
    if key is not None:
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise DataError(file, f"must be a JSON object with a '{key}' list of {what}")
        return data[key]
    if not isinstance(data, list):
        raise DataError(file, f"must be a JSON list of {what}, got {type(data).__name__}")
    return data


class Record:
    """A JSON object from an annotation file, with the file and a name for error messages."""

    def __init__(self, value: Any, file: Path, name: str | int) -> None:
        self.file = file
        self.name = name
        if not isinstance(value, dict):
            raise DataError(file, f"must be a JSON object, got {type(value).__name__}", name)
        self.value = value

    def rename(self, name: str | int) -> Record:
        """Name the record by its id once known (errors then point at the id)."""
        self.name = name
        return self

    def error(self, key: str, problem: str) -> DataError:
        """A DataError for one field of this record."""
        return DataError(self.file, problem, self.name, key)

    def has(self, key: str) -> bool:
        """True when the key is present and not null."""
        return self.value.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        """The raw value of an optional field."""
        return self.value.get(key, default)

    def raw(self, key: str) -> Any:
        """The raw value of a required field."""
        value = self.value.get(key, _MISSING)
        if value is _MISSING:
            raise self.error(key, "missing")
        return value

    def str(self, key: str, allow_empty: bool = False) -> str:
        """A required string field (non-empty unless allowed)."""
        value = self.raw(key)
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {value!r}")
        if not allow_empty and not value.strip():
            raise self.error(key, "is empty")
        return value

    def int(self, key: str) -> int:
        """A required integer field (an int, or a string of digits as some files write ids)."""
        value = self.raw(key)
        if isinstance(value, bool):
            raise self.error(key, f"must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise self.error(key, f"must be an integer, got {value!r}")

    def id(self, key: str) -> str:
        """A required id (int or non-empty string) as a string."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value) == "":
            raise self.error(key, f"must be an integer or string id, got {value!r}")
        return str(value)

    def list(self, key: str, min_len: int = 1) -> list[Any]:
        """A required list field with at least min_len items."""
        value = self.raw(key)
        if not isinstance(value, list):
            raise self.error(key, f"must be a list, got {type(value).__name__}")
        if len(value) < min_len:
            raise self.error(key, f"must have at least {min_len} item(s), has {len(value)}")
        return value

    def strings(self, key: str, min_len: int = 1) -> list[str]:
        """A required list of strings."""
        items = self.list(key, min_len)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.error(f"{key}[{i}]", f"must be a string, got {item!r}")
        return items

    def label(self, key: str) -> int:
        """A required binary label: 0 or 1 (true/false accepted as 1/0)."""
        value = self.raw(key)
        if isinstance(value, bool):
            return int(value)
        if value in (0, 1) and isinstance(value, int):
            return value
        raise self.error(key, f"must be 0 or 1, got {value!r}")

    def index(self, key: str, size: int) -> int:
        """A required integer index into a list of `size` items."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer index, got {value!r}")
        if not 0 <= value < size:
            raise self.error(key, f"index {value} out of range for {size} items")
        return value


def bad_record_sample(file: Path, name: str | int, error: DataError) -> Sample:
    """The stand-in for a record that cannot become a sample: a failed Sample (its id names the
    file and the record) that the run records as a `bad_record` failure instead of stopping."""
    return Sample(f"{file.name}#{name}", Path(), {}, {}, failure=error)


def guarded(file: Path, name: str | int, build: Callable[[], Sample | None]) -> Sample | None:
    """build() for one record; a record-level DataError (a missing or mistyped field) gives
    the bad-record stand-in instead, so one bad record does not sink the dataset. A file-level
    error (no record named) is raised. build() may return None for a record outside the
    evaluated subset."""
    try:
        return build()
    except DataError as exc:
        if exc.record is None:
            raise
        return bad_record_sample(file, name, exc)


def guarded_many(file: Path, name: str | int, build: Callable[[], list[Sample]]) -> list[Sample]:
    """guarded() for a record that gives several samples (a book of OCR-VQA questions, an
    image's captions): all of them, or the one stand-in of the bad record."""
    try:
        return build()
    except DataError as exc:
        if exc.record is None:
            raise
        return [bad_record_sample(file, name, exc)]
