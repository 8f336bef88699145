"""What a run is asked to do: the settings that decide its numbers and those of the machine it runs
on."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ibench.protocol.taskspec import TaskSpec
from ibench.run.dist import ProcessGroup


@dataclass
class EvalOptions:
    """Everything `ibench eval` was asked to do."""

    model: str
    tasks: list[TaskSpec]
    data_root: Path
    templates: str = "eval"
    limit: int | None = None
    batch_size: int | None = 8  # None: auto
    frames: int | None = None
    seed: int = 0
    strict: bool = False
    qformer_instruction: bool = True
    dtype: str | None = None
    device: str | None = None
    output: Path = Path("results")
    run_name: str | None = None
    workers: int = 2
    group: ProcessGroup = field(default_factory=ProcessGroup)
    whole_split: list[str] = field(default_factory=list)  # ids of the split asked for, if any
    resume: bool = False
    hub_revision: str | None = None  # accept this mirror revision where it is not the pinned one
    command: list[str] = field(default_factory=lambda: list(sys.argv))
