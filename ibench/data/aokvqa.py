"""A-OKVQA readers: multiple choice (rank over the 4 choices), direct answer (generate) and
question generation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from ibench.data.candidates import choice_fields, format_options
from ibench.data.record import Record, guarded, record_list
from ibench.data.source import Source
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
