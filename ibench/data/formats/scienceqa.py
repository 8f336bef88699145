"""ScienceQA: problems.json + pid_splits.json, the problems with an image."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded
from ibench.data.candidates import choice_fields, format_options
from ibench.data.format import Format
from ibench.data.formats.iconqa import problem, split_pids
from ibench.data.hub import hub_samples
from ibench.data.packkit import (
    Pack,
    choice_question,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def read_scienceqa(source: Source) -> Iterator[Sample]:
    """Problems of the split that have an image (`images/<split>/<pid>/<image>`).

    Fields: question, context (the `hint`, "" when none), options; candidates: the choices.
    """
    split = source.option("split", "test")
    path = source.path("problems")
    for pid in split_pids(source, split):
        sample = guarded(path, f"pid {pid}", partial(_problem_sample, source, pid, split))
        if sample is not None:
            yield sample


def _problem_sample(source: Source, pid: str, split: str) -> Sample | None:
    path = source.path("problems")
    rec = problem(source, pid)
    if not rec.has("image"):
        return None  # a text-only problem: outside the IMG subset
    choices, answer = choice_fields(rec, "choices", "answer")
    hint = rec.get("hint") or ""
    if not isinstance(hint, str):
        raise rec.error("hint", f"must be a string, got {hint!r}")
    folder = rec.get("split") if isinstance(rec.get("split"), str) else split
    rel = f"{folder}/{pid}/{rec.str('image')}"
    return Sample(
        pid,
        source.media(rel, path, rec.name, "image"),
        {"question": rec.str("question"), "context": hint, "options": format_options(choices)},
        {"answer_index": answer, "answer": choices[answer]},
        choices,
    )


def _scienceqa(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    split = task.data.options.get("split", "test")
    problems: dict = {}
    names = ("train", "val", "test", "trainval", "minitrain", "minival", "minitest")
    splits: dict[str, list[str]] = {name: [] for name in names}
    plan = [(split, True)] * n + [(split, False), (split, False), ("train", True), ("val", True)]
    rng.shuffle(plan)
    for i, (part, with_image) in enumerate(plan):
        pid = str(4 + i)
        scene = synth.random_scene(rng)
        question, choices, answer = choice_question(scene, i)
        if not with_image:
            question, choices, answer = (
                "Which word would you find on a dictionary page between shape and square?",
                ["shore", "stamp"],
                0,
            )
        problems[pid] = {
            "question": question,
            "choices": choices,
            "answer": answer,
            "hint": "" if i % 3 == 0 else f"The picture shows a {scene.background} card.",
            "image": "image.png" if with_image else None,
            "task": "closed choice",
            "grade": "grade2",
            "subject": "natural science",
            "topic": "shapes",
            "category": "Identify shapes and colors",
            "skill": "Identify shapes",
            "lecture": "Shapes have names and colors.",
            "solution": f"The answer is {choices[answer]}.",
            "split": part,
        }
        splits[part].append(pid)
        if part in ("train", "val"):
            splits["trainval"].append(pid)
        if with_image and part == split:
            pack.image(task.data.media_dir, f"{part}/{pid}/image.png", scene)
    pack.write_json(task.data.files["problems"], problems)
    pack.write_json(task.data.files["pid_splits"], splits)


def read_hub_scienceqa(source: Source) -> Iterator[Sample]:
    """The lmms-lab/ScienceQA mirror, config ScienceQA-IMG, test: image (embedded), question,
    choices, answer (an index), hint. The mirror has no pid column, so a sample's id is its
    place in the mirror (`<file stem>-<row group>-<row>`): runs on the mirror and on the
    official files cannot be paired by id."""
    return hub_samples(source, ["question", "choices", "answer", "hint"], _hub_problem)


def _hub_problem(path: Path, group: int, row: int, name: str, record: dict) -> Sample:
    rec = Record(record, path, name)
    choices, answer = choice_fields(rec, "choices", "answer")
    hint = rec.get("hint") or ""
    if not isinstance(hint, str):
        raise rec.error("hint", f"must be a string, got {hint!r}")
    return Sample(f"{path.stem}-{group}-{row}", path,
                  {"question": rec.str("question"), "context": hint,
                   "options": format_options(choices)},
                  {"answer_index": answer, "answer": choices[answer]}, choices,
                  media_row=(group, row, "image"))


FORMATS = (
    Format(
        "scienceqa", read_scienceqa, _scienceqa,
        (
            "problems.json, pid_splits.json; images/<split>/<pid>/image.png",
        ),
    ),
    Format(
        "hub_scienceqa", read_hub_scienceqa, None,
        (
            "the lmms-lab/ScienceQA parquet mirror (lmms-lab-encoder/ScienceQA), config "
            "ScienceQA-IMG, ScienceQA-IMG/test-*.parquet, images embedded; no pid column",
        ),
    ),
)
