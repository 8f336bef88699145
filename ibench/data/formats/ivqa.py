"""iVQA: test.csv with the clip bounds inside the YouTube videos."""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import guarded
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.formats.video_qa import name_pattern, video_name
from ibench.data.packkit import (
    Pack,
    video_question,
)
from ibench.data.source import Source, read_csv
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample


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
    pattern = name_pattern(source)
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


def _ivqa(pack: Pack, task: TaskSpec, n: int) -> None:
    rng = pack.rng(task.id)
    pattern = task.data.options.get("video_name", "{video_id}.mp4")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["video_id", "start", "end", "question", *(f"answer{k}" for k in range(1, 6))])
    # `start`/`end` are seconds of the clip inside the YouTube video. Even rows: the full video
    # (4 s at 8 fps), the clip 1-3 s inside it; odd rows: a file that is the clip itself (2 s
    # for a 5-7 s clip), as a user who cut the clips would have it.
    for i in range(n):
        video_id = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(11))
        look, question, answer = video_question(rng, i)
        name = video_name(pattern, {"video_id": video_id}, Path(pattern), i)
        full = i % 2 == 0
        frames = synth.moving_frames(*look, frames=32 if full else 16)
        pack.video(task.data.media_dir, name, frames)
        answers = [answer, answer, answer, f"the {answer}" if i % 2 else answer, "not sure"]
        start, end = (1, 3) if full else (5, 7)
        writer.writerow([video_id, start, end, question, *answers])
    pack.write_bytes(task.data.files["test"], buffer.getvalue().encode("utf-8"))


FORMATS = (
    Format(
        "ivqa", read_ivqa, _ivqa,
        (
            "test.csv (video_id, start, end, question, answer1..5); <video_id>.mp4, full videos "
            "or cut clips",
        ),
    ),
)
