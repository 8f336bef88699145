"""A-OKVQA readers: multiple choice (rank over the 4 choices), direct answer (generate) and
question generation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ibench.data.candidates import choice_fields, format_options
from ibench.data.record import Record, record_list
from ibench.data.source import Source
from ibench.records import Sample


def _items(source: Source) -> Iterator[tuple[str, Path, Record]]:
    """(question_id, image path `<image_split>/<image_id:012d>.jpg`, record) in file order."""
    path = source.path("annotations")
    data = record_list(source.json("annotations"), None, path, "questions")
    split = source.option("image_split", "val2017")
    for i, raw in enumerate(data):
        rec = Record(raw, path, f"#{i}")
        qid = rec.id("question_id")
        rec.rename(f"#{i} (question_id {qid})")
        rel = f"{split}/{rec.int('image_id'):012d}.jpg"
        yield qid, source.media(rel, path, rec.name, "image_id"), rec


def read_aokvqa(source: Source) -> Iterator[Sample]:
    """MC: fields question/options, candidates = choices, references answer_index/answer (+DA)."""
    for qid, media, rec in _items(source):
        choices, answer = choice_fields(rec, "choices", "correct_choice_idx")
        refs: dict = {"answer_index": answer, "answer": choices[answer]}
        if rec.has("direct_answers"):
            refs["direct_answers"] = rec.strings("direct_answers")
        if rec.has("difficult_direct_answer"):
            refs["difficult_direct_answer"] = bool(rec.get("difficult_direct_answer"))
        yield Sample(
            qid,
            media,
            {"question": rec.str("question"), "options": format_options(choices)},
            refs,
            choices,
        )


def read_aokvqa_da(source: Source) -> Iterator[Sample]:
    """Direct answer: field question; references `answers` = the 10 `direct_answers`."""
    for qid, media, rec in _items(source):
        yield Sample(qid, media, {"question": rec.str("question")},
                     {"answers": rec.strings("direct_answers")})


def read_vqg_aokvqa(source: Source) -> Iterator[Sample]:
    """Question generation: field `answer` = the correct choice; reference = the question."""
    for qid, media, rec in _items(source):
        choices, answer = choice_fields(rec, "choices", "correct_choice_idx")
        yield Sample(qid, media, {"answer": choices[answer]}, {"captions": [rec.str("question")]})
