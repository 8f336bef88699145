"""Hateful Memes reader: dev_seen.jsonl (`img` names the zero-padded file; `id` is an int)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ibench.data.record import Record, guarded
from ibench.data.source import Source, read_jsonl
from ibench.records import Sample


def read_hateful_memes(source: Source) -> Iterator[Sample]:
    """One sample per line: id = `id`, image = `img` (e.g. img/08291.png), field `text`."""
    path = source.path("annotations")
    for number, raw in read_jsonl(path):
        yield guarded(path, f"line {number}", partial(_meme, source, number, raw))


def _meme(source: Source, number: int, raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"line {number}")
    meme_id = rec.id("id")
    rec.rename(f"line {number} (id {meme_id})")
    return Sample(
        meme_id,
        source.media(rec.str("img"), path, rec.name, "img"),
        {"text": rec.str("text", allow_empty=True)},
        {"label": rec.label("label")},
    )
