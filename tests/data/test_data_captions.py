"""Captioning readers on records written by hand in the formats of formats.md (sections 1-5)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from data_fixtures import tasks_fixture, with_data, write_json  # noqa: F401 - fixtures

from ibench.data import DataError, check_task, read_samples
from ibench.protocol.taskspec import TaskSpec

COCO_RAW = "A man with a red helmet on a small moped on a dirt road. "
COCO_RECORD = {
    "filepath": "val2014",
    "sentids": [770337, 771687, 772707, 776154, 781998],
    "filename": "COCO_val2014_000000391895.jpg",
    "imgid": 0,
    "split": "test",
    "sentences": [
        {
            "tokens": [
                "a",
                "man",
                "with",
                "a",
                "red",
                "helmet",
                "on",
                "a",
                "small",
                "moped",
                "on",
                "a",
                "dirt",
                "road",
            ],
            "raw": COCO_RAW,
            "imgid": 0,
            "sentid": 770337,
        },
        {
            "tokens": ["man"],
            "raw": "Man riding a motor bike on a dirt road on the countryside.",
            "imgid": 0,
            "sentid": 771687,
        },
    ],
    "cocoid": 391895,
}
COCO_TRAIN = {
    "filepath": "train2014",
    "sentids": [1],
    "filename": "COCO_train2014_000000000009.jpg",
    "imgid": 1,
    "split": "train",
    "sentences": [{"tokens": ["food"], "raw": "Food.", "imgid": 1, "sentid": 1}],
    "cocoid": 9,
}


def test_coco_karpathy(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    task = tasks["coco_caption"]
    write_json(
        tmp_path,
        "coco/annotations/dataset_coco.json",
        {"images": [COCO_TRAIN, COCO_RECORD], "dataset": "coco"},
    )
    [sample] = read_samples(task, tmp_path)
    assert sample.id == "391895"
    assert sample.media == tmp_path / "coco/images/val2014/COCO_val2014_000000391895.jpg"
    assert sample.fields == {}
    assert sample.references == {
        "captions": [
            "A man with a red helmet on a small moped on a dirt road.",
            "Man riding a motor bike on a dirt road on the countryside.",
        ]
    }
    assert sample.candidates is None


def test_coco_karpathy_record_without_raw(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    bad = dict(COCO_RECORD, sentences=[{"tokens": ["a"], "imgid": 0, "sentid": 1}])
    path = write_json(
        tmp_path, "coco/annotations/dataset_coco.json", {"images": [bad], "dataset": "coco"}
    )
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["coco_caption"], tmp_path, strict=True))
    assert str(path) in str(info.value)
    assert "record #0 (image 391895)" in str(info.value)
    assert "field 'sentences[0].raw'" in str(info.value)


LAVIS_TEST = [
    {"image": "val2014/COCO_val2014_000000391895.jpg", "caption": ["a test-file caption"] * 5}
]
LAVIS_GT = {
    "annotations": [
        {
            "image_id": 391895,
            "caption": "A man with a red helmet on a small moped on a dirt road. ",
            "id": 1,
        },
        {"image_id": 391895, "caption": "Man riding a motor bike on a dirt road.", "id": 2},
    ],
    "images": [{"id": 391895}],
}


def test_coco_lavis_variant_is_used_when_the_official_file_is_absent(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    task = tasks["coco_caption"]
    write_json(tmp_path, "coco/annotations/coco_karpathy_test.json", LAVIS_TEST)
    write_json(tmp_path, "coco/annotations/coco_karpathy_test_gt.json", LAVIS_GT)
    [sample] = read_samples(task, tmp_path)
    assert sample.id == "391895"  # parsed from the file name, as LAVIS does
    assert sample.media == tmp_path / "coco/images/val2014/COCO_val2014_000000391895.jpg"
    # references come from the GT file, not from the test file's captions
    assert sample.references == {
        "captions": [
            "A man with a red helmet on a small moped on a dirt road.",
            "Man riding a motor bike on a dirt road.",
        ]
    }
    check = check_task(task, tmp_path)
    assert check.variant == "lavis" and check.usable
    roles = {(f.variant, f.role): f for f in check.files}
    assert not roles[("official", "annotations")].exists
    assert roles[("lavis", "gt")].path == tmp_path / "coco/annotations/coco_karpathy_test_gt.json"


def test_official_file_wins_over_the_alternative(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    write_json(
        tmp_path, "coco/annotations/dataset_coco.json", {"images": [COCO_RECORD], "dataset": "coco"}
    )
    write_json(tmp_path, "coco/annotations/coco_karpathy_test.json", LAVIS_TEST)
    write_json(tmp_path, "coco/annotations/coco_karpathy_test_gt.json", LAVIS_GT)
    [sample] = read_samples(tasks["coco_caption"], tmp_path)
    assert sample.references["captions"][1].startswith("Man riding a motor bike on a dirt road on")


def test_neither_variant_names_the_official_path(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["coco_caption"], tmp_path, strict=True))
    assert str(tmp_path / "coco/annotations/dataset_coco.json") in str(info.value)


def test_lavis_gt_missing_an_image(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "coco/annotations/coco_karpathy_test.json", LAVIS_TEST)
    gt = write_json(
        tmp_path, "coco/annotations/coco_karpathy_test_gt.json", {"annotations": [], "images": []}
    )
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["coco_caption"], tmp_path, strict=True))
    assert str(gt) in str(info.value) and "image_id 391895" in str(info.value)


def test_flickr_karpathy(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    quoted_train = {
        "sentids": [0, 1, 2, 3, 4],
        "imgid": 0,
        "sentences": [
            {
                "tokens": [
                    "two",
                    "men",
                    "in",
                    "green",
                    "shirts",
                    "are",
                    "standing",
                    "in",
                    "a",
                    "yard",
                ],
                "raw": "Two men in green shirts are standing in a yard.",
                "imgid": 0,
                "sentid": 2,
            }
        ],
        "split": "train",
        "filename": "1000092795.jpg",
    }
    test = {
        "sentids": [5],
        "imgid": 1,
        "sentences": [{"tokens": ["a", "dog"], "raw": "A dog runs.", "imgid": 1, "sentid": 5}],
        "split": "test",
        "filename": "1007129816.jpg",
    }
    write_json(
        tmp_path,
        "flickr30k/dataset_flickr30k.json",
        {"images": [quoted_train, test], "dataset": "flickr30k"},
    )
    [sample] = read_samples(tasks["flickr30k"], tmp_path)
    assert sample.id == "1007129816"
    assert sample.media == tmp_path / "flickr30k/flickr30k-images/1007129816.jpg"
    assert sample.references == {"captions": ["A dog runs."]}


def test_flickr_lavis_variant(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(
        tmp_path,
        "flickr30k/annotations/flickr30k_test.json",
        [{"image": "flickr30k-images/1007129816.jpg", "caption": ["A dog runs. ", "b"]}],
    )
    [sample] = read_samples(tasks["flickr30k"], tmp_path)
    assert sample.id == "1007129816"
    assert sample.media == tmp_path / "flickr30k/flickr30k-images/1007129816.jpg"
    assert sample.references == {"captions": ["A dog runs.", "b"]}


def test_lavis_train_file_is_refused(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(
        tmp_path,
        "flickr30k/annotations/flickr30k_test.json",
        [{"image": "flickr30k-images/1.jpg", "caption": "one", "image_id": "1"}],
    )
    with pytest.raises(DataError, match="train file"):
        list(read_samples(tasks["flickr30k"], tmp_path, strict=True))


NOCAPS = {
    "licenses": [],
    "info": {
        "url": "http://nocaps.org",
        "date_created": "2018/11/06",
        "version": "0.1",
        "description": "nocaps validation dataset",
        "contributor": "nocaps team",
        "year": 2018,
    },
    "images": [
        {
            "id": 0,
            "open_images_id": "0013ea2087020901",
            "height": 1024,
            "width": 732,
            "coco_url": "https://s3.amazonaws.com/nocaps/val/0013ea2087020901.jpg",
            "file_name": "0013ea2087020901.jpg",
            "license": 0,
            "date_captured": "2018-11-06 11:04:33",
            "domain": "near-domain",
        }
    ],
    "annotations": [
        {"image_id": 0, "id": 0, "caption": "A baby is standing in front of a house."},
        {"image_id": 0, "id": 1, "caption": "A little girl in a white jacket."},
    ],
}


def test_nocaps(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "nocaps/nocaps_val_4500_captions.json", NOCAPS)
    [sample] = read_samples(tasks["nocaps"], tmp_path)
    assert sample.id == "0"
    assert sample.media == tmp_path / "nocaps/images/0013ea2087020901.jpg"
    assert sample.references == {
        "captions": ["A baby is standing in front of a house.", "A little girl in a white jacket."],
        "domain": "near-domain",
        "open_images_id": "0013ea2087020901",
    }


def test_nocaps_image_without_captions(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "nocaps/nocaps_val_4500_captions.json", dict(NOCAPS, annotations=[]))
    with pytest.raises(DataError, match="no caption annotation"):
        list(read_samples(tasks["nocaps"], tmp_path, strict=True))


def _textcaps_entry(caption_id: int, caption: str, refs: list[str]) -> dict:
    return {
        "image_id": "011e7e629fb9ae7b",
        "image_classes": ["Poster"],
        "flickr_original_url": "https://example.org/o.jpg",
        "flickr_300k_url": "https://example.org/z.jpg",
        "image_width": 1024,
        "image_height": 768,
        "set_name": "val",
        "image_name": "011e7e629fb9ae7b",
        "image_path": "train/011e7e629fb9ae7b.jpg",
        "caption_id": caption_id,
        "caption_str": caption,
        "caption_tokens": ["<s>", "a", "</s>"],
        "reference_strs": refs,
        "reference_tokens": [["a"]],
    }


def test_textcaps(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    task = with_data(tasks["textcaps"], options={"ocr_tokens": 2})
    refs = ["A poster that says SALE.", "A red poster."]
    write_json(
        tmp_path,
        "textcaps/TextCaps_0.1_val.json",
        {
            "dataset_type": "val",
            "dataset_name": "textcaps",
            "dataset_version": 0.1,
            "data": [_textcaps_entry(1, refs[0], refs), _textcaps_entry(2, refs[1], refs)],
        },
    )
    # As published: a TextCaps val image is a TextVQA val image (in train_images/ of
    # train_val_images.zip), whose Rosetta OCR is in the val OCR file; the train file does not
    # have it.
    def rosetta(split: str, image_id: str, tokens: list[str]) -> dict:
        return {"dataset_name": "textvqa", "dataset_type": split, "dataset_version": "0.2",
                "data": [{"image_id": image_id, "ocr_tokens": tokens, "ocr_info": []}]}

    write_json(tmp_path, "textvqa/TextVQA_Rosetta_OCR_v0.2_train.json",
               rosetta("train", "0054c91397f2fe05", ["STOP"]))
    write_json(tmp_path, "textvqa/TextVQA_Rosetta_OCR_v0.2_val.json",
               rosetta("val", "011e7e629fb9ae7b", ["SALE", "50%", "OFF"]))
    [sample] = read_samples(task, tmp_path)
    assert sample.id == "011e7e629fb9ae7b"
    assert sample.media == tmp_path / "textvqa/train_images/011e7e629fb9ae7b.jpg"
    assert sample.fields == {"ocr_tokens": "SALE, 50%"}
    assert sample.references == {"captions": refs}


def test_capfilt_slice(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    records = [{"image": f"cc/{i}.jpg", "caption": f"caption {i}"} for i in range(6)]
    write_json(tmp_path, "web_capfilt/annotation.json", records)
    task = with_data(tasks["web_capfilt"], options={"slice": 3, "seed": 7})
    chosen = sorted(random.Random(7).sample(range(6), 3))  # the documented rule
    samples = list(read_samples(task, tmp_path))
    assert [s.id for s in samples] == [f"cc/{i}" for i in chosen]
    assert [s.references for s in samples] == [{"captions": [f"caption {i}"]} for i in chosen]
    assert samples[0].media == tmp_path / f"web_capfilt/images/cc/{chosen[0]}.jpg"
    everything = with_data(tasks["web_capfilt"], options={"slice": 100, "seed": 7})
    assert [s.id for s in read_samples(everything, tmp_path)] == [f"cc/{i}" for i in range(6)]


def test_capfilt_url_only_records_are_refused(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(
        tmp_path,
        "web_capfilt/annotation.json",
        [{"url": "http://example.org/a.jpg", "caption": "a cat"}],
    )
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["web_capfilt"], tmp_path, strict=True))
    assert "field 'image'" in str(info.value) and "download" in str(info.value)
