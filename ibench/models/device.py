"""Whether the device asked for exists, said in one line before anything loads."""

from __future__ import annotations

import os
import re

from ibench.models.base import ModelLoadError

_DEVICE = re.compile(r"(cpu|cuda|mps)(:\d+)?")


def check_device(requested: str | None) -> None:
    """A ModelLoadError naming what was asked, what torch sees, and what to do, for a device
    that is not usable here (None: the default, always usable)."""
    if requested is None:
        return
    if not _DEVICE.fullmatch(requested):
        raise ModelLoadError(f"--device {requested!r}: not a device (cpu, cuda, cuda:N, mps)")
    import torch

    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            if torch.version.cuda is None:
                sees = f"torch {torch.__version__} is a CPU-only build"
                todo = "install the torch build for your CUDA version"
            else:
                visible = os.environ.get("CUDA_VISIBLE_DEVICES")
                sees = (f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
                        + (f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""))
                todo = "check the driver with nvidia-smi"
            raise ModelLoadError(f"--device {requested}: {sees}; {todo}, or pass --device cpu")
        index = int(requested.split(":")[1]) if ":" in requested else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise ModelLoadError(f"--device {requested}: torch sees {count} GPU(s) "
                                 f"(cuda:0 to cuda:{count - 1}); pass one of those")
    if requested.startswith("mps") and not torch.backends.mps.is_available():
        raise ModelLoadError(f"--device {requested}: torch {torch.__version__} sees no MPS "
                             f"device; pass --device cpu")
