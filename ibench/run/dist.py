"""Running under torchrun: which process this is, and the barriers between the processes.

Each process takes every world-th request of a task and appends to its own predictions part;
process 0 writes the manifest and the references, waits for the others, then scores.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in the run: rank, world size, local rank (its GPU)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        """Wait until every process reaches this point (no-op for a single process)."""
        if self.distributed:
            import torch.distributed as torch_dist

            torch_dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Process 0's `value`, on every process (so all make the same decision)."""
        if not self.distributed:
            return value
        import torch.distributed as torch_dist

        box = [value if self.rank == 0 else None]
        torch_dist.broadcast_object_list(box, src=0)
        return box[0]

    def device(self, requested: str | None) -> str | None:
        """The device of this process: under torchrun, `cuda` (or nothing, on a GPU machine)
        means this process's own GPU, cuda:LOCAL_RANK; anything else is taken as asked."""
        if not self.distributed or requested not in (None, "cuda"):
            return requested
        import torch

        if requested == "cuda" or torch.cuda.is_available():
            return f"cuda:{self.local_rank}"
        return "cpu"


def from_environment() -> ProcessGroup:
    """The process group torchrun describes in RANK/WORLD_SIZE/LOCAL_RANK (joined on first use).

    gloo on CPU, nccl on GPUs. Without torchrun: a single process.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return ProcessGroup()
    import torch
    import torch.distributed as torch_dist

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not torch_dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        torch_dist.init_process_group(backend=backend, timeout=dt.timedelta(hours=2))
    return ProcessGroup(rank=rank, world=world, local_rank=local_rank)


def shutdown(group: ProcessGroup) -> None:
    """Leave the process group cleanly at the end of a distributed run."""
    if group.distributed:
        import torch.distributed as torch_dist

        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
