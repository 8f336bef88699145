"""TextCaps: TextCaps_0.1_val.json with the TextVQA Rosetta OCR file of its images."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ibench.data import synth
from ibench.data.annotation import Record, bad_record_sample, guarded, record_list
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.hub import hub_samples
from ibench.data.ocr import join_tokens, load_rosetta, ocr_for, token_limit
from ibench.data.packkit import (
    Pack,
    hex_id,
    tokens_of,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def read_textcaps(source: Source) -> Iterator[Sample]:
    """TextCaps_0.1_val.json: one entry per caption, grouped per image (first-seen order).

    Image: `<image_id>.jpg` in the TextVQA train images (as LAVIS). References: the entry's
    `reference_strs` when present, else the image's `caption_str` values. OCR tokens: Rosetta.
    An entry without a readable image_id is a bad record of its own.
    """
    path = source.path("annotations")
    entries = record_list(source.json("annotations"), "data", path, "caption entries")
    tokens = load_rosetta(source)
    limit = token_limit(source)
    order: list[str] = []
    groups: dict[str, list[Record]] = {}
    for i, raw in enumerate(entries):
        try:
            rec = Record(raw, path, f"#{i}")
            image_id = rec.str("image_id")
        except DataError as exc:
            yield bad_record_sample(path, f"#{i}", exc)
            continue
        rec.rename(f"#{i} (image_id {image_id})")
        if image_id not in groups:
            order.append(image_id)
            groups[image_id] = []
        groups[image_id].append(rec)
    for image_id in order:
        yield guarded(path, groups[image_id][0].name,
                      partial(_textcaps_image, source, tokens, limit, image_id, groups[image_id]))


def _textcaps_image(source: Source, tokens: dict[str, list[str]], limit: int, image_id: str,
                    recs: list[Record]) -> Sample:
    path = source.path("annotations")
    first = recs[0]
    if first.has("reference_strs"):
        captions = [c.strip() for c in first.strings("reference_strs")]
    else:
        captions = [r.str("caption_str").strip() for r in recs]
    ocr = ocr_for(tokens, image_id, source)
    return Sample(
        image_id,
        source.media(f"{image_id}.jpg", path, first.name, "image_id"),
        {"ocr_tokens": join_tokens(ocr, limit)},
        {"captions": captions},
    )


def read_hub_textcaps(source: Source) -> Iterator[Sample]:
    """The lmms-lab/TextCaps mirror, split val: one row per image with image_id, caption_str
    (the image's captions), reference_strs and the image embedded. It holds no OCR tokens, so
    they come from the official Rosetta OCR file under the data root (hub.data_files), as the
    official route reads them. References: reference_strs when present, else caption_str."""
    tokens = load_rosetta(source)
    limit = token_limit(source)
    return hub_samples(source, ["image_id", "caption_str", "reference_strs"],
                       partial(_hub_image, source, tokens, limit))


def _hub_image(source: Source, tokens: dict[str, list[str]], limit: int, path, group: int,
               row: int, name: str, record: dict) -> Sample:
    rec = Record(record, path, name)
    image_id = rec.str("image_id")
    rec.rename(f"{name} (image_id {image_id})")
    if record.get("reference_strs"):
        captions = [c.strip() for c in rec.strings("reference_strs")]
    else:
        captions = [c.strip() for c in rec.strings("caption_str")]
    ocr = ocr_for(tokens, image_id, source)
    return Sample(image_id, path, {"ocr_tokens": join_tokens(ocr, limit)},
                  {"captions": captions}, media_row=(group, row, "image"))


def _textcaps(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    entries, ocr = [], []
    for i in range(n):
        word = synth.WORDS[i % len(synth.WORDS)]
        scene = synth.random_scene(rng, text=word)
        image_id = hex_id(rng, 16)
        shape = scene.shapes[0]
        refs = [
            f"A sign that says {word} above a {shape.name}.",
            f"The word {word} is written over a {shape.kind}.",
            f"A {scene.background} sign reading {word}.",
            f"A {shape.color} shape under the text {word}.",
            f"{word.upper()} is printed at the top of the picture.",
        ]
        for k, caption in enumerate(refs):
            entries.append(
                {
                    "image_id": image_id,
                    "image_classes": ["Sign", "Poster"],
                    "flickr_original_url": f"https://farm1.staticflickr.com/{image_id}_o.jpg",
                    "flickr_300k_url": f"https://c1.staticflickr.com/{image_id}_z.jpg",
                    "image_width": 64,
                    "image_height": 64,
                    "set_name": "val",
                    "image_name": image_id,
                    "image_path": f"train/{image_id}.jpg",
                    "caption_id": 5 * i + k,
                    "caption_str": caption,
                    "caption_tokens": ["<s>", *tokens_of(caption), "</s>"],
                    "reference_strs": refs,
                    "reference_tokens": [tokens_of(r) for r in refs],
                }
            )
        ocr.append((image_id, word))
        pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
    pack.write_json(
        task.data.files["annotations"],
        {
            "dataset_type": "val",
            "dataset_name": "textcaps",
            "dataset_version": 0.1,
            "data": entries,
        },
    )
    # TextCaps val images are TextVQA val images: their OCR is in the TextVQA val file
    pack.rosetta(task.data.files["ocr"], ocr, "val")


FORMATS = (
    Format(
        "textcaps", read_textcaps, _textcaps,
        (
            "TextCaps_0.1_val.json; images in TextVQA train_images/; OCR "
            "TextVQA_Rosetta_OCR_v0.2_val.json",
        ),
    ),
    Format(
        "hub_textcaps", read_hub_textcaps, None,
        (
            "the lmms-lab/TextCaps parquet mirror (lmms-lab-encoder/TextCaps), "
            "data/val-*.parquet, images embedded; OCR from TextVQA_Rosetta_OCR_v0.2_val.json "
            "under the data root",
        ),
    ),
)
