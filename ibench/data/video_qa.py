"""Video QA readers: MSVD-QA and MSRVTT-QA (JSON lists, ranked over a vocabulary) and iVQA
(CSV with 5 answers). Video file names come from the `video_name` option, a pattern over the
record's fields: `vid{video_id}.avi` (MSVD), `video{video_id}.mp4` (MSRVTT),
`{video_id}.mp4` (iVQA).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data.candidates import source_vocabulary
from ibench.data.errors import DataError
from ibench.data.record import Record, guarded, record_list
from ibench.data.source import Source, read_csv
from ibench.records import Sample

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_DEFAULT_NAMES = {
    "msvd_qa": "vid{video_id}.avi",
    "msrvtt_qa": "video{video_id}.mp4",
    "ivqa": "{video_id}.mp4",
}


def video_name(pattern: str, values: dict, file: Path, record: str) -> str:
    """Fill `{column}` placeholders of a file-name pattern from a record (no other syntax)."""

    def fill(match: re.Match) -> str:
        key = match.group(1)
        value = values.get(key)
        if value is None or isinstance(value, (bool, dict, list)) or str(value) == "":
            raise DataError(
                file, f"needed by the video_name pattern {pattern!r}, got {value!r}", record, key
            )
        return str(value)

    return _PLACEHOLDER.sub(fill, pattern)


def _pattern(source: Source) -> str:
    pattern = source.option("video_name", _DEFAULT_NAMES.get(source.format, "{video_id}.mp4"))
    if not isinstance(pattern, str) or not _PLACEHOLDER.search(pattern):
        raise DataError(
            source.task.source,
            f"must be a file-name pattern such as 'vid{{video_id}}.avi', got {pattern!r}",
            field="data.options.video_name",
        )
    return pattern


def _ranks_vocabulary(source: Source) -> bool:
    rank = source.task.rank
    return source.task.mode == "rank" and rank is not None and rank.candidates == "vocabulary"


def youtube_mapping(source: Source) -> dict[int, str]:
    """MSVD's youtube_mapping.txt: lines `<youtube_id>_<start>_<end> vid<N>` -> {N: clip}."""
    path = source.path("mapping")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError as exc:
        raise DataError(path, "annotation file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read: {exc}") from exc
    out: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not re.fullmatch(r"vid\d+", parts[1]):
            raise DataError(path, f"expected '<youtube_id>_<start>_<end> vid<N>', got {line!r}",
                            f"line {number}")
        out[int(parts[1][3:])] = parts[0]
    return out


def read_json_video_qa(source: Source) -> Iterator[Sample]:
    """test_qa.json of MSVD-QA / MSRVTT-QA: `{answer, id, question, video_id}` records.

    Video files: MSVD as published, `<youtube_id>_<start>_<end>.avi` found through
    youtube_mapping.txt (the `mapping` file); otherwise the `video_name` pattern (MSVD clips
    renamed `vid<N>.avi`, MSRVTT `video<N>.mp4`). The vocabulary is built once and its tuple
    shared by every sample (memory).
    """
    path = source.path("test")
    data = record_list(source.json("test"), None, path, "questions")
    candidates = source_vocabulary(source).answers if _ranks_vocabulary(source) else None
    mapping = youtube_mapping(source) if "mapping" in source.files else None
    pattern = None if mapping is not None else _pattern(source)
    for i, raw in enumerate(data):
        yield guarded(path, f"#{i}", partial(_video_question, source, mapping, pattern,
                                             candidates, i, raw))


def _video_question(source: Source, mapping: dict[int, str] | None, pattern: str | None,
                    candidates: tuple[str, ...] | None, i: int, raw: object) -> Sample:
    path = source.path("test")
    rec = Record(raw, path, f"#{i}")
    qid = rec.id("id")
    rec.rename(f"#{i} (id {qid})")
    vid = rec.int("video_id")
    if mapping is not None:
        if vid not in mapping:
            raise DataError(source.path("mapping"), f"has no line for vid{vid}", rec.name,
                            "video_id")
        name = f"{mapping[vid]}.avi"
    else:
        name = video_name(str(pattern), rec.value, path, rec.name)
    return Sample(
        qid,
        source.media(name, path, rec.name, "video_id"),
        {"question": rec.str("question")},
        {"answer": rec.str("answer").strip()},
        candidates,
    )


def _seconds(row: dict, column: str, path: Path, name: str) -> float:
    """A clip bound in seconds from a CSV cell (a DataError naming row and column)."""
    text = (row.get(column) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise DataError(path, f"must be a number of seconds, got {text!r}", name, column) from None
    if not value >= 0:  # also refuses nan
        raise DataError(path, f"must be a non-negative number of seconds, got {text!r}", name,
                        column)
    return value


def read_ivqa(source: Source) -> Iterator[Sample]:
    """iVQA test.csv: `video_id, start, end, question, answer1..answer5`; id = an `id`/`qid`
    column if the file has one, else the 0-based row index; reference `{"answers": [5 str]}`.

    `start` and `end` (seconds) bound the clip inside the YouTube video: the sample carries them
    and frames are sampled inside them unless the file is the clip already (media.py)."""
    path = source.path("test")
    columns = ("video_id", "question", *(f"answer{k}" for k in range(1, 6)))
    pattern = _pattern(source)
    for index, row in read_csv(path, columns):
        yield guarded(path, f"row {index}", partial(_ivqa_row, source, pattern, columns, index,
                                                    row))


def _ivqa_row(source: Source, pattern: str, columns: tuple[str, ...], index: int, row: dict
              ) -> Sample:
    path = source.path("test")
    name = f"row {index}"
    sample_id = row.get("id") or row.get("qid") or str(index)
    for column in columns:
        if not (row.get(column) or "").strip():
            raise DataError(path, "is empty", name, column)
    answers = [row[f"answer{k}"].strip() for k in range(1, 6)]
    video = video_name(pattern, row, path, name)
    clip = None
    if "start" in row or "end" in row:
        clip = (_seconds(row, "start", path, name), _seconds(row, "end", path, name))
        if clip[1] <= clip[0]:
            raise DataError(path, f"must be after start ({clip[0]:g} s), got {clip[1]:g}",
                            name, "end")
    return Sample(
        sample_id,
        source.media(video, path, name, "video_id"),
        {"question": row["question"].strip()},
        {"answers": answers},
        clip=clip,
    )
