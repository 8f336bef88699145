"""GQA: testdev_balanced_questions.json, a dict keyed by question id."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.hub import iter_rows, mirror_files
from ibench.data.packkit import (
    Pack,
    scene_qa,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def read_gqa(source: Source) -> Iterator[Sample]:
    """One sample per question (file order); image `<imageId>.jpg`; reference `{"answer"}`."""
    path = source.path("questions")
    data = source.json("questions")
    if not isinstance(data, dict):
        raise DataError(
            path, f"must be a JSON object keyed by question id, got {type(data).__name__}"
        )
    for qid, raw in data.items():
        yield guarded(path, f"question_id {qid}", partial(_question, source, qid, raw))


def _question(source: Source, qid: str, raw: object) -> Sample:
    path = source.path("questions")
    rec = Record(raw, path, f"question_id {qid}")
    image = f"{rec.id('imageId')}.jpg"
    refs = {"answer": rec.str("answer")}
    if isinstance(rec.get("fullAnswer"), str):
        refs["full_answer"] = rec.get("fullAnswer")
    return Sample(
        str(qid),
        source.media(image, path, rec.name, "imageId"),
        {"question": rec.str("question")},
        refs,
    )


def _gqa(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    data = {}
    first = rng.randint(100000, 900000)
    for i in range(n):
        if i % 2 == 0:
            image_id = f"n{first + 37 * i}"
            scene = synth.random_scene(rng)
            pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
        question, answer = scene_qa(scene, i)
        qid = f"{20000000 + i * 7:08d}"
        data[qid] = {
            "semantic": [
                {"operation": "select", "dependencies": [], "argument": "shape (0)"},
                {"operation": "query", "dependencies": [0], "argument": "color"},
            ],
            "entailed": [],
            "equivalent": [qid],
            "question": question[0].upper() + question[1:],
            "imageId": image_id,
            "isBalanced": True,
            "groups": {"global": None, "local": f"10q-shape_{answer}"},
            "answer": answer,
            "semanticStr": "select: shape (0)->query: color [0]",
            "annotations": {"answer": {}, "question": {}, "fullAnswer": {}},
            "types": {"detailed": "objAttr", "semantic": "attr", "structural": "query"},
            "fullAnswer": f"The answer is {answer}.",
        }
    pack.write_json(task.data.files["questions"], data)


def read_hub_gqa(source: Source) -> Iterator[Sample]:
    """The lmms-lab/GQA parquet mirror: config testdev_balanced_instructions (id, imageId,
    question, answer, ...) joined on imageId with config testdev_balanced_images (id, image),
    as lmms-eval's gqa utils.py joins them. The image rows are indexed once (ids only)."""
    where: dict[str, tuple[Path, int, int]] = {}
    for path, group, row, record in iter_rows(mirror_files(source, "images"), ["id"]):
        where.setdefault(str(record["id"]), (path, group, row))
    files = mirror_files(source, "instructions")
    columns = ["id", "imageId", "question", "answer"]
    for path, group, row, record in iter_rows(files, columns):
        name = f"row {row} of row group {group}"
        yield guarded(path, name, partial(_hub_question, source, where, path, name, record))


def _hub_question(source: Source, where: dict[str, tuple[Path, int, int]], path: Path,
                  name: str, record: dict) -> Sample:
    rec = Record(record, path, name)
    qid = rec.id("id")
    rec.rename(f"{name} (id {qid})")
    image_id = rec.str("imageId")
    if image_id not in where:
        raise rec.error("imageId", f"{image_id!r} is not an id of testdev_balanced_images")
    image_path, group, row = where[image_id]
    return Sample(qid, image_path, {"question": rec.str("question")},
                  {"answer": rec.str("answer")}, media_row=(group, row, "image"))


FORMATS = (
    Format(
        "gqa", read_gqa, _gqa,
        (
            "questions1.2.zip testdev_balanced_questions.json; images.zip <imageId>.jpg",
        ),
    ),
    Format(
        "hub_gqa", read_hub_gqa, None,
        (
            "the lmms-lab/GQA parquet mirror (lmms-lab-encoder/GQA): "
            "testdev_balanced_instructions/testdev-*.parquet joined with "
            "testdev_balanced_images/testdev-*.parquet on imageId, images embedded",
        ),
    ),
)
