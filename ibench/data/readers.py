"""read_samples: dispatch a task to the reader of its on-disk format (data.format), from the
format registry (ibench.data.formats)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ibench.data.data_error import DataError
from ibench.data.formats import FORMATS
from ibench.data.source import Source, open_source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample

Reader = Callable[[Source], Iterable[Sample]]

READERS: dict[str, Reader] = {name: fmt.read for name, fmt in FORMATS.items()}


def reader_for(source: Source) -> Reader:
    """The reader of a source's format; a DataError naming the task file if there is none."""
    if source.format not in READERS:
        field = "data.format" if source.variant == "official" else "data.options.alternative"
        raise DataError(
            source.task.source,
            f"unknown data format {source.format!r}; known: {', '.join(sorted(READERS))}",
            field=field,
        )
    return READERS[source.format]


def read_samples(
    task: TaskSpec, root: Path, *, candidates_file: Path | None = None, strict: bool = False
) -> Iterator[Sample]:
    """The evaluation samples of a task under a data root, in a deterministic order.

    A record with a missing or mistyped field (or a media path that leaves the data root)
    comes as a stand-in sample whose `failure` says why (file, record, field); with `strict`
    it raises instead. Raises DataError for a missing or unparsable annotation file, or two
    samples with the same id. `candidates_file` replaces the video-QA vocabulary built from
    the train split.
    """
    source = open_source(task, root, candidates_file)
    reader = reader_for(source)
    for role, path in source.required_paths().items():
        if not path.is_file():
            raise DataError(path, f"annotation file not found (role '{role}' of task {task.id})")
    seen: set[str] = set()
    for sample in reader(source):
        if sample.failure is not None:
            if strict:
                raise sample.failure
            yield sample
            continue
        if sample.id in seen:
            first = next(iter(source.required_paths().values()))
            raise DataError(first, "two samples share this id", f"id {sample.id}")
        seen.add(sample.id)
        yield sample
