"""TextVQA: TextVQA_0.5.1_val.json with Rosetta OCR tokens."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
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


def read_textvqa(source: Source) -> Iterator[Sample]:
    """TextVQA_0.5.1_val.json with OCR tokens from the Rosetta OCR file (first N, ', ')."""
    path = source.path("annotations")
    records = record_list(source.json("annotations"), "data", path, "questions")
    tokens = load_rosetta(source)
    limit = token_limit(source)
    for i, raw in enumerate(records):
        yield guarded(path, f"#{i}", partial(_textvqa_sample, source, tokens, limit, i, raw))


def _textvqa_sample(source: Source, tokens: dict[str, list[str]], limit: int, i: int,
                    raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    qid = rec.id("question_id")
    rec.rename(f"#{i} (question_id {qid})")
    image_id = rec.str("image_id")
    ocr = ocr_for(tokens, image_id, source)
    return Sample(
        qid,
        source.media(f"{image_id}.jpg", path, rec.name, "image_id"),
        {"question": rec.str("question"), "ocr_tokens": join_tokens(ocr, limit)},
        {"answers": rec.strings("answers")},
    )


def _textvqa(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    data, ocr = [], []
    for i in range(n):
        if i % 2 == 0:
            word = synth.WORDS[(i // 2 + 3) % len(synth.WORDS)]
            scene = synth.random_scene(rng, text=word)
            image_id = hex_id(rng, 16)
            ocr.append((image_id, word))
            pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
            question, answer = "what word is written at the top?", word
        else:
            question, answer = f"what color is the {scene.shapes[0].kind}?", scene.shapes[0].color
        answers = [answer] * 7 + [f"{answer} sign", answer, answer.upper()]
        data.append(
            {
                "question": question,
                "image_id": image_id,
                "image_classes": ["Sign", "Street sign"],
                "flickr_original_url": f"https://farm2.staticflickr.com/{image_id}_o.jpg",
                "flickr_300k_url": f"https://farm2.staticflickr.com/{image_id}_o.jpg",
                "image_width": 64,
                "image_height": 64,
                "answers": answers,
                "question_tokens": tokens_of(question),
                "question_id": 34602 + i,
                "set_name": "val",
            }
        )
    pack.write_json(
        task.data.files["annotations"],
        {
            "dataset_type": "val",
            "dataset_name": "textvqa",
            "dataset_version": "0.5.1",
            "data": data,
        },
    )
    pack.rosetta(task.data.files["ocr"], ocr, "val")


def read_hub_textvqa(source: Source) -> Iterator[Sample]:
    """The lmms-lab/textvqa parquet mirror (validation): question_id (int), question, answers,
    ocr_tokens (the Rosetta OCR tokens the HF TextVQA loader attaches), image (embedded)."""
    limit = token_limit(source)
    return hub_samples(source, ["question_id", "question", "answers", "ocr_tokens"],
                       partial(_hub_sample, limit))


def _hub_sample(limit: int, path: Path, group: int, row: int, name: str, record: dict
                ) -> Sample:
    rec = Record(record, path, name)
    qid = rec.id("question_id")
    rec.rename(f"{name} (question_id {qid})")
    return Sample(qid, path, {"question": rec.str("question"),
                              "ocr_tokens": join_tokens(rec.strings("ocr_tokens", 0), limit)},
                  {"answers": rec.strings("answers")}, media_row=(group, row, "image"))


FORMATS = (
    Format(
        "textvqa", read_textvqa, _textvqa,
        (
            "TextVQA_0.5.1_val.json + TextVQA_Rosetta_OCR_v0.2_val.json; train_val_images.zip "
            "train_images/",
        ),
    ),
    Format(
        "hub_textvqa", read_hub_textvqa, None,
        (
            "the lmms-lab/textvqa parquet mirror (lmms-lab-encoder/textvqa), "
            "data/validation-*.parquet, images embedded",
        ),
    ),
)
