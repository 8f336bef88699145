"""A-OKVQA: aokvqa_v1p0_<split>.json (multiple choice, direct answer, question generation)."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.candidates import choice_fields, format_options
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def _each(source: Source, build: Callable[[str, Path, Record], Sample]) -> Iterator[Sample]:
    """build(question_id, image path `<image_split>/<image_id:012d>.jpg`, record) per record,
    in file order; a bad record becomes its stand-in (record.guarded)."""
    path = source.path("annotations")
    data = record_list(source.json("annotations"), None, path, "questions")
    split = source.option("image_split", "val2017")
    for i, raw in enumerate(data):
        yield guarded(path, f"#{i}", partial(_one, source, split, i, raw, build))


def _one(source: Source, split: str, i: int, raw: object,
         build: Callable[[str, Path, Record], Sample]) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    qid = rec.id("question_id")
    rec.rename(f"#{i} (question_id {qid})")
    rel = f"{split}/{rec.int('image_id'):012d}.jpg"
    return build(qid, source.media(rel, path, rec.name, "image_id"), rec)


def _multiple_choice(qid: str, media: Path, rec: Record) -> Sample:
    choices, answer = choice_fields(rec, "choices", "correct_choice_idx")
    refs: dict = {"answer_index": answer, "answer": choices[answer]}
    if rec.has("direct_answers"):
        refs["direct_answers"] = rec.strings("direct_answers")
    if rec.has("difficult_direct_answer"):
        refs["difficult_direct_answer"] = bool(rec.get("difficult_direct_answer"))
    return Sample(qid, media, {"question": rec.str("question"),
                               "options": format_options(choices)}, refs, choices)


def _direct_answer(qid: str, media: Path, rec: Record) -> Sample:
    return Sample(qid, media, {"question": rec.str("question")},
                  {"answers": rec.strings("direct_answers")})


def _question_generation(qid: str, media: Path, rec: Record) -> Sample:
    choices, answer = choice_fields(rec, "choices", "correct_choice_idx")
    return Sample(qid, media, {"answer": choices[answer]}, {"captions": [rec.str("question")]})


def read_aokvqa(source: Source) -> Iterator[Sample]:
    """MC: fields question/options, candidates = choices, references answer_index/answer (+DA)."""
    return _each(source, _multiple_choice)


def read_aokvqa_da(source: Source) -> Iterator[Sample]:
    """Direct answer: field question; references `answers` = the 10 `direct_answers`."""
    return _each(source, _direct_answer)


def read_vqg_aokvqa(source: Source) -> Iterator[Sample]:
    """Question generation: field `answer` = the correct choice; reference = the question."""
    return _each(source, _question_generation)


def _aokvqa(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.data.files["annotations"])
    split = task.data.options.get("image_split", "val2017")
    records = []
    for i in range(n):
        image_id = 461751 + i * 29
        scene = synth.random_scene(rng)
        shape = scene.shapes[0]
        choices = [c for c in sorted(synth.COLORS) if c != shape.color][:3] + [shape.color]
        rng.shuffle(choices)
        qid = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(22))
        records.append(
            {
                "split": "val",
                "image_id": image_id,
                "question_id": qid,
                "question": f"What color is the {shape.kind} in the picture?",
                "choices": choices,
                "correct_choice_idx": choices.index(shape.color),
                "direct_answers": [shape.color] * 9 + [f"light {shape.color}"],
                "difficult_direct_answer": False,
                "rationales": [
                    f"The {shape.kind} is {shape.color}.",
                    f"It is painted {shape.color}.",
                    f"Its color is {shape.color}.",
                ],
            }
        )
        pack.image(task.data.media_dir, f"{split}/{image_id:012d}.jpg", scene)
    pack.write_json(task.data.files["annotations"], records)


FORMATS = (
    Format(
        "aokvqa", read_aokvqa, _aokvqa,
        (
            "aokvqa_v1p0.tar.gz aokvqa_v1p0_val.json; COCO 2017 images <image_id:012d>.jpg",
        ),
    ),
    Format(
        "aokvqa_da", read_aokvqa_da, _aokvqa,
        (
            "the same file; its direct_answers",
        ),
    ),
    Format(
        "vqg_aokvqa", read_vqg_aokvqa, _aokvqa,
        (
            "the same file; the question becomes the reference",
        ),
    ),
)
