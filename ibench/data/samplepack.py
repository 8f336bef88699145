"""The synthetic sample pack: every task's dataset in its publisher's on-disk layout (key
names, file names, folders, encodings), a few samples each, same bytes for the same arguments.
Each format module (ibench.data.formats) writes its own files; this module runs them."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from ibench.cache import cache_dir
from ibench.data.data_error import DataError
from ibench.data.formats import FORMATS
from ibench.data.packkit import Pack
from ibench.errors import disk_fault
from ibench.protocol.suite import load_tasks
from ibench.protocol.taskspec import TaskSpec


def write_sample_pack(
    root: Path, per_task: int = 8, seed: int = 0, tasks: dict[str, TaskSpec] | None = None
) -> dict[str, int]:
    """Write the pack under root (same bytes for the same arguments); samples per task id.

    Tasks that share annotation files (VQAv2 and question generation from it, ...) share them.
    """
    if per_task < 1:
        raise ValueError(f"per_task must be at least 1, got {per_task}")
    tasks = load_tasks() if tasks is None else tasks
    pack = Pack(Path(root), seed)
    done: set[tuple] = set()
    counts = {}
    for task_id in sorted(tasks):
        task = tasks[task_id]
        key = (tuple(sorted(task.data.files.items())), task.data.media_dir)
        if key not in done:
            writer = FORMATS[task.data.format].write
            if writer is None:
                raise ValueError(f"task {task_id}: format {task.data.format!r} has no synthetic "
                                 "writer (the pack writes the official layout)")
            writer(pack, task, per_task)
            done.add(key)
        counts[task_id] = per_task
    (Path(root) / SAMPLE_PACK_MARKER).write_text(
        "This folder is ibench's synthetic sample pack: every dataset in its publisher's layout, "
        "with made-up images, videos and answers. Numbers measured on it mean nothing; runs on "
        "it are flagged as demo runs.\n", encoding="utf-8")
    return counts


# The file that marks a data root as the synthetic sample pack (runs on it are demo runs).
SAMPLE_PACK_MARKER = "IBENCH_SAMPLE_PACK.txt"


def is_sample_pack(root: Path) -> bool:
    """True for a data root written by write_sample_pack."""
    return (Path(root) / SAMPLE_PACK_MARKER).is_file()


SAMPLE_PACK_VERSION = "1"


def pack_fingerprint() -> str:
    """A short hash of the code and task files that shape the sample pack, so a pack written
    by another version of ibench is never reused."""
    from ibench.resources import resource_dir

    package = Path(__file__).resolve().parent  # ibench/data: the readers and writers
    files = sorted(package.rglob("*.py")) + sorted(resource_dir("tasks").glob("*.yaml"))
    digest = hashlib.sha256(SAMPLE_PACK_VERSION.encode())
    for path in files:
        digest.update(path.relative_to(path.parents[1]).as_posix().encode() + b"\0"
                      + path.read_bytes())
    return digest.hexdigest()[:12]


def default_sample_pack(per_task: int = 8) -> Path:
    """The synthetic sample pack in the cache, written on first use (atomically)."""
    from ibench.data.samplepack import write_sample_pack

    target = cache_dir() / f"sample-pack-{pack_fingerprint()}-n{per_task}"
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-pack-", dir=target.parent))
    try:
        try:
            write_sample_pack(tmp, per_task=per_task)
            (tmp / ".complete").write_text(SAMPLE_PACK_VERSION)
        except OSError as exc:
            if disk_fault(exc) != "full":
                raise
            raise DataError(target.parent, f"cannot write the sample pack here: the disk is "
                            f"full ({exc.strerror}); free space there or point IBENCH_CACHE at "
                            f"another disk (nothing partial was kept)") from exc
        try:
            tmp.rename(target)
        except OSError:
            if not (target / ".complete").exists():  # not a concurrent writer that won
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
