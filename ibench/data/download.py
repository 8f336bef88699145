"""`ibench data download`: fetch a task's hub parquet mirror into `DATA_ROOT/hub/<owner>/<name>/`
exactly as `hf download REPO --repo-type dataset --local-dir` lays it out (only the split's
files and the card), so that `eval` and `data check` find it there."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ibench.protocol.taskspec import TaskSpec


@dataclass(frozen=True)
class DownloadPlan:
    """What one task's download takes: the repo, revision, file patterns, files and bytes."""

    task: str
    repo: str
    revision: str | None
    patterns: tuple[str, ...]
    files: tuple[str, ...]
    size: int
    local_dir: Path


def patterns_of(task: TaskSpec) -> tuple[str, ...]:
    """The split's file globs of a task's hub block, plus the dataset card (README.md)."""
    assert task.hub is not None
    files = task.hub["files"]
    globs = tuple(files.values()) if isinstance(files, dict) else (files,)
    return (*globs, "README.md")


def plan_download(task: TaskSpec, data_root: Path) -> DownloadPlan:
    """Ask the hub which files of the mirror match, and their total size (no download)."""
    from huggingface_hub import HfApi

    assert task.hub is not None
    repo, revision = task.hub["repos"][0], task.hub.get("revision")
    patterns = patterns_of(task)
    info = HfApi().dataset_info(repo, revision=revision, files_metadata=True)
    matching = [s for s in info.siblings
                if any(fnmatch.fnmatch(s.rfilename, p) for p in patterns)]
    return DownloadPlan(task.id, repo, revision, patterns,
                        tuple(s.rfilename for s in matching),
                        sum(s.size or 0 for s in matching), data_root / "hub" / repo)


def download(plan: DownloadPlan) -> Path:
    """Fetch the plan's files (huggingface_hub shows its own progress bars)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(plan.repo, repo_type="dataset", revision=plan.revision,
                                  allow_patterns=list(plan.patterns),
                                  local_dir=str(plan.local_dir)))


def download_tasks(tasks: list[TaskSpec], data_root: Path, say: Callable[[str], None]) -> int:
    """Download every task's mirror, saying the size first; returns how many failed."""
    failed = 0
    for task in tasks:
        if task.hub is None:
            say(f"{task.id}: no hub mirror; download it from {task.data.published_at}")
            failed += 1
            continue
        try:
            plan = plan_download(task, data_root)
            say(f"{task.id}: {plan.repo} at {plan.revision or 'main'}: {len(plan.files)} files, "
                f"{plan.size / 2**20:.1f} MiB -> {plan.local_dir}")
            download(plan)
        except Exception as exc:  # noqa: BLE001 - the hub client raises many kinds; one line each
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            say(f"{task.id}: cannot download {task.hub['repos'][0]}: {reason}")
            failed += 1
    return failed
