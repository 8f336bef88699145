"""LAVIS's question lists: the evaluation files as LAVIS's download scripts store them (one
JSON list of question records per dataset, images or videos named in each record), accepted as
a second layout of VQAv2, OK-VQA, GQA, MSVD-QA and MSRVTT-QA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from ibench.data.annotation import Record, guarded, record_list
from ibench.data.candidates import source_vocabulary
from ibench.data.format import Format
from ibench.data.source import Source
from ibench.records import Sample


def _question_list(source: Source, role: str, media_key: str,
                   refs: Callable[[Record], dict], candidates: tuple[str, ...] | None = None
                   ) -> Iterator[Sample]:
    """One sample per record of a list: id `question_id`, field `question`, the media file
    the record names under `media_key`, references from `refs(record)`."""
    path = source.path(role)
    for i, raw in enumerate(record_list(source.json(role), None, path, "questions")):
        yield guarded(path, f"#{i}", partial(_question, source, role, media_key, refs,
                                             candidates, i, raw))


def _question(source: Source, role: str, media_key: str, refs: Callable[[Record], dict],
              candidates: tuple[str, ...] | None, i: int, raw: object) -> Sample:
    path = source.path(role)
    rec = Record(raw, path, f"#{i}")
    qid = rec.id("question_id")
    rec.rename(f"#{i} (question_id {qid})")
    return Sample(qid, source.media(rec.str(media_key), path, rec.name, media_key),
                  {"question": rec.str("question")}, refs(rec), candidates)


def read_lavis_vqa(source: Source) -> Iterator[Sample]:
    """vqa_val_eval.json (VQAv2 coco/annotations/, OK-VQA okvqa/annotations/): `{"question_id",
    "question", "answer": [the 10 answers], "image": "val2014/..."}` (coco_vqa_datasets.py)."""
    return _question_list(source, "annotations", "image",
                          lambda rec: {"answers": rec.strings("answer")})


def read_lavis_gqa(source: Source) -> Iterator[Sample]:
    """gqa/annotations/testdev_balanced_questions.json: `{"image": "<imageId>.jpg",
    "question", "question_id", "answer", ...}` (gqa_datasets.py)."""
    return _question_list(source, "questions", "image", lambda rec: {"answer": rec.str("answer")})


def read_lavis_video_qa(source: Source) -> Iterator[Sample]:
    """{msvd,msrvtt}/annotations/qa_test.json: `{"question", "answer", "video", "question_id"}`
    (video_vqa_datasets.py); the vocabulary from qa_ans2label.json (the `candidates` file, in
    label order)."""
    rank = source.task.rank
    ranks = source.task.mode == "rank" and rank is not None and rank.candidates == "vocabulary"
    candidates = source_vocabulary(source).answers if ranks else None
    return _question_list(source, "test", "video",
                          lambda rec: {"answer": rec.str("answer").strip()}, candidates)


FORMATS = (
    Format(
        "lavis_vqa", read_lavis_vqa, None,
        (
            "LAVIS's vqa_val_eval.json (coco/annotations/ for VQAv2, okvqa/annotations/ for "
            "OK-VQA), as its download scripts store it; COCO images under coco/images/",
        ),
    ),
    Format(
        "lavis_gqa", read_lavis_gqa, None,
        (
            "LAVIS's gqa/annotations/testdev_balanced_questions.json (a list), as its download "
            "scripts store it; images <imageId>.jpg",
        ),
    ),
    Format(
        "lavis_video_qa", read_lavis_video_qa, None,
        (
            "LAVIS's msvd/ or msrvtt/annotations/qa_test.json + qa_ans2label.json, as its "
            "download scripts store them; videos named by `video` under msvd/ or msrvtt/videos/",
        ),
    ),
)
