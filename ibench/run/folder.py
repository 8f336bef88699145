"""The run directory: manifest, append-only predictions, references, metrics; reading runs back.

Layout of results/RUN/:
  manifest.json                 everything needed to redo the run and judge comparability
  predictions/TASK[.part-R].jsonl   one line per request, appended and fsynced per batch (a
                                process's or a share's part until merged)
  references/TASK.jsonl         one line per sample: its references (so scoring needs no data)
  metrics.json                  per task: aggregate, interval, n, failures, per template
  leaderboard.md                the run beside the paper's Table 1
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ibench.errors import IbenchError


class RunError(IbenchError, ValueError):
    """A run directory that is missing, unreadable, or cannot be resumed as asked."""


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    path: Path

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def leaderboard(self) -> Path:
        return self.path / "leaderboard.md"

    def predictions(self, task: str, part: str = "") -> Path:
        suffix = f".{part}" if part else ""
        return self.path / "predictions" / f"{task}{suffix}.jsonl"

    def prediction_files(self, task: str) -> list[Path]:
        folder = self.path / "predictions"
        return sorted(folder.glob(f"{task}.jsonl")) + sorted(folder.glob(f"{task}.part-*.jsonl"))

    def references(self, task: str) -> Path:
        return self.path / "references" / f"{task}.jsonl"

    def check(self) -> None:
        """A run folder is read (and resumed) only through files of its own: a member that is
        a link, or that is not the kind of entry it should be, is a RunError naming it (so a
        received run folder cannot make ibench read or write outside it)."""
        for name in MEMBER_FILES:
            _member(self.path / name, file=True)
        for name in MEMBER_FOLDERS:
            folder = self.path / name
            if _member(folder, file=False):
                for entry in folder.iterdir():
                    _member(entry, file=True)


# What a run folder holds, and what each member must be.
MEMBER_FILES = ("manifest.json", "metrics.json", "leaderboard.md", "report.html", ".reserve")
MEMBER_FOLDERS = ("predictions", "references", "scores", "submissions", "shares")


def _member(path: Path, file: bool) -> bool:
    """Whether the member exists (a RunError when it is a link or not a file / folder)."""
    if path.is_symlink():
        raise RunError(f"{path} is a symbolic link: ibench reads and writes a run folder only "
                       f"through its own files, never a link out of it; remove the link")
    if not path.exists():
        return False
    if file and not path.is_file():
        raise RunError(f"{path} is not a regular file (a run folder member must be one)")
    if not file and not path.is_dir():
        raise RunError(f"{path} is not a folder (a run folder member must be one)")
    return True


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (temp file, fsync, rename): a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)  # a fresh file: never written through a link left there
    with tmp.open("x", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, ensure_ascii=False, sort_keys=False, default=str,
                  allow_nan=False)  # strict JSON: NaN and Infinity are no JSON
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """Read a JSON file, naming it in the error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RunError(f"{path}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: not valid JSON: {exc}") from exc


def append_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Append records as JSON lines and fsync, so a crash loses at most the batch in flight."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False, default=str, allow_nan=False) + "\n"
                   for r in records)
    if not data:
        return
    with path.open("a", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Read JSON objects, one a line, lazily. A torn last line (a crash mid-write: no newline
    at its end) is ignored; any other bad line is a RunError naming the file and line."""
    for _, record in read_numbered_lines(path):
        yield record


def read_numbered_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, JSON object) of each line, as `read_lines` reads them."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if not raw.endswith(b"\n"):  # only the last line can lack its newline
                    return  # torn write of the batch in flight: it will be redone
                raise RunError(f"{path}: line {number} is not valid JSON: {exc}") from exc
            if not isinstance(record, dict):
                raise RunError(f"{path}: line {number}: expected a JSON object")
            yield number, record


def required_field(record: dict[str, Any], name: str, path: Path, number: int) -> Any:
    """A required field of a stored line (a RunError naming the file, line and field)."""
    if record.get(name) is None:
        what = "is null" if name in record else "is missing"
        sample = record.get("sample_id")
        of = f" (sample {sample!r})" if sample is not None and name != "sample_id" else ""
        raise RunError(f"{path}: line {number}{of}: has no field '{name}' (it {what})")
    return record[name]


def repair_torn_tail(path: Path, chunk: int = 1 << 16) -> bool:
    """Cut a torn last line left by a crash, so later appends start on a fresh line (reads
    only the end of the file); whether there was one."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return False
        end = size
        while end > 0:
            start = max(0, end - chunk)
            handle.seek(start)
            block = handle.read(end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return True
            end = start
        handle.truncate(0)
    return True


def torn_tail(path: Path) -> int | None:
    """The number of a file's torn last line (no newline at its end: a crash mid-write), or
    None when its last line is whole."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return None
        handle.seek(0)
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) + 1


def load_references(run: RunDir, task: str, keys: tuple[str, ...] | None = None
                    ) -> dict[str, dict[str, Any]]:
    """Per-sample references stored with the run, keyed by sample id, in stored order (with
    `keys`, only those fields)."""
    out = {}
    path = run.references(task)
    for number, line in read_numbered_lines(path):
        sample_id = str(required_field(line, "sample_id", path, number))
        refs = required_field(line, "references", path, number)
        if not isinstance(refs, dict):
            raise RunError(f"{path}: line {number} (sample {sample_id!r}): field 'references' "
                           f"must be a JSON object, got {type(refs).__name__}")
        out[sample_id] = refs if keys is None else {k: refs[k] for k in keys if k in refs}
    return out


