"""Web CapFilt: LAVIS's annotation list, a seeded slice."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import PurePosixPath

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
)
from ibench.data.slices import seeded_slice, slice_settings, unique_id
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def read_capfilt(source: Source) -> Iterator[Sample]:
    """Web CapFilt annotation.json (LAVIS: `{"image", "caption"}`), a seeded slice.

    Sample id: the image path without extension (LAVIS's image_id). Records that only have a
    `url` (BLIP's download list) are refused: the images must be downloaded and named first.
    """
    path = source.path("annotations")
    records = record_list(source.json("annotations"), None, path, "caption records")
    size, seed = slice_settings(source)
    seen: set[str] = set()
    for i in seeded_slice(len(records), size, seed):
        yield guarded(path, f"#{i}", partial(_capfilt_record, source, records[i], i, seen))


def _capfilt_record(source: Source, raw: object, i: int, seen: set[str]) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    if not rec.has("image"):
        hint = (" (only a url: download the images and add an 'image' path)"
                if rec.has("url") else "")
        raise rec.error("image", "missing" + hint)
    image = rec.str("image")
    captions = rec.raw("caption")
    captions = (
        [rec.str("caption").strip()]
        if isinstance(captions, str)
        else [c.strip() for c in rec.strings("caption")]
    )
    sample_id = unique_id(str(PurePosixPath(image).with_suffix("")), i, seen)
    return Sample(
        sample_id, source.media(image, path, rec.name, "image"), {}, {"captions": captions}
    )


def _capfilt(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    records = []
    for i in range(n):
        scene = synth.random_scene(rng)
        image = f"cc3m/{i // 4:05d}/{1000 + i:09d}.jpg"
        records.append({"image": image, "caption": scene.caption()})
        pack.image(task.data.media_dir, image, scene)
    pack.write_json(task.data.files["annotations"], records)


FORMATS = (
    Format(
        "capfilt", read_capfilt, _capfilt,
        (
            "LAVIS's CapFilt annotation.json ({image, caption}), images downloaded and named",
        ),
    ),
)
