"""The cache folder ($IBENCH_CACHE or ~/.cache/ibench), where the tiny stand-in checkpoints and
the demo sample pack are built on first use."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where tiny checkpoints and the demo sample pack are built."""
    env = os.environ.get("IBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ibench"
