"""IconQA reader: problems.json + pid_splits.json, the `<subtask>_<split>` pids (as the
published file names them, e.g. `choose_txt_test`)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ibench.data.candidates import choice_fields, format_options
from ibench.data.errors import DataError
from ibench.data.record import Record, guarded
from ibench.data.source import Source
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
