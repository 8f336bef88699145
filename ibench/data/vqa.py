"""Open-ended VQA readers: VQAv2 / OK-VQA (and question generation from them), VizWiz,
TextVQA (with Rosetta OCR tokens) and OCR-VQA (split codes 1/2/3).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path, PurePosixPath

from ibench.data.errors import DataError
from ibench.data.ocr import join_tokens, load_rosetta, ocr_for, token_limit
from ibench.data.record import Record, guarded, guarded_many, record_list
from ibench.data.source import Source
from ibench.records import Sample


def _answers(rec: Record) -> list[str]:
    """The `answer` of each of a record's `answers` (VQA, VizWiz): a non-empty list."""
    out = []
    for j, item in enumerate(rec.list("answers")):
        text = item.get("answer") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise rec.error(f"answers[{j}].answer", f"must be a string, got {text!r}")
        out.append(text)
    return out


def _vqa_each(source: Source, build: Callable[[str, Path, str, Record], Sample]
              ) -> Iterator[Sample]:
    """build(question id, image path, question, annotation record) per question, in question
    order; a bad record becomes its stand-in (record.guarded).

    The two official files are joined on question_id; the image is
    `<split>/COCO_<split>_<image_id:012d>.jpg` with split = options.image_split or the
    questions file's data_subtype. An annotation whose question_id is unreadable is left out
    of the join, so its question fails as having no annotation.
    """
    qpath, apath = source.path("questions"), source.path("annotations")
    qdata, adata = source.json("questions"), source.json("annotations")
    questions = record_list(qdata, "questions", qpath, "questions")
    annotations = record_list(adata, "annotations", apath, "annotations")
    split = source.option("image_split") or qdata.get("data_subtype")
    if not isinstance(split, str) or not split:
        raise DataError(qpath, "no image split: set data.options.image_split", field="data_subtype")
    by_id: dict[int, Record] = {}
    for j, raw in enumerate(annotations):
        try:
            rec = Record(raw, apath, f"#{j}")
            qid = rec.int("question_id")
        except DataError:
            continue
        by_id[qid] = rec.rename(f"#{j} (question_id {qid})")
    for i, raw in enumerate(questions):
        yield guarded(qpath, f"#{i}", partial(_vqa_one, source, split, by_id, i, raw, build))


def _vqa_one(source: Source, split: str, by_id: dict[int, Record], i: int, raw: object,
             build: Callable[[str, Path, str, Record], Sample]) -> Sample:
    qpath, apath = source.path("questions"), source.path("annotations")
    rec = Record(raw, qpath, f"#{i}")
    qid = rec.int("question_id")
    rec.rename(f"#{i} (question_id {qid})")
    question = rec.str("question")
    image_id = rec.int("image_id")
    if qid not in by_id:
        raise DataError(apath, "no annotation for this question", f"question_id {qid}",
                        "question_id")
    rel = f"{split}/COCO_{split}_{image_id:012d}.jpg"
    return build(str(qid), source.media(rel, qpath, rec.name, "image_id"), question, by_id[qid])


def _vqa_sample(qid: str, media: Path, question: str, ann: Record) -> Sample:
    refs = {"answers": _answers(ann)}
    for key in ("answer_type", "question_type"):
        if isinstance(ann.get(key), str):
            refs[key] = ann.get(key)
    return Sample(qid, media, {"question": question}, refs)


def read_vqa(source: Source) -> Iterator[Sample]:
    """VQAv2 / OK-VQA: references `{"answers": [10 str]}` (OK-VQA: the stemmed `answer`)."""
    return _vqa_each(source, _vqa_sample)


def most_frequent(answers: list[str]) -> str:
    """The most frequent answer; ties go to the one that appears first."""
    counts = Counter(answers)
    return max(dict.fromkeys(answers), key=lambda a: counts[a])


def _vqg_sample(qid: str, media: Path, question: str, ann: Record) -> Sample:
    if ann.has("multiple_choice_answer"):
        answer = ann.str("multiple_choice_answer")
    else:
        answer = most_frequent(_answers(ann))
    return Sample(qid, media, {"answer": answer}, {"captions": [question]})


def read_vqg(source: Source) -> Iterator[Sample]:
    """Question generation from VQAv2 / OK-VQA: field `answer`, reference = the real question.

    The answer is `multiple_choice_answer` (VQAv2); OK-VQA has none, so the most frequent of
    the 10 answers (ties: the first).
    """
    return _vqa_each(source, _vqg_sample)


_VIZWIZ_NAME = re.compile(r"^VizWiz_([A-Za-z]+)_\d+\.\w+$")


def read_vizwiz(source: Source) -> Iterator[Sample]:
    """VizWiz val.json / test.json: a list of records with an image name; the image is in
    `<split>/`, the split taken from its name."""
    path = source.path("annotations")
    for i, raw in enumerate(record_list(source.json("annotations"), None, path, "questions")):
        yield guarded(path, f"#{i}", partial(_vizwiz_sample, source, i, raw))


def _vizwiz_sample(source: Source, i: int, raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    image = rec.str("image")
    rec.rename(f"#{i} (image {image})")
    match = _VIZWIZ_NAME.match(PurePosixPath(image).name)
    rel = image if "/" in image or match is None else f"{match.group(1)}/{image}"
    # test.json (the server's split) has no answers: references hold the image name the
    # submission file needs (data.options.answers: false).
    refs: dict = ({"answers": _answers(rec)} if source.option("answers", True)
                  else {"image": PurePosixPath(image).name})
    for key in ("answer_type", "answerable"):
        if rec.has(key):
            refs[key] = rec.get(key)
    return Sample(
        PurePosixPath(image).stem,
        source.media(rel, path, rec.name, "image"),
        {"question": rec.str("question")},
        refs,
    )


def read_textvqa(source: Source) -> Iterator[Sample]:
    """TextVQA_0.5.1_val.json with OCR tokens from the Rosetta OCR file (first N, ', ')."""
    path = source.path("annotations")
    records = record_list(source.json("annotations"), "data", path, "questions")
    tokens = load_rosetta(source)
    limit = token_limit(source)
    for i, raw in enumerate(records):
        yield guarded(path, f"#{i}", partial(_textvqa_sample, source, tokens, limit, i, raw))


def _textvqa_sample(source: Source, tokens: dict[str, list[str]], limit: int, i: int,
                    raw: object) -> Sample:
    path = source.path("annotations")
    rec = Record(raw, path, f"#{i}")
    qid = rec.id("question_id")
    rec.rename(f"#{i} (question_id {qid})")
    image_id = rec.str("image_id")
    ocr = ocr_for(tokens, image_id, source)
    return Sample(
        qid,
        source.media(f"{image_id}.jpg", path, rec.name, "image_id"),
        {"question": rec.str("question"), "ocr_tokens": join_tokens(ocr, limit)},
        {"answers": rec.strings("answers")},
    )


def _url_suffix(url: str) -> str:
    """The extension of an image URL ('.jpg' when it has none), as loadDataset.py names files."""
    suffix = PurePosixPath(url.split("?")[0]).suffix
    return suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", suffix or "") else ".jpg"


def read_ocrvqa(source: Source) -> Iterator[Sample]:
    """OCR-VQA dataset.json: books of split code `split` (1 train, 2 val, 3 test), one sample
    per question, id `<book id>_<k>`. OCR tokens: the title and author words (first N).
    """
    path = source.path("annotations")
    data = source.json("annotations")
    if not isinstance(data, dict):
        raise DataError(path, f"must be a JSON object keyed by book id, got {type(data).__name__}")
    split = source.option("split", 3)
    if split not in (1, 2, 3):
        raise DataError(
            source.task.source, f"must be 1, 2 or 3, got {split!r}", field="data.options.split"
        )
    limit = token_limit(source)
    for book_id, raw in data.items():
        yield from guarded_many(path, f"book {book_id}",
                                partial(_book_samples, source, split, limit, book_id, raw))


def _book_samples(source: Source, split: int, limit: int, book_id: str, raw: object
                  ) -> list[Sample]:
    path = source.path("annotations")
    rec = Record(raw, path, f"book {book_id}")
    if rec.int("split") != split:
        return []  # another split
    questions, answers = rec.strings("questions"), rec.strings("answers")
    if len(questions) != len(answers):
        raise rec.error("answers", f"{len(answers)} answers for {len(questions)} questions")
    author = rec.get("authorName") or ""
    if not isinstance(author, str):
        raise rec.error("authorName", f"must be a string, got {author!r}")
    words = rec.str("title", allow_empty=True).split() + author.split()
    rel = f"{book_id}{_url_suffix(rec.str('imageURL'))}"
    media = source.media(rel, path, rec.name, "imageURL")
    return [
        Sample(f"{book_id}_{k}", media,
               {"question": question, "ocr_tokens": join_tokens(words, limit)},
               {"answer": answer})
        for k, (question, answer) in enumerate(zip(questions, answers, strict=True))
    ]
