"""Source: the annotation files and media folder a reader reads, with safe path resolution.

A task names its files relative to the data root (`data.files`); `data.options.alternative`
may name a second on-disk variant (e.g. the LAVIS Karpathy files) that is used when the primary
files are absent. Paths taken from annotation records are resolved inside the task's media
folder (so inside the data root) and refused if they would leave it. The check is lexical:
symlinks the user placed in the data root (e.g. `coco/images -> /mnt/coco`) are trusted, `..`
and absolute paths in records are not.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ibench.data.data_error import DataError
from ibench.protocol.taskspec import TaskSpec

# A task that ranks over a vocabulary read from a `candidates` file needs no train file.
_OPTIONAL_WITH_CANDIDATES = ("train",)


@dataclass(frozen=True)
class Source:
    """One on-disk variant of a task's dataset under one data root."""

    task: TaskSpec
    root: Path
    format: str
    files: dict[str, str]
    media_dir: str
    options: dict[str, Any]
    variant: str = "official"
    candidates_file: Path | None = None
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def path(self, role: str) -> Path:
        """Absolute path of a file role (a DataError naming the task file for an unknown role)."""
        if role not in self.files:
            raise DataError(
                self.task.source, f"the reader needs a '{role}' file", field=f"data.files.{role}"
            )
        return self.root / self.files[role]

    def optional_roles(self) -> set[str]:
        """Roles the reader can do without in this configuration."""
        if "candidates" in self.files or self.candidates_file is not None:
            return set(_OPTIONAL_WITH_CANDIDATES) & set(self.files)
        return set()

    def required_paths(self) -> dict[str, Path]:
        """Role -> absolute path of every file this variant must have."""
        optional = self.optional_roles()
        return {role: self.path(role) for role in self.files if role not in optional}

    def complete(self) -> bool:
        """True when every required file of this variant exists."""
        return all(p.is_file() for p in self.required_paths().values())

    def option(self, name: str, default: Any = None) -> Any:
        """A reader option from data.options (or the alternative's options)."""
        return self.options.get(name, default)

    def json(self, role: str) -> Any:
        """Parse a JSON annotation file once per Source."""
        key = f"json:{role}"
        if key not in self._cache:
            self._cache[key] = read_json(self.path(role))
        return self._cache[key]

    def media(self, rel: Any, file: Path, record: str | int, field_name: str) -> Path:
        """Absolute path of a media file named by a record; refused outside the media folder."""
        return resolve_inside(self.root, self.media_dir, rel, file, record, field_name)


def primary_source(task: TaskSpec, root: Path, candidates_file: Path | None = None) -> Source:
    """The variant named by the task's data.files and data.media_dir."""
    options = {k: v for k, v in task.data.options.items() if k != "alternative"}
    return Source(
        task,
        Path(os.path.abspath(root)),
        task.data.format,
        dict(task.data.files),
        task.data.media_dir,
        options,
        "official",
        candidates_file,
    )


def variants(task: TaskSpec, root: Path, candidates_file: Path | None = None) -> list[Source]:
    """The primary layout (the publisher's), then each alternative layout the task accepts
    (data.options.alternative: one mapping or a list of them, e.g. LAVIS's copies), then the
    hub parquet mirror when the task has one (files under the data root win)."""
    hub = hub_source(task, root, candidates_file)
    return [primary_source(task, root, candidates_file),
            *alternative_sources(task, root, candidates_file), *([hub] if hub else [])]


def hub_source(task: TaskSpec, root: Path, candidates_file: Path | None = None
               ) -> Source | None:
    """The task's hub mirror as a layout: its parquet files when a mirror is found (in
    `DATA_ROOT/hub/<owner>/<name>/` or the hub cache), else the path it would have under the
    data root, reported missing. Options carry the repo, revision and where it was found."""
    from ibench.data.hub import find_mirror

    hub = task.hub
    if hub is None:
        return None
    options = {k: v for k, v in task.data.options.items() if k != "alternative"}
    patterns = hub["files"] if isinstance(hub["files"], dict) else {"rows": hub["files"]}
    root = Path(os.path.abspath(root))
    mirror = find_mirror(root, tuple(hub["repos"]), patterns, hub.get("revision"))
    # files the mirror lacks (e.g. TextCaps' OCR), read from the data root as the official route
    beside = {role: str(root / task.data.files[role]) for role in hub.get("data_files", [])}
    if mirror is None:
        return Source(task, root, hub["format"],
                      {**{role: f"hub/{hub['repos'][0]}/{glob}"
                          for role, glob in patterns.items()}, **beside},
                      "", options, "hub", candidates_file)
    options.update(hub_repo=mirror.repo, hub_revision=mirror.revision,
                   hub_pinned=hub.get("revision"), hub_layout=mirror.layout)
    files = {f"{role}-{i:05d}": str(p.relative_to(mirror.root))
             for role, paths in mirror.files.items() for i, p in enumerate(paths)}
    return Source(task, mirror.root, hub["format"], {**files, **beside}, "", options, "hub",
                  candidates_file)


def open_source(task: TaskSpec, root: Path, candidates_file: Path | None = None) -> Source:
    """The first layout of a task's data that is complete on disk.

    When none is, the closest one (fewest required files missing; then the one with most of
    its files already there, where the user is heading; then the primary), so errors name
    exactly the files still missing.
    """
    found = variants(task, root, candidates_file)
    for source in found:
        if source.complete():
            return source

    def distance(source: Source) -> tuple[int, int]:
        present = [p.is_file() for p in source.required_paths().values()]
        return present.count(False), -present.count(True)

    return min(found, key=distance)


def alternative_sources(
    task: TaskSpec, root: Path, candidates_file: Path | None = None
) -> list[Source]:
    """The layouts described by data.options.alternative (a mapping or a list), validated."""
    raw = task.data.options.get("alternative")
    if raw is None:
        return []
    if isinstance(raw, list):
        return [_alternative(task, item, root, candidates_file, f"data.options.alternative[{i}]")
                for i, item in enumerate(raw)]
    return [_alternative(task, raw, root, candidates_file, "data.options.alternative")]


def _alternative(task: TaskSpec, raw: Any, root: Path, candidates_file: Path | None,
                 where: str) -> Source:
    """One alternative layout, validated."""
    if not isinstance(raw, dict):
        raise DataError(task.source, "must be a mapping", field=where)
    unknown = set(raw) - {"name", "format", "files", "media_dir", "options"}
    if unknown:
        raise DataError(task.source, f"unknown keys {sorted(unknown)}", field=where)
    fmt = raw.get("format")
    files = raw.get("files")
    if not isinstance(fmt, str) or not fmt:
        raise DataError(task.source, "must be a format name", field=f"{where}.format")
    if not isinstance(files, dict) or not files:
        raise DataError(task.source, "must map roles to paths", field=f"{where}.files")
    for role, rel in files.items():
        _check_relative(task, rel, f"{where}.files.{role}")
    media_dir = raw.get("media_dir", task.data.media_dir)
    _check_relative(task, media_dir, f"{where}.media_dir")
    options = {k: v for k, v in task.data.options.items() if k != "alternative"}
    extra = raw.get("options") or {}
    if not isinstance(extra, dict):
        raise DataError(task.source, "must be a mapping", field=f"{where}.options")
    options.update(extra)
    return Source(
        task,
        Path(os.path.abspath(root)),
        fmt,
        {str(k): str(v) for k, v in files.items()},
        str(media_dir),
        options,
        str(raw.get("name", fmt)),
        candidates_file,
    )


def _check_relative(task: TaskSpec, value: Any, where: str) -> None:
    if not isinstance(value, str) or not value or _is_absolute(value) or ".." in Path(value).parts:
        raise DataError(
            task.source, f"must be a path inside the data root, got {value!r}", field=where
        )


def _is_absolute(text: str) -> bool:
    return PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute()


def resolve_inside(
    root: Path, media_dir: str, rel: Any, file: Path, record: str | int, field_name: str
) -> Path:
    """root/media_dir/rel, normalised; a DataError if rel is not a string or leaves the media
    folder (which lies inside the data root): `..` and absolute paths from records are refused."""
    if not isinstance(rel, str) or not rel.strip():
        raise DataError(file, f"must be a non-empty path string, got {rel!r}", record, field_name)
    if _is_absolute(rel) or "\x00" in rel:
        raise DataError(file, f"absolute media path {rel!r} refused", record, field_name)
    base = os.path.normpath(os.path.join(os.path.abspath(root), media_dir))
    full = os.path.normpath(os.path.join(base, rel))
    if os.path.commonpath([base, full]) != base or full == base:
        raise DataError(
            file, f"media path {rel!r} leaves the media folder {base}", record, field_name
        )
    return Path(full)


# ------------------------------------------------------------------------------- file reading


def _missing(path: Path) -> DataError:
    return DataError(path, "annotation file not found")


def read_json(path: Path) -> Any:
    """Parse one JSON file; a DataError naming the file on absence or bad JSON."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except FileNotFoundError as exc:
        raise _missing(path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataError(
            path, f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(1-based line number, parsed object) for each non-blank line of a JSON Lines file."""
    try:
        handle = open(path, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise _missing(path) from exc
    except OSError as exc:
        raise DataError(path, f"cannot read: {exc}") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(path, f"not valid JSON: {exc.msg}", f"line {number}") from exc
        except UnicodeDecodeError as exc:
            raise DataError(path, f"cannot read: {exc}") from exc


def read_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(0-based row index, row dict) of a CSV file with a header that has the required columns."""
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError as exc:
        raise _missing(path) from exc
    except OSError as exc:
        raise DataError(path, f"cannot read: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for column in required:
            if column not in header:
                raise DataError(
                    path, f"missing column (header: {', '.join(header)})", "header", column
                )
        try:
            for index, row in enumerate(reader):
                if None in row:
                    raise DataError(path, "more values than header columns", f"row {index}")
                yield index, row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(path, f"cannot parse: {exc}") from exc


def hub_revision_problem(task: TaskSpec, root: Path, accepted: str | None) -> str:
    """Why a task's hub mirror may not be used ("" when it may): its revision is known and is
    not the pinned one, and the `accepted` revision (--hub-revision) is not it either. A copy
    made by hand (revision unknown) is used, and recorded as unknown."""
    source = data_source(task, root)
    revision, pinned = source.get("revision"), source.get("pinned")
    if source.get("layout") != "hub" or not revision or not pinned or revision == pinned:
        return ""
    if accepted == revision:
        return ""
    return (f"{task.id}: the hub mirror {source['repo']} at {source['root']} is revision "
            f"{revision}, not the pinned {pinned}: pass --hub-revision {revision} to use it")


def data_source(task: TaskSpec, root: Path) -> dict[str, Any]:
    """Which layout of a task's data the run reads, and for a hub mirror its repo, revision
    (None: unknown, a copy made by hand), the pinned one, and where it was found."""
    try:
        source = open_source(task, root)
    except DataError as exc:
        return {"layout": None, "error": str(exc)}
    out: dict[str, Any] = {"layout": source.variant, "format": source.format}
    names = {"hub_repo": "repo", "hub_revision": "revision", "hub_pinned": "pinned",
             "hub_layout": "found_in"}
    for key, name in names.items():
        if key in source.options:
            out[name] = source.options[key]
    if source.variant == "hub":
        out["root"] = str(source.root)
    return out
