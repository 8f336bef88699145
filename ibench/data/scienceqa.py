"""ScienceQA reader: problems.json + pid_splits.json; IMG subset = pids whose `image` is set."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ibench.data.candidates import choice_fields, format_options
from ibench.data.iconqa import problem, split_pids
from ibench.data.record import guarded
from ibench.data.source import Source
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
