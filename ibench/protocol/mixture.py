"""The paper's square-root data mixture for instruction tuning (protocol.md section 7)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ibench.errors import IbenchError

# The splits a training mixture is drawn over (a server-scored split is no training data).
MIXTURE_SPLITS = ("held-in", "held-out", "all")


class MixtureError(IbenchError, ValueError):
    """Sizes that cannot give a mixture (empty, non-positive, unreadable file)."""


def sqrt_mixture(sizes: dict[str, int]) -> dict[str, float]:
    """p_d = sqrt(S_d) / sum_i sqrt(S_i) for every dataset d."""
    if not sizes:
        raise MixtureError("no datasets to mix")
    for name, size in sizes.items():
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise MixtureError(f"dataset {name!r}: size must be a positive integer, got {size!r}")
    total = sum(math.sqrt(s) for s in sizes.values())
    return {name: math.sqrt(size) / total for name, size in sizes.items()}


def load_sizes(path: Path) -> dict[str, int]:
    """Read a {dataset: size} mapping from a YAML or JSON file."""
    if path.suffix != ".json":
        from ibench.protocol.yamlfile import read_yaml

        raw = read_yaml(path, MixtureError)  # UTF-8, no duplicate keys, errors on one line
    else:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise MixtureError(f"{path}: cannot read: {exc.strerror}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MixtureError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MixtureError(f"{path}: must map dataset names to sizes")
    for name, size in raw.items():
        if not isinstance(size, int) or isinstance(size, bool):
            raise MixtureError(f"{path}: field '{name}': size must be an integer, got {size!r}")
    return {str(k): v for k, v in raw.items()}


def task_sizes(chosen: list[Any]) -> dict[str, int]:
    """{task: train size} over tasks (TaskSpec). A task without a train size that reads the
    same annotation files as a chosen task with one (A-OKVQA direct answer beside its
    multiple-choice task) is the same training dataset, counted once; any other is an error."""
    sized = {tuple(sorted(t.data.files.values())) for t in chosen if t.train_size is not None}
    missing = [t.id for t in chosen if t.train_size is None
               and tuple(sorted(t.data.files.values())) not in sized]
    if missing:
        raise MixtureError(
            f"no train size in the task files of {', '.join(missing)}; pass --sizes FILE")
    return {t.id: t.train_size for t in chosen if t.train_size is not None}
