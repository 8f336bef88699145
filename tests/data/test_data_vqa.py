"""VQA-family readers on hand-written records (formats.md sections 6, 7, 8, 11, 14, 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import tasks_fixture, with_data, write_json  # noqa: F401 - fixtures

from ibench.data import DataError, read_samples
from ibench.protocol.taskspec import TaskSpec

VQAV2_ANSWERS = [
    "down",
    "down",
    "at table",
    "skateboard",
    "down",
    "table",
    "down",
    "down",
    "down",
    "down",
]


def _write_vqav2(root: Path) -> None:
    questions = {
        "info": {},
        "task_type": "Open-Ended",
        "data_type": "mscoco",
        "license": {},
        "data_subtype": "val2014",
        "questions": [
            {"image_id": 262148, "question": "Where is he looking?", "question_id": 262148000}
        ],
    }
    annotations = {
        "info": {},
        "license": {},
        "data_subtype": "val2014",
        "annotations": [
            {
                "question_type": "none of the above",
                "multiple_choice_answer": "down",
                "answers": [
                    {"answer": a, "answer_confidence": "yes", "answer_id": i + 1}
                    for i, a in enumerate(VQAV2_ANSWERS)
                ],
                "image_id": 262148,
                "answer_type": "other",
                "question_id": 262148000,
            }
        ],
    }
    write_json(root, "vqav2/v2_OpenEnded_mscoco_val2014_questions.json", questions)
    write_json(root, "vqav2/v2_mscoco_val2014_annotations.json", annotations)


def test_vqav2(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_vqav2(tmp_path)
    [sample] = read_samples(tasks["vqav2"], tmp_path)
    assert sample.id == "262148000"
    assert sample.media == tmp_path / "coco/images/val2014/COCO_val2014_000000262148.jpg"
    assert sample.fields == {"question": "Where is he looking?"}
    assert sample.references["answers"] == VQAV2_ANSWERS
    assert sample.candidates is None


def test_vqg_vqav2_uses_multiple_choice_answer(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_vqav2(tmp_path)
    [sample] = read_samples(tasks["vqg_vqav2"], tmp_path)
    assert sample.fields == {"answer": "down"}
    assert sample.references == {"captions": ["Where is he looking?"]}


def test_vqa_question_without_annotation(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_vqav2(tmp_path)
    path = write_json(tmp_path, "vqav2/v2_mscoco_val2014_annotations.json", {"annotations": []})
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["vqav2"], tmp_path, strict=True))
    assert str(path) in str(info.value) and "question_id 262148000" in str(info.value)


OKVQA_RAW = ["racing"] * 6 + ["motocross"] * 2 + ["riding"] * 2
OKVQA_STEM = ["race"] * 6 + ["motocross"] * 2 + ["ride"] * 2


def _write_okvqa(root: Path, stems: list[str]) -> None:
    write_json(
        root,
        "okvqa/OpenEnded_mscoco_val2014_questions.json",
        {
            "data_subtype": "val2014",
            "questions": [
                {
                    "image_id": 297147,
                    "question": "What sport can you use this for?",
                    "question_id": 2971475,
                }
            ],
        },
    )
    write_json(
        root,
        "okvqa/mscoco_val2014_annotations.json",
        {
            "annotations": [
                {
                    "image_id": 297147,
                    "answer_type": "other",
                    "question_type": "four",
                    "question_id": 2971475,
                    "confidence": 3,
                    "answers": [
                        {
                            "answer_id": i + 1,
                            "raw_answer": raw,
                            "answer_confidence": "yes",
                            "answer": stem,
                        }
                        for i, (raw, stem) in enumerate(zip(OKVQA_RAW, stems, strict=True))
                    ],
                }
            ]
        },
    )


def test_okvqa_uses_the_stemmed_answers(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_okvqa(tmp_path, OKVQA_STEM)
    [sample] = read_samples(tasks["okvqa"], tmp_path)
    assert sample.id == "2971475"
    assert sample.media == tmp_path / "coco/images/val2014/COCO_val2014_000000297147.jpg"
    assert sample.references["answers"] == OKVQA_STEM


def test_vqg_okvqa_most_frequent_answer(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_okvqa(tmp_path, OKVQA_STEM)
    [sample] = read_samples(tasks["vqg_okvqa"], tmp_path)
    assert sample.fields == {"answer": "race"}
    assert sample.references == {"captions": ["What sport can you use this for?"]}


def test_vqg_okvqa_tie_goes_to_the_first(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_okvqa(tmp_path, ["ride", "race"] * 5)  # 5 each: "ride" appears first
    [sample] = read_samples(tasks["vqg_okvqa"], tmp_path)
    assert sample.fields == {"answer": "ride"}


def test_vizwiz(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    answers = ["unanswerable"] * 8 + ["unsuitable", "no idea"]
    write_json(
        tmp_path,
        "vizwiz/Annotations/val.json",
        [
            {
                "image": "VizWiz_val_00000000.jpg",
                "question": "Ok. There is another picture I hope it is a better one.",
                "answers": [{"answer": a, "answer_confidence": "yes"} for a in answers],
                "answer_type": "unanswerable",
                "answerable": 0,
            }
        ],
    )
    [sample] = read_samples(tasks["vizwiz"], tmp_path)
    assert sample.id == "VizWiz_val_00000000"
    assert sample.media == tmp_path / "vizwiz/val/VizWiz_val_00000000.jpg"
    assert sample.fields == {"question": "Ok. There is another picture I hope it is a better one."}
    assert sample.references == {"answers": answers, "answer_type": "unanswerable", "answerable": 0}


GQA_RECORD = {
    "semantic": [{"operation": "select", "dependencies": [], "argument": "pond (1)"}],
    "entailed": [],
    "equivalent": ["00126851"],
    "question": "Are there carts near the pond?",
    "imageId": "1159529",
    "isBalanced": True,
    "groups": {"global": None, "local": "13-pond_cart"},
    "answer": "yes",
    "semanticStr": "select: pond (1)",
    "annotations": {"answer": {}, "question": {}, "fullAnswer": {}},
    "types": {"detailed": "existRelS", "semantic": "rel", "structural": "verify"},
    "fullAnswer": "Yes, there is a cart near the pond.",
}


def test_gqa_dict_keyed_by_question_id(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    second = dict(GQA_RECORD, question="Is the sky blue?", imageId="n161313", answer="no")
    write_json(
        tmp_path,
        "gqa/testdev_balanced_questions.json",
        {"00126851": GQA_RECORD, "20968406": second},
    )
    samples = list(read_samples(tasks["gqa"], tmp_path))
    assert [s.id for s in samples] == ["00126851", "20968406"]
    assert samples[0].media == tmp_path / "gqa/images/1159529.jpg"
    assert samples[1].media == tmp_path / "gqa/images/n161313.jpg"
    assert samples[0].fields == {"question": "Are there carts near the pond?"}
    assert samples[0].references["answer"] == "yes"
    assert samples[1].references["answer"] == "no"


def test_gqa_list_is_refused(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "gqa/testdev_balanced_questions.json", [GQA_RECORD])
    with pytest.raises(DataError, match="keyed by question id"):
        list(read_samples(tasks["gqa"], tmp_path, strict=True))


TEXTVQA_RECORD = {
    "question": "what is the brand of this camera?",
    "image_id": "003a8ae2ef43b901",
    "image_classes": ["Cassette deck", "Printer"],
    "flickr_original_url": "https://farm2.staticflickr.com/4/5566811_bc00d504a6_o.jpg",
    "flickr_300k_url": "https://farm2.staticflickr.com/4/5566811_bc00d504a6_o.jpg",
    "image_width": 1024,
    "image_height": 664,
    "answers": [
        "nous les gosses",
        "dakota",
        "clos culombu",
        "dakota digital",
        "dakota",
        "dakota",
        "dakota digital",
        "dakota digital",
        "dakota",
        "dakota",
    ],
    "question_tokens": ["what", "is", "the", "brand", "of", "this", "camera"],
    "question_id": 34602,
    "set_name": "val",
}
OCR_TOKENS = [f"tok{i}" for i in range(35)]


def test_textvqa_with_rosetta_ocr(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(
        tmp_path,
        "textvqa/TextVQA_0.5.1_val.json",
        {
            "dataset_type": "val",
            "dataset_name": "textvqa",
            "dataset_version": "0.5.1",
            "data": [TEXTVQA_RECORD],
        },
    )
    write_json(
        tmp_path,
        "textvqa/TextVQA_Rosetta_OCR_v0.2_val.json",
        {"data": [{"image_id": "003a8ae2ef43b901", "ocr_tokens": OCR_TOKENS, "ocr_info": []}]},
    )
    [sample] = read_samples(tasks["textvqa"], tmp_path)
    assert sample.id == "34602"
    assert sample.media == tmp_path / "textvqa/train_images/003a8ae2ef43b901.jpg"
    assert sample.fields["question"] == "what is the brand of this camera?"
    # the first 30 tokens, joined with ", "
    assert sample.fields["ocr_tokens"] == ", ".join(f"tok{i}" for i in range(30))
    assert sample.references["answers"] == TEXTVQA_RECORD["answers"]


def test_textvqa_image_missing_from_ocr_file(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "textvqa/TextVQA_0.5.1_val.json", {"data": [TEXTVQA_RECORD]})
    ocr = write_json(tmp_path, "textvqa/TextVQA_Rosetta_OCR_v0.2_val.json", {"data": []})
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["textvqa"], tmp_path, strict=True))
    assert str(ocr) in str(info.value) and "image_id 003a8ae2ef43b901" in str(info.value)


OCRVQA = {
    "0001234567": {
        "imageURL": "http://ecx.images-amazon.com/images/I/51a.jpg",
        "questions": ["Who wrote this book?"],
        "answers": ["A. Author"],
        "title": "Train Book",
        "authorName": "A. Author",
        "genre": "Travel",
        "split": 1,
    },
    "0002345678": {
        "imageURL": "http://ecx.images-amazon.com/images/I/61b.png",
        "questions": ["Who wrote this book?", "What is the title of this book?"],
        "answers": ["Jane Doe", "Baking Bread at Home"],
        "title": "Baking Bread at Home",
        "authorName": "Jane Doe",
        "genre": "Cookbooks, Food & Wine",
        "split": 3,
    },
    "0003456789": {
        "imageURL": "http://ecx.images-amazon.com/images/I/71c.jpg",
        "questions": ["Is this a travel book?"],
        "answers": ["No"],
        "title": "Val Book",
        "authorName": "B",
        "genre": "Humor",
        "split": 2,
    },
}


def test_ocrvqa_split_codes(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "ocrvqa/dataset.json", OCRVQA)
    samples = list(read_samples(tasks["ocrvqa"], tmp_path))  # split: 3 = test
    assert [s.id for s in samples] == ["0002345678_0", "0002345678_1"]
    assert samples[0].media == tmp_path / "ocrvqa/images/0002345678.png"  # imageURL's extension
    assert samples[0].fields == {
        "question": "Who wrote this book?",
        "ocr_tokens": "Baking, Bread, at, Home, Jane, Doe",
    }
    assert samples[1].references == {"answer": "Baking Bread at Home"}
    train = with_data(tasks["ocrvqa"], options={"split": 1})
    assert [s.id for s in read_samples(train, tmp_path)] == ["0001234567_0"]


def test_ocrvqa_questions_answers_mismatch(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    bad = dict(OCRVQA["0002345678"], answers=["Jane Doe"])
    path = write_json(tmp_path, "ocrvqa/dataset.json", {"0002345678": bad})
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["ocrvqa"], tmp_path, strict=True))
    assert str(path) in str(info.value)
    assert "record book 0002345678" in str(info.value) and "field 'answers'" in str(info.value)


def test_ocrvqa_bad_split_option(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "ocrvqa/dataset.json", OCRVQA)
    with pytest.raises(DataError, match="data.options.split"):
        list(read_samples(with_data(tasks["ocrvqa"], options={"split": "test"}), tmp_path))
