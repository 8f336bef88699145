"""Captioning readers: Karpathy splits (official and LAVIS), COCO-format captions (NoCaps),
TextCaps, and Web CapFilt. References are `{"captions": [str, ...]}`, whitespace-stripped.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import PurePosixPath

from ibench.data.errors import DataError
from ibench.data.ocr import join_tokens, load_rosetta, ocr_for, token_limit
from ibench.data.record import Record, bad_record_sample, guarded, record_list
from ibench.data.slices import seeded_slice, slice_settings, unique_id
from ibench.data.source import Source
from ibench.records import Sample


def read_karpathy(source: Source) -> Iterator[Sample]:
    """dataset_coco.json / dataset_flickr30k.json: images of the chosen split (default test).

    Sample id: `cocoid` when present (COCO), else the file name stem (Flickr30K image id).
    """
    path = source.path("annotations")
    images = record_list(source.json("annotations"), "images", path, "image records")
    split = source.option("split", "test")
    for i, raw in enumerate(images):
        sample = guarded(path, f"#{i}", partial(_karpathy_image, source, split, i, raw))
        if sample is not None:
            yield sample


def _karpathy_image(source: Source, split: str, i: int, raw: object) -> Sample | None:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    if rec.str("split") != split:
        return None  # another split of the same file
    filename = rec.str("filename")
    sample_id = rec.id("cocoid") if rec.has("cocoid") else PurePosixPath(filename).stem
    rec.rename(f"#{i} (image {sample_id})")
    rel = f"{rec.str('filepath')}/{filename}" if rec.has("filepath") else filename
    captions = []
    for j, sentence in enumerate(rec.list("sentences")):
        raw_text = sentence.get("raw") if isinstance(sentence, dict) else None
        if not isinstance(raw_text, str) or not raw_text.strip():
            raise rec.error(f"sentences[{j}].raw", f"must be a non-empty string, got {raw_text!r}")
        captions.append(raw_text.strip())
    return Sample(
        sample_id, source.media(rel, path, rec.name, "filename"), {}, {"captions": captions}
    )


def lavis_image_id(image: str) -> str:
    """LAVIS's image id: the last '_' part of the file stem, leading zeros dropped if numeric."""
    stem = PurePosixPath(image).stem.split("_")[-1]
    return str(int(stem)) if stem.isdigit() else stem


def _coco_gt(source: Source) -> dict[str, list[str]]:
    """image_id -> captions from a COCO-format ground-truth file (coco_karpathy_test_gt.json)."""
    path = source.path("gt")
    anns = record_list(source.json("gt"), "annotations", path, "caption annotations")
    captions: dict[str, list[str]] = {}
    for i, raw in enumerate(anns):
        rec = Record(raw, path, f"annotations #{i}")
        captions.setdefault(rec.id("image_id"), []).append(rec.str("caption").strip())
    return captions


def read_lavis_karpathy(source: Source) -> Iterator[Sample]:
    """LAVIS/BLIP coco_karpathy_test.json (+ optional coco_karpathy_test_gt.json), flickr30k_test.

    A list of `{"image": path, "caption": [str]}`; the image id is parsed from the file name as
    LAVIS does; with a `gt` file the references are its captions (what LAVIS scores against).
    """
    path = source.path("annotations")
    records = record_list(source.json("annotations"), None, path, "image records")
    gt = _coco_gt(source) if "gt" in source.files else None
    for i, raw in enumerate(records):
        yield guarded(path, f"#{i}", partial(_lavis_image, source, gt, i, raw))


def _lavis_image(source: Source, gt: dict[str, list[str]] | None, i: int, raw: object
                 ) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    image = rec.str("image")
    sample_id = lavis_image_id(image)
    rec.rename(f"#{i} (image {sample_id})")
    if gt is not None:
        if sample_id not in gt:
            raise DataError(source.path("gt"), "no caption for this image",
                            f"image_id {sample_id}", "annotations")
        captions = gt[sample_id]
    else:
        if isinstance(rec.raw("caption"), str):
            raise rec.error("caption", "is one string: this is a train file, not a test file")
        captions = [c.strip() for c in rec.strings("caption")]
    return Sample(
        sample_id, source.media(image, path, rec.name, "image"), {}, {"captions": captions}
    )


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


