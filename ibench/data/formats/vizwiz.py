"""VizWiz-VQA: Annotations/val.json (and test.json, no answers) with images in val/ test/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import PurePosixPath

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.format import Format
from ibench.data.formats.vqa import answers_of, read_hub_vqa
from ibench.data.packkit import (
    Pack,
    scene_qa,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample

_VIZWIZ_NAME = re.compile(r"^VizWiz_([A-Za-z]+)_\d+\.\w+$")


def read_vizwiz(source: Source) -> Iterator[Sample]:
    """VizWiz val.json / test.json: a list of records with an image name; the image is in
    `<split>/`, the split taken from its name."""
    path = source.path("annotations")
    for i, raw in enumerate(record_list(source.json("annotations"), None, path, "questions")):
        yield guarded(path, f"#{i}", partial(_vizwiz_sample, source, i, raw))


def _vizwiz_sample(source: Source, i: int, raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    image = rec.str("image")
    rec.rename(f"#{i} (image {image})")
    match = _VIZWIZ_NAME.match(PurePosixPath(image).name)
    rel = image if "/" in image or match is None else f"{match.group(1)}/{image}"
    # test.json (the server's split) has no answers: references hold the image name the
    # submission file needs (data.options.answers: false).
    refs: dict = ({"answers": answers_of(rec)} if source.option("answers", True)
                  else {"image": PurePosixPath(image).name})
    for key in ("answer_type", "answerable"):
        if rec.has(key):
            refs[key] = rec.get(key)
    return Sample(
        PurePosixPath(image).stem,
        source.media(rel, path, rec.name, "image"),
        {"question": rec.str("question")},
        refs,
    )


def _vizwiz(pack: Pack, task: TaskSpec, n: int) -> None:
    """val.json (answers, answer_type, answerable) or, for the server's split, test.json:
    VizWiz publishes only `image` and `question` there."""
    rng = pack.rng(task.id)
    records = []
    split = "val" if task.data.options.get("answers", True) else "test"
    for i in range(n):
        scene = synth.random_scene(rng)
        image = f"VizWiz_{split}_{i:08d}.jpg"
        if split == "test":
            question, _ = scene_qa(scene, i)
            records.append({"image": image, "question": question[0].upper() + question[1:]})
            pack.image(task.data.media_dir, f"test/{image}", scene)
            continue
        unanswerable = i == n - 1
        question, answer = scene_qa(scene, i)
        if unanswerable:
            question, answer = "Can you tell me what the label on this bottle says?", "unanswerable"
        answers = [{"answer": answer, "answer_confidence": "yes"} for _ in range(9)]
        answers.append(
            {"answer": "unsuitable" if unanswerable else answer, "answer_confidence": "maybe"}
        )
        records.append(
            {
                "image": image,
                "question": question[0].upper() + question[1:],
                "answers": answers,
                "answer_type": "unanswerable"
                if unanswerable
                else ("yes/no" if answer == "yes" else "other"),
                "answerable": 0 if unanswerable else 1,
            }
        )
        pack.image(task.data.media_dir, f"val/{image}", scene)
    pack.write_json(task.data.files["annotations"], records)


FORMATS = (
    Format(
        "vizwiz", read_vizwiz, _vizwiz,
        (
            "Annotations.zip val.json / test.json; val.zip, test.zip images",
        ),
    ),
    Format(
        "hub_vizwiz", read_hub_vqa, None,
        (
            "the lmms-lab/VizWiz-VQA parquet mirror (lmms-lab-encoder/VizWiz-VQA), "
            "data/val-*.parquet, images embedded",
        ),
    ),
)
