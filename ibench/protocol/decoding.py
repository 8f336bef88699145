"""Decoding overrides (--gen-kwargs) checked against LAVIS's beam-search settings: known names,
values of the right type, each within its documented range (RANGES), finite."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from ibench.protocol.taskspec import TaskError
from ibench.records import GenerationSettings

# Sampling settings of other harnesses that LAVIS's beam search has no place for.
_NOT_DECODING = ("temperature", "do_sample", "top_p", "top_k", "until")


def parse_gen_kwargs(given: str | Mapping[str, Any]) -> dict[str, Any]:
    """Decoding overrides as GenerationSettings field values: `--gen-kwargs
    num_beams=1,max_new_tokens=20`, or the same as a mapping (the Python API). Known names,
    values of the field's type; anything else a TaskError saying what is allowed."""
    types = {f.name: f.type for f in fields(GenerationSettings)}
    if isinstance(given, str):
        pairs = []
        for part in filter(None, (p.strip() for p in given.split(","))):
            key, sep, value = part.partition("=")
            if not sep or not value.strip():
                raise TaskError(f"--gen-kwargs: {part!r} is not name=value")
            pairs.append((key.strip(), value.strip()))
    else:
        pairs = [(str(k), v) for k, v in given.items()]
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in _NOT_DECODING:
            raise TaskError(f"--gen-kwargs: {key!r} has no meaning here: ibench decodes by beam "
                            f"search as LAVIS does (allowed: {', '.join(types)})")
        if key not in types:
            raise TaskError(f"--gen-kwargs: unknown setting {key!r} (allowed: "
                            f"{', '.join(types)})")
        kind = int if types[key] in (int, "int") else float
        try:
            if isinstance(value, bool) or (kind is int and isinstance(value, float)):
                raise ValueError
            number = kind(value)
        except (TypeError, ValueError):
            what = "an integer" if kind is int else "a number"
            raise TaskError(f"--gen-kwargs: {key} must be {what}, got {value!r}") from None
        low, high, low_open = RANGES[key]
        if not math.isfinite(number) or number < low or number > high or (
                low_open and number == low):
            raise TaskError(f"--gen-kwargs: {key} must be {_range(key)}, got {value!r}")
        out[key] = number
    return out


# The range of every decoding value: (low, high, low excluded). Token counts are bounded by the
# longest context of the models ibench drives (Vicuna's 2,048 positions; a run also checks the
# loaded model's own, `check_fits`), beams by what a GPU holds, penalties by what keeps beam
# search meaningful (LAVIS uses -1 to 0 and 1.5).
RANGES: dict[str, tuple[float, float, bool]] = {
    "num_beams": (1, 32, False),
    "max_new_tokens": (1, 1024, False),
    "min_new_tokens": (0, 1024, False),
    "length_penalty": (-10.0, 10.0, False),
    "repetition_penalty": (0.0, 10.0, True),
}


def _range(key: str) -> str:
    low, high, low_open = RANGES[key]
    if isinstance(low, float):
        start = f"above {low:g} up" if low_open else f"from {low:g}"
        return f"a finite number {start} to {high:g}"
    return f"an integer from {low} to {high}"


def check_fits(settings: GenerationSettings, context_length: int | None, where: str) -> None:
    """Resolved decoding settings that a model can run: at least as many new tokens allowed as
    required, and no more than its context holds (a TaskError naming the task otherwise)."""
    if settings.min_new_tokens > settings.max_new_tokens:
        raise TaskError(f"{where}: min_new_tokens {settings.min_new_tokens} is above "
                        f"max_new_tokens {settings.max_new_tokens}")
    if context_length is not None and settings.max_new_tokens >= context_length:
        raise TaskError(f"{where}: max_new_tokens {settings.max_new_tokens} does not fit the "
                        f"model's context of {context_length} tokens")

