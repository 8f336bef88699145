"""Seeded evaluation slices for datasets without an evaluation split (Web CapFilt, LLaVA)."""

from __future__ import annotations

import random

from ibench.data.data_error import DataError
from ibench.data.source import Source


def seeded_slice(total: int, size: int, seed: int) -> list[int]:
    """min(size, total) record indices drawn with random.Random(seed), in file order."""
    if size >= total:
        return list(range(total))
    return sorted(random.Random(seed).sample(range(total), size))


def slice_settings(source: Source) -> tuple[int, int]:
    """The (slice, seed) options of a task, validated."""
    values = []
    for name, default in (("slice", 1000), ("seed", 0)):
        value = source.option(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DataError(
                source.task.source,
                f"must be a non-negative integer, got {value!r}",
                field=f"data.options.{name}",
            )
        values.append(value)
    return values[0], values[1]


def unique_id(base: str, index: int, seen: set[str]) -> str:
    """base, or base#index when base was already used (same image captioned twice)."""
    name = base if base not in seen else f"{base}#{index}"
    seen.add(name)
    return name
