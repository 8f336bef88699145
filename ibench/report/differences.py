"""Which settings of two runs differ, and which of those change the protocol (so that a difference
in scores is not the model's alone); per-task settings are compared on the tasks both runs have."""

from __future__ import annotations

from typing import Any

MANIFEST_KEYS = ("model", "dtype", "device", "qformer_instruction", "templates", "limit", "seed",
                 "frames", "data_root", "task_hashes", "template_hashes", "decoding", "ranking")


PROTOCOL_KEYS = ("limit", "seed", "frames", "data_root", "task_hashes", "decoding", "ranking")


def for_tasks(value: Any, tasks: set[str], known: set[str]) -> Any:
    """A per-task setting ({task: ...}, its keys among the `known` task ids) restricted to
    `tasks`; other settings as they are. Runs of different task sets are compared on the
    tasks they share."""
    if isinstance(value, dict) and value and all(k in known for k in value):
        return {k: v for k, v in value.items() if k in tasks}
    return value
