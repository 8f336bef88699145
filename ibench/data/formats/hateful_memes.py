"""Hateful Memes: dev_seen.jsonl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

from ibench.data import synth
from ibench.data.annotation import Record, guarded
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
)
from ibench.data.source import Source, read_jsonl
from ibench.protocol.taskspec import TaskSpec
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


def _hateful_memes(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    lines, used = [], set()
    for i in range(n):
        # Ids below 10000 have zero-padded file names (id 8291 -> img/08291.png).
        meme_id = (
            8291
            if i == 0
            else rng.randrange(1000, 10000)
            if i % 2 == 0
            else rng.randrange(10000, 100000)
        )
        while meme_id in used:
            meme_id += 1
        used.add(meme_id)
        word = synth.WORDS[i % len(synth.WORDS)]
        scene = synth.random_scene(rng, text=word)
        img = f"img/{meme_id:05d}.png"
        text = f"when the {scene.shapes[0].kind} says {word}"
        record = {"id": meme_id, "img": img, "label": i % 2, "text": text}
        # Written without spaces and with escaped slashes, as the official files are.
        lines.append(json.dumps(record, separators=(",", ":")).replace("/", "\\/"))
        pack.image(task.data.media_dir, img, scene)
    pack.write_lines(task.data.files["annotations"], lines)


FORMATS = (
    Format(
        "hateful_memes", read_hateful_memes, _hateful_memes,
        (
            "dev_seen.jsonl; img/<id:05d>.png",
        ),
    ),
)
