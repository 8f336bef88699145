"""Decoding overrides (--gen-kwargs) checked against LAVIS's beam-search settings."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ibench.protocol.taskspec import TaskError
from ibench.records import GenerationSettings

# Sampling settings of other harnesses that LAVIS's beam search has no place for.
_NOT_DECODING = ("temperature", "do_sample", "top_p", "top_k", "until")


def parse_gen_kwargs(text: str) -> dict[str, Any]:
    """`--gen-kwargs num_beams=1,max_new_tokens=20` as GenerationSettings overrides: known
    names, values of the field's type; anything else a TaskError saying what is allowed."""
    types = {f.name: f.type for f in fields(GenerationSettings)}
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not value.strip():
            raise TaskError(f"--gen-kwargs: {part!r} is not name=value")
        if key in _NOT_DECODING:
            raise TaskError(f"--gen-kwargs: {key!r} has no meaning here: ibench decodes by beam "
                            f"search as LAVIS does (allowed: {', '.join(types)})")
        if key not in types:
            raise TaskError(f"--gen-kwargs: unknown setting {key!r} (allowed: "
                            f"{', '.join(types)})")
        kind = int if types[key] in (int, "int") else float
        try:
            number = kind(value.strip())
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise TaskError(f"--gen-kwargs: {key} must be {what}, got {value.strip()!r}"
                            ) from None
        if number < (1 if key in ("num_beams", "max_new_tokens") else 0):
            raise TaskError(f"--gen-kwargs: {key} must be at least "
                            f"{1 if key in ('num_beams', 'max_new_tokens') else 0}, got {number}")
        out[key] = number
    return out
