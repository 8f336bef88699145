"""Format: one published on-disk format of a dataset, as the data layer knows it: its reader,
the writer of its synthetic copy (what the sample pack writes, in the publisher's layout), and
the layouts it reads. Each module of `ibench.data.formats` declares its FORMATS."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ibench.records import Sample


@dataclass(frozen=True)
class Format:
    """A published format: `read(source)` yields samples; `write(pack, task, n)` writes n
    synthetic samples in the publisher's layout (None when the pack writes another layout of
    the same dataset); `layouts` says in words which files and folders it reads."""

    name: str
    read: Callable[[Any], Iterable[Sample]]
    write: Callable[[Any, Any, int], None] | None
    layouts: tuple[str, ...]
