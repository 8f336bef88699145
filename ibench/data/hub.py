"""Hugging Face hub parquet mirrors of a dataset (the ones lmms-eval reads): where a mirror lies,
which revision it is, and its rows streamed in batches.

A mirror is found under `DATA_ROOT/hub/<owner>/<name>/`, laid out as
`hf download REPO --repo-type dataset --local-dir DIR` leaves it (the repo's own files, plus
`.cache/huggingface/download/<path>.metadata` whose first line is the commit), or in the hub
cache (`$HF_HUB_CACHE/datasets--<owner>--<name>/snapshots/<commit>/`), where
`HF_HUB_OFFLINE=1` resolves it. A task's `hub` block names the repos (any of them will do:
lmms-eval moved several to `lmms-lab-encoder/<name>` with the same columns), the split's files
(a glob from the card's `configs:` block), the pinned revision, and the reader of its rows.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ibench.data.data_error import DataError

BATCH_ROWS = 256  # rows per streamed batch (media columns are never read here)


@dataclass(frozen=True)
class Mirror:
    """One located mirror: its folder, repo id, the split's parquet files (sorted), and its
    revision (None when unknown: a copy made by hand, with no download metadata)."""

    root: Path
    repo: str
    files: dict[str, tuple[Path, ...]]  # per role (one per config the task joins), sorted
    revision: str | None
    layout: str  # "local-dir" or "hub-cache"


def hub_cache_dir() -> Path:
    """The hub cache folder, as huggingface_hub resolves it ($HF_HUB_CACHE, $HF_HOME/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    return home / "hub"


def _split_files(folder: Path, pattern: str) -> tuple[Path, ...]:
    """The files of a folder matching a repo-relative glob (`data/val-*`), sorted."""
    base = folder / Path(pattern).parent
    if not base.is_dir():
        return ()
    name = Path(pattern).name
    return tuple(sorted(p for p in base.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, name)))


def _local_dir_revision(folder: Path, files: tuple[Path, ...]) -> str | None:
    """The commit `hf download --local-dir` recorded for the split's first file, if any."""
    meta = folder / ".cache" / "huggingface" / "download"
    rel = files[0].relative_to(folder)
    path = meta / f"{rel}.metadata"
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return first or None


def _all_files(folder: Path, patterns: dict[str, str]) -> dict[str, tuple[Path, ...]] | None:
    """The files of every pattern (role -> glob) in one folder, or None if one has none."""
    found = {role: _split_files(folder, pattern) for role, pattern in patterns.items()}
    return found if all(found.values()) else None


def find_mirror(data_root: Path, repos: tuple[str, ...], patterns: dict[str, str],
                revision: str | None = None) -> Mirror | None:
    """The first mirror of one of `repos` holding the split's files (every role's glob): the
    data root's `hub/<owner>/<name>/` first, then the hub cache (the pinned revision's
    snapshot, else the one `refs/main` names, else any)."""
    for repo in repos:
        folder = data_root / "hub" / repo
        files = _all_files(folder, patterns)
        if files:
            first = next(iter(files.values()))
            return Mirror(folder, repo, files, _local_dir_revision(folder, first), "local-dir")
    cache = hub_cache_dir()
    for repo in repos:
        base = cache / f"datasets--{repo.replace('/', '--')}"
        snapshots = base / "snapshots"
        if not snapshots.is_dir():
            continue
        order = []
        if revision:
            order.append(revision)
        try:
            order.append((base / "refs" / "main").read_text(encoding="utf-8").strip())
        except OSError:
            pass
        order += sorted(p.name for p in snapshots.iterdir() if p.is_dir())
        for commit in order:
            files = _all_files(snapshots / commit, patterns)
            if files:
                return Mirror(snapshots / commit, repo, files, commit, "hub-cache")
    return None


def iter_rows(files: tuple[Path, ...], columns: list[str]
              ) -> Iterator[tuple[Path, int, int, dict[str, Any]]]:
    """(file, row group, row in the group, {column: value}) for every row, in file order,
    reading only `columns`, one row group at a time (memory does not grow with the split)."""
    import pyarrow.parquet as pq

    for path in files:
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds
            raise DataError(path, f"not a readable parquet file: {exc}") from exc
        names = set(parquet.schema_arrow.names)
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(path, f"has no column {missing[0]!r} (columns: "
                                  f"{', '.join(sorted(names))})", field=missing[0])
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=columns)
            for offset in range(0, table.num_rows, BATCH_ROWS):
                batch = table.slice(offset, BATCH_ROWS).to_pylist()
                for k, row in enumerate(batch):
                    yield path, group, offset + k, row


def hub_samples(source: Any, columns: list[str], build: Callable[..., Any]) -> Iterator[Any]:
    """Samples of a mirror's parquet files (the Source's files, in order): build(path, group,
    row, name, record) per row (None: a row outside the evaluated subset), a bad row becoming
    its stand-in (record.guarded)."""
    from ibench.data.annotation import guarded

    files = mirror_files(source, "rows")
    for path, group, row, record in iter_rows(files, columns):
        name = f"row {row} of row group {group}"
        sample = guarded(path, name, partial(build, path, group, row, name, record))
        if sample is not None:
            yield sample


def mirror_files(source: Any, role: str) -> tuple[Path, ...]:
    """A hub Source's parquet files of one role (its `<role>-NNNNN` entries), in order."""
    return tuple(source.path(r) for r in sorted(source.files) if r.rsplit("-", 1)[0] == role)
