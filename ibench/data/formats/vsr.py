"""VSR: the zero-shot test.jsonl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

from ibench.data import synth
from ibench.data.annotation import Record, guarded
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
)
from ibench.data.source import Source, read_jsonl
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def validator_ids(rec: Record, key: str) -> list[int]:
    """A vote_*_validator_id field as a list of ints: a real list (2022 files) or a string
    that looks like one ("[18, 2]", current files)."""
    value = rec.raw(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise rec.error(key, f"not a list written as a string: {value!r}") from exc
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise rec.error(key, f"must be a list of integer ids, got {value!r}")
    return value


def read_vsr(source: Source) -> Iterator[Sample]:
    """One sample per line; id = 0-based line index; field `caption`; reference `{"label"}`."""
    path = source.path("annotations")
    for index, (number, raw) in enumerate(read_jsonl(path)):
        yield guarded(path, f"line {number}", partial(_vsr_sample, source, index, number, raw))


def _vsr_sample(source: Source, index: int, number: int, raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"line {number}")
    refs: dict = {"label": rec.label("label")}
    if rec.has("relation"):
        refs["relation"] = rec.str("relation")
    for key in ("vote_true_validator_id", "vote_false_validator_id"):
        if rec.has(key):
            refs[key] = validator_ids(rec, key)
    image = rec.str("image")
    return Sample(
        str(index),
        source.media(image, path, rec.name, "image"),
        {"caption": rec.str("caption")},
        refs,
    )


def _vsr(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    lines = []
    for i in range(n):
        scene = synth.random_scene(rng, shapes=2)
        left, right = scene.shapes
        label = i % 2
        relation = "left of" if label else "right of"
        image = f"{17697 + i * 101:012d}.jpg"
        true_votes = [18, 2] if label else []
        false_votes = [1] if label else [2, 51, 26]
        lines.append(
            json.dumps(
                {
                    "image": image,
                    "image_link": f"http://images.cocodataset.org/train2017/{image}",
                    "caption": f"The {left.name} is {relation} the {right.name}.",
                    "label": label,
                    "relation": relation,
                    "subj": left.kind,
                    "obj": right.kind,
                    "annotator_id": 2 + i,
                    "vote_true_validator_id": json.dumps(true_votes),
                    "vote_false_validator_id": json.dumps(false_votes),
                }
            )
        )
        pack.image(task.data.media_dir, image, scene)
    pack.write_lines(task.data.files["annotations"], lines)


FORMATS = (
    Format(
        "vsr", read_vsr, _vsr,
        (
            "zeroshot test.jsonl (validator ids lists or lists written as strings); COCO 2017 "
            "images",
        ),
    ),
)
