"""GQA reader: testdev_balanced_questions.json, a dict keyed by question id."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ibench.data.errors import DataError
from ibench.data.record import Record, guarded
from ibench.data.source import Source
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
