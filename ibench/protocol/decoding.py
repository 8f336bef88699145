"""Decoding overrides (--gen-kwargs) checked against LAVIS's beam-search settings."""

from __future__ import annotations

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
        if number < (1 if key in ("num_beams", "max_new_tokens") else 0):
            raise TaskError(f"--gen-kwargs: {key} must be at least "
                            f"{1 if key in ('num_beams', 'max_new_tokens') else 0}, got {number}")
        out[key] = number
    return out
