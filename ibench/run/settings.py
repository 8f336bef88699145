"""What a run is asked to do, in three records: the request (model, tasks, data and the
protocol's settings), the resolved spec that decides the numbers (what a resume must match),
and the runtime (device, batch size, workers, output), which never changes a number."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ibench.protocol.taskspec import TaskSpec
from ibench.run.dist import ProcessGroup
from ibench.run.shares import Share


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate: the model (and how to load it), the tasks, their data, and the
    protocol's settings. `whole_split` holds the ids of the split asked for, if any (it names
    the run)."""

    model: str
    tasks: tuple[TaskSpec, ...]
    data_root: Path
    templates: str = "eval"
    limit: int | None = None
    seed: int = 0
    frames: int | None = None  # None: each video task's own frame count
    qformer_instruction: bool = True
    dtype: str | None = None
    hub_revision: str | None = None  # accept this mirror revision where it is not the pinned one
    revision: str | None = None  # the checkpoint's hub commit, branch or tag
    model_args: Mapping[str, Any] = field(default_factory=dict)
    published_as: str | None = None
    allow_pickle: bool = False
    whole_split: tuple[str, ...] = ()

    def video_frames(self, task: TaskSpec) -> int | None:
        """Frames sampled per video for a task (None for an image task)."""
        return (self.frames or task.frames) if task.media == "video" else None


@dataclass(frozen=True)
class Runtime:
    """Where and how a run executes: none of it changes a number (batch invariance is
    tested), so a run may resume under another runtime."""

    device: str | None = None
    batch_size: int | None = 8  # None: auto (start large, halve on out-of-memory)
    workers: int = 2
    output: Path = Path("results")
    run_name: str | None = None
    resume: bool = False
    strict: bool = False
    group: ProcessGroup = field(default_factory=ProcessGroup)
    share: Share | None = None  # --shard i/N: this process runs one share (run/shares.py)
    command: tuple[str, ...] = field(default_factory=lambda: tuple(sys.argv))


@dataclass(frozen=True)
class RunSpec:
    """Every setting that decides a run's numbers, resolved once the model is loaded (its id,
    revision, dtype and stop tokens known). A run folder is resumed only when the spec stored
    in its manifest equals this one, field for field: the fields are the list."""

    model: str
    model_revision: str | None
    stop_token_ids: list[int] | None
    dtype: str | None
    qformer_instruction: bool
    tasks: list[str]
    templates: str
    limit: int | None
    seed: int
    frames: dict[str, int]
    data_root: str
    task_hashes: dict[str, str]
    template_hashes: dict[str, str]
    data_fingerprints: dict[str, dict[str, str]]
    decoding: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The spec as stored in the manifest's settings (JSON values)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def differences(self, stored: Mapping[str, Any]) -> list[str]:
        """`field: stored X, now Y` for every field a stored run's settings hold otherwise."""
        return [f"{f.name}: stored {stored.get(f.name)!r}, now {getattr(self, f.name)!r}"
                for f in fields(self) if stored.get(f.name) != getattr(self, f.name)]
