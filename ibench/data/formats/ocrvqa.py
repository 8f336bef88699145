"""OCR-VQA: dataset.json keyed by book, split codes 1/2/3, images named by loadDataset.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import PurePosixPath

from ibench.data import synth
from ibench.data.annotation import Record, guarded_many
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.ocr import join_tokens, token_limit
from ibench.data.packkit import (
    Pack,
    hex_id,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


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


def _ocrvqa(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    split = task.data.options.get("split", 3)
    genres = ("Cookbooks, Food & Wine", "Travel", "Science & Math", "Humor & Entertainment")
    books: dict = {}
    plan = [(split, 2)] * (n // 2) + ([(split, 1)] if n % 2 else [])  # (split code, questions)
    others = [(code, 1) for code in (1, 2, 3) if code != split]
    plan[1:1] = others  # books outside the evaluation split, between evaluation books
    first = rng.randint(10**8, 10**9)
    for b, (code, k) in enumerate(plan, start=1):
        book_id = f"{first + 7919 * b:010d}"
        word = synth.WORDS[b % len(synth.WORDS)]
        title, author, genre = (
            f"The {word.title()} Book",
            f"Ann {word.title()}son",
            genres[b % len(genres)],
        )
        qas = [
            ("Who wrote this book?", author),
            ("What is the title of this book?", title),
            ("What is the genre of this book?", genre),
        ][:k]
        books[book_id] = {
            "imageURL": f"http://ecx.images-amazon.com/images/I/{hex_id(rng, 10)}.jpg",
            "questions": [q for q, _ in qas],
            "answers": [a for _, a in qas],
            "title": title,
            "authorName": author,
            "genre": genre,
            "split": code,
        }
        if code == split:
            pack.image(task.data.media_dir, f"{book_id}.jpg", synth.random_scene(rng, text=word))
    pack.write_json(task.data.files["annotations"], books)


FORMATS = (
    Format(
        "ocrvqa", read_ocrvqa, _ocrvqa,
        (
            "dataset.json; images <book id><ext> as loadDataset.py downloads them",
        ),
    ),
)
