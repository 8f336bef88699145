"""LLaVA-Instruct-150K conversations, a seeded slice."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
)
from ibench.data.slices import seeded_slice, slice_settings, unique_id
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def strip_image_tag(text: str) -> str:
    """Remove the `<image>` marker and the newline next to it, wherever it sits."""
    return text.replace("<image>\n", "").replace("\n<image>", "").replace("<image>", "").strip()


def first_exchange(rec: Record) -> tuple[str, str]:
    """(first human turn, the gpt turn that follows it)."""
    turns = rec.list("conversations", min_len=2)
    for j, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise rec.error(f"conversations[{j}]", "must be {from, value} with a string value")
    if turns[0].get("from") != "human":
        raise rec.error("conversations[0].from", f"must be 'human', got {turns[0].get('from')!r}")
    if turns[1].get("from") != "gpt":
        raise rec.error("conversations[1].from", f"must be 'gpt', got {turns[1].get('from')!r}")
    question = strip_image_tag(turns[0]["value"])
    if not question:
        raise rec.error("conversations[0].value", "is empty once <image> is removed")
    return question, turns[1]["value"].strip()


def read_llava(source: Source) -> Iterator[Sample]:
    """Field `question`, reference `{"captions": [the reference answer]}`; id = record `id`."""
    path = source.path("annotations")
    data = record_list(source.json("annotations"), None, path, "conversations")
    size, seed = slice_settings(source)
    seen: set[str] = set()
    for i in seeded_slice(len(data), size, seed):
        yield guarded(path, f"#{i}", partial(_conversation, source, data[i], i, seen))


def _conversation(source: Source, raw: object, i: int, seen: set[str]) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    base = rec.id("id")
    rec.rename(f"#{i} (id {base})")
    question, answer = first_exchange(rec)
    return Sample(
        unique_id(base, i, seen),
        source.media(rec.str("image"), path, rec.name, "image"),
        {"question": question},
        {"captions": [answer]},
    )


def _llava(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    records = []
    kind = task.data.files["annotations"]
    for i in range(n):
        image_id = f"{33471 + i * 11:012d}"
        scene = synth.random_scene(pack.rng(f"llava/{image_id}"))
        shape = scene.shapes[0]
        if "detail" in kind:
            question, answer = (
                "Describe the following image in detail.",
                (
                    f"The image shows a single {shape.name} placed on a plain {scene.background} "
                    f"background. There is nothing else in the picture."
                ),
            )
        elif "reasoning" in kind:
            question, answer = (
                f"Why might someone draw a {shape.kind} like this?",
                (
                    f"A {shape.color} {shape.kind} on a {scene.background} background is easy to "
                    "see, so it could be used to teach shapes and colors."
                ),
            )
        else:
            question, answer = (
                f"What color is the {shape.kind} in the image?",
                (f"The {shape.kind} in the image is {shape.color}."),
            )
        first = f"<image>\n{question}" if rng.random() < 0.5 else f"{question}\n<image>"
        records.append(
            {
                "id": image_id,
                "image": f"{image_id}.jpg",
                "conversations": [
                    {"from": "human", "value": first},
                    {"from": "gpt", "value": answer},
                    {"from": "human", "value": "Is there anything else?"},
                    {"from": "gpt", "value": "No, that is all."},
                ],
            }
        )
        pack.image(task.data.media_dir, f"{image_id}.jpg", scene)
    pack.write_json(task.data.files["annotations"], records)


FORMATS = (
    Format(
        "llava", read_llava, _llava,
        (
            "conversation_58k.json / detail_23k.json / complex_reasoning_77k.json; COCO train2017"
            " images",
        ),
    ),
)
