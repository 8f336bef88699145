"""IconQA: problems.json + pid_splits.json (`<subtask>_<split>` keys)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded
from ibench.data.candidates import choice_fields, format_options
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.hub import hub_samples
from ibench.data.packkit import (
    Pack,
    choice_question,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


def split_pids(source: Source, key: str) -> list[str]:
    """The pids listed under `key` in pid_splits.json."""
    path = source.path("pid_splits")
    splits = source.json("pid_splits")
    if not isinstance(splits, dict):
        raise DataError(path, "must be a JSON object of split -> pids")
    if key not in splits:
        raise DataError(path, f"no split '{key}' (has: {', '.join(sorted(splits))})", field=key)
    pids = splits[key]
    if not isinstance(pids, list):
        raise DataError(path, "must be a list of pids", field=key)
    return [str(p) for p in pids]


def problem(source: Source, pid: str) -> Record:
    """The problems.json record of one pid (a DataError if it is missing)."""
    path = source.path("problems")
    problems = source.json("problems")
    if not isinstance(problems, dict):
        raise DataError(path, "must be a JSON object of pid -> problem")
    if pid not in problems:
        raise DataError(path, "pid listed in pid_splits.json but absent", f"pid {pid}")
    return Record(problems[pid], path, f"pid {pid}")


def read_iconqa(source: Source) -> Iterator[Sample]:
    """Multi-text-choice problems; image `<split>/<subtask>/<pid>/image.png`."""
    split = source.option("split", "test")
    subtask = source.option("subtask", "choose_txt")
    # lupantech/IconQA run_choose_txt/dataset.py: pid_splits['%s_%s' % (task, name)]
    for pid in split_pids(source, f"{subtask}_{split}"):
        yield guarded(source.path("problems"), f"pid {pid}",
                      partial(_problem_sample, source, pid, split, subtask))


def _problem_sample(source: Source, pid: str, split: str, subtask: str) -> Sample:
    rec = problem(source, pid)
    if rec.has("ques_type") and rec.get("ques_type") != subtask:
        raise rec.error("ques_type", f"is {rec.get('ques_type')!r}, expected {subtask!r}")
    choices, answer = choice_fields(rec, "choices", "answer")
    rel = f"{split}/{subtask}/{pid}/image.png"
    return Sample(
        pid,
        source.media(rel, source.path("problems"), rec.name, "pid"),
        {"question": rec.str("question"), "options": format_options(choices)},
        {"answer_index": answer, "answer": choices[answer]},
        choices,
    )


def _iconqa(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    split = task.data.options.get("split", "test")
    subtask = task.data.options.get("subtask", "choose_txt")
    problems: dict = {}
    # the published pid_splits.json: `<subtask>_<split>` for every sub-task and split
    splits: dict[str, list[str]] = {
        f"{t}_{s}": []
        for t in ("choose_img", "choose_txt", "fill_in_blank")
        for s in ("train", "val", "test", "trainval", "minitrain", "minival", "minitest")
    }
    plan = [(split, subtask)] * n + [
        ("train", "choose_txt"),
        ("test", "choose_img"),
        ("test", "fill_in_blank"),
    ]
    for i, (part, kind) in enumerate(plan):
        pid = str(10 + i * 3)
        scene = synth.random_scene(rng)
        question, choices, answer = choice_question(scene, i)
        if kind == "fill_in_blank":
            record = {
                "question": "How many shapes are there?",
                "choices": [],
                "answer": "1",
                "ques_type": kind,
                "grade": "grade1",
                "label": "S1",
            }
        else:
            record = {
                "question": question,
                "choices": choices,
                "answer": answer,
                "ques_type": kind,
                "grade": "grade1",
                "label": "S2",
            }
        problems[pid] = record
        splits[f"{kind}_{part}"].append(pid)
        if (part, kind) == (split, subtask):
            folder = f"{task.data.media_dir}/{part}/{kind}/{pid}"
            pack.image(folder, "image.png", scene)
            pack.write_json(f"{folder}/data.json", record)
    pack.write_json(task.data.files["problems"], problems)
    pack.write_json(task.data.files["pid_splits"], splits)


MAX_CHOICES = 5  # choose_txt problems have 2 to 5 choices


def read_hub_iconqa(source: Source) -> Iterator[Sample]:
    """The lmms-lab/ICON-QA mirror, test: every sub-task, so only `ques_type == "choose_txt"`
    rows are kept. Its `choices` column joins the choices with commas (lmms-eval splits on
    ","). A row is refused, naming its question_id, when the split cannot be trusted: an empty
    choice, more than 5 choices, or an answer that is neither an index into the choices nor
    exactly one of them."""
    return hub_samples(source, ["question_id", "question", "choices", "answer", "ques_type"],
                       _hub_problem)


def _hub_problem(path: Path, group: int, row: int, name: str, record: dict) -> Sample | None:
    rec = Record(record, path, name)
    if rec.get("ques_type") != "choose_txt":
        return None
    qid = rec.id("question_id")
    rec.rename(f"{name} (question_id {qid})")
    choices = [c.strip() for c in rec.str("choices").split(",")]
    if any(not c for c in choices) or not 2 <= len(choices) <= MAX_CHOICES:
        raise rec.error("choices", f"{rec.get('choices')!r} does not split into 2-5 choices "
                                   "on commas unambiguously")
    answer = str(rec.raw("answer")).strip()
    if answer.isdigit() and int(answer) < len(choices):
        index = int(answer)
    elif choices.count(answer) == 1:
        index = choices.index(answer)
    else:
        raise rec.error("answer", f"{answer!r} is neither an index into nor one of the choices "
                                  f"{choices!r}")
    return Sample(qid, path, {"question": rec.str("question"),
                              "options": format_options(choices)},
                  {"answer_index": index, "answer": choices[index]}, tuple(choices),
                  media_row=(group, row, "query_image"))


FORMATS = (
    Format(
        "iconqa", read_iconqa, _iconqa,
        (
            "iconqa_data.zip: problems.json, pid_splits.json (choose_txt_test, ...), "
            "iconqa/<split>/<subtask>/<pid>/image.png",
        ),
    ),
    Format(
        "hub_iconqa", read_hub_iconqa, None,
        (
            "the lmms-lab/ICON-QA parquet mirror (lmms-lab-encoder/ICON-QA), "
            "data/test-*.parquet, choose_txt rows, query_image embedded",
        ),
    ),
)
