"""The Karpathy caption splits: dataset_coco.json / dataset_flickr30k.json of
caption_datasets.zip (the official layout), and LAVIS's coco_karpathy_test.json (+ _gt) and
flickr30k test.json (its download scripts' layout)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import PurePosixPath

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
    captions_of,
    tokens_of,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
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


def _karpathy(pack: Pack, task: TaskSpec, n: int, coco: bool) -> None:
    rng = pack.rng(task.id)
    media_dir = task.data.media_dir
    splits = ["test"] * n + ["train", "train", "val", "restval" if coco else "val"]
    images, sentid = [], 100000 if coco else 0
    for imgid, split in enumerate(splits):
        scene = synth.random_scene(rng)
        if coco:
            cocoid = 391895 + imgid * 17
            folder = "val2014" if split in ("test", "val", "restval") else "train2014"
            filename = f"COCO_{folder}_{cocoid:012d}.jpg"
        else:
            filename = f"{1000092795 + imgid * 31}.jpg"
        sentences = []
        for raw in captions_of(scene, 5):
            raw = raw + " " if sentid % 2 == 0 else raw  # `raw` may keep a trailing space
            sentences.append(
                {"tokens": tokens_of(raw), "raw": raw, "imgid": imgid, "sentid": sentid})
            sentid += 1
        record: dict = {}
        if coco:
            record["filepath"] = folder
        record |= {
            "sentids": [s["sentid"] for s in sentences],
            "filename": filename,
            "imgid": imgid,
            "split": split,
            "sentences": sentences,
        }
        if coco:
            record["cocoid"] = cocoid
        images.append(record)
        if split == "test":
            pack.image(media_dir, f"{folder}/{filename}" if coco else filename, scene)
    pack.write_json(
        task.data.files["annotations"],
        {"images": images, "dataset": "coco" if coco else "flickr30k"},
    )


def _coco_caption(pack: Pack, task: TaskSpec, n: int) -> None:
    _karpathy(pack, task, n, coco=True)


def _flickr(pack: Pack, task: TaskSpec, n: int) -> None:
    _karpathy(pack, task, n, coco=False)


FORMATS = (
    Format(
        "coco_karpathy", read_karpathy, _coco_caption,
        (
            "dataset_coco.json of caption_datasets.zip (Karpathy splits), images in train2014/ "
            "and val2014/",
        ),
    ),
    Format(
        "flickr_karpathy", read_karpathy, _flickr,
        (
            "dataset_flickr30k.json of caption_datasets.zip, images flickr30k-images/<id>.jpg",
        ),
    ),
    Format(
        "lavis_karpathy", read_lavis_karpathy, None,
        (
            "LAVIS's coco_karpathy_test.json (+ coco_karpathy_test_gt.json) or flickr30k "
            "test.json, as its download scripts store them",
        ),
    ),
)
