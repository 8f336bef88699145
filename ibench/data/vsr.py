"""VSR reader: zero-shot test.jsonl (validator ids may be lists written as strings)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

from ibench.data.record import Record, guarded
from ibench.data.source import Source, read_jsonl
from ibench.records import Sample


def validator_ids(rec: Record, key: str) -> list[int]:
    """A vote_*_validator_id field as a list of ints: a real list (2022 files) or a string
    that looks like one ("[18, 2]", current files)."""
    value = rec.raw(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise rec.error(key, f"not a list written as a string: {value!r}") from exc
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise rec.error(key, f"must be a list of integer ids, got {value!r}")
    return value


def read_vsr(source: Source) -> Iterator[Sample]:
    """One sample per line; id = 0-based line index; field `caption`; reference `{"label"}`."""
    path = source.path("annotations")
    for index, (number, raw) in enumerate(read_jsonl(path)):
        yield guarded(path, f"line {number}", partial(_vsr_sample, source, index, number, raw))


def _vsr_sample(source: Source, index: int, number: int, raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"line {number}")
    refs: dict = {"label": rec.label("label")}
    if rec.has("relation"):
        refs["relation"] = rec.str("relation")
    for key in ("vote_true_validator_id", "vote_false_validator_id"):
        if rec.has(key):
            refs[key] = validator_ids(rec, key)
    image = rec.str("image")
    return Sample(
        str(index),
        source.media(image, path, rec.name, "image"),
        {"caption": rec.str("caption")},
        refs,
    )
