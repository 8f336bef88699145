"""COCO-format caption files: NoCaps nocaps_val_4500_captions.json."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.hub import hub_samples
from ibench.data.packkit import (
    Pack,
    captions_of,
    hex_id,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def read_coco_captions(source: Source) -> Iterator[Sample]:
    """COCO-format caption files (nocaps_val_4500_captions.json): images + annotations.

    Sample id: the image `id`; references also carry `domain` and `open_images_id` if present.
    A caption annotation with an unreadable image_id is left out (its image then has one
    caption fewer, or none, and fails).
    """
    path = source.path("annotations")
    data = source.json("annotations")
    images = record_list(data, "images", path, "image records")
    anns = record_list(data, "annotations", path, "caption annotations")
    captions: dict[str, list[str]] = {}
    for i, raw in enumerate(anns):
        try:
            rec = Record(raw, path, f"annotations #{i}")
            image_id, caption = rec.id("image_id"), rec.str("caption").strip()
        except DataError:
            continue
        captions.setdefault(image_id, []).append(caption)
    ids: set[str] = set()
    for i, raw in enumerate(images):
        yield guarded(path, f"images #{i}", partial(_coco_image, source, captions, ids, i, raw))
    stray = sorted(set(captions) - ids)
    if stray:
        raise DataError(
            path,
            "caption annotation for an image not in 'images'",
            f"annotations with image_id {stray[0]}",
            "image_id",
        )


def _coco_image(source: Source, captions: dict[str, list[str]], ids: set[str], i: int,
                raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"images #{i}")
    image_id = rec.id("id")
    ids.add(image_id)
    rec.rename(f"images #{i} (id {image_id})")
    if image_id not in captions:
        raise rec.error("id", "no caption annotation for this image")
    references: dict = {"captions": captions[image_id]}
    for key in ("domain", "open_images_id"):
        if rec.has(key):
            references[key] = rec.str(key)
    return Sample(
        image_id,
        source.media(rec.str("file_name"), path, rec.name, "file_name"),
        {},
        references,
    )


def _nocaps(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    images, annotations = [], []
    domains = ("in-domain", "near-domain", "out-domain")
    for i in range(n):
        scene = synth.random_scene(rng)
        open_id = hex_id(rng, 16)
        images.append(
            {
                "id": i,
                "open_images_id": open_id,
                "height": 64,
                "width": 64,
                "coco_url": f"https://s3.amazonaws.com/nocaps/val/{open_id}.jpg",
                "file_name": f"{open_id}.jpg",
                "license": 0,
                "date_captured": "2018-11-06 11:04:33",
                "domain": domains[i % 3],
            }
        )
        for caption in captions_of(scene, 10):
            annotations.append({"image_id": i, "id": len(annotations), "caption": caption})
        pack.image(task.data.media_dir, f"{open_id}.jpg", scene)
    info = {
        "url": "http://nocaps.org",
        "date_created": "2018/11/06",
        "version": "0.1",
        "description": "nocaps validation dataset",
        "contributor": "nocaps team",
        "year": 2018,
    }
    pack.write_json(
        task.data.files["annotations"],
        {"licenses": [], "info": info, "images": images, "annotations": annotations},
    )


def read_hub_nocaps(source: Source) -> Iterator[Sample]:
    """The lmms-lab/NoCaps mirror, validation: image (embedded), image_id (the official id),
    annotations_captions, image_open_images_id. It has no domain column, so the in/near/out
    domain breakdown of the official file is not available from it."""
    return hub_samples(source, ["image_id", "annotations_captions", "image_open_images_id"],
                       _hub_image)


def _hub_image(path: Path, group: int, row: int, name: str, record: dict) -> Sample:
    rec = Record(record, path, name)
    image_id = rec.id("image_id")
    rec.rename(f"{name} (image_id {image_id})")
    references: dict = {"captions": [c.strip() for c in rec.strings("annotations_captions")]}
    if rec.has("image_open_images_id"):
        references["open_images_id"] = rec.str("image_open_images_id")
    return Sample(image_id, path, {}, references, media_row=(group, row, "image"))


FORMATS = (
    Format(
        "coco_captions", read_coco_captions, _nocaps,
        (
            "nocaps_val_4500_captions.json (images + annotations), Open Images files named by "
            "file_name",
        ),
    ),
    Format(
        "hub_nocaps", read_hub_nocaps, None,
        (
            "the lmms-lab/NoCaps parquet mirror (lmms-lab-encoder/NoCaps), "
            "data/validation-*.parquet, images embedded; no domain column",
        ),
    ),
)
