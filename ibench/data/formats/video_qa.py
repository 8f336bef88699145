"""MSVD-QA and MSRVTT-QA: test_qa.json / train_qa.json (vocabulary ranking)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ibench.data import synth
from ibench.data.annotation import Record, guarded, record_list
from ibench.data.candidates import source_vocabulary
from ibench.data.data_error import DataError
from ibench.data.format import Format
from ibench.data.packkit import (
    Pack,
    video_question,
)
from ibench.data.source import Source
from ibench.protocol.taskspec import TaskSpec
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


def name_pattern(source: Source) -> str:
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
    pattern = None if mapping is not None else name_pattern(source)
    for i, raw in enumerate(data):
        yield guarded(path, f"#{i}", partial(_qa_record, source, mapping, pattern,
                                             candidates, i, raw))


def _qa_record(source: Source, mapping: dict[int, str] | None, pattern: str | None,
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


def _video_record(qid: int, question: str, answer: str, video_id: int, msrvtt: bool) -> dict:
    """One QA record: MSVD-QA {answer, id, question, video_id}; MSRVTT-QA adds category_id."""
    if msrvtt:
        return {
            "answer": answer,
            "category_id": qid % 20,
            "id": qid,
            "question": question,
            "video_id": video_id,
        }
    return {"answer": answer, "id": qid, "question": question, "video_id": video_id}


def _video_json(pack: Pack, task: TaskSpec, n: int, msrvtt: bool) -> None:
    rng = pack.rng(task.id)
    default = "video{video_id}.mp4" if msrvtt else "vid{video_id}.avi"
    pattern = task.data.options.get("video_name", default)
    # train: every answer the test questions can have, 1-3 times (videos never written)
    train = []
    answers = [
        *((c, "what color is the moving shape?") for c in sorted(synth.COLORS)),
        *((s, "what is moving?") for s in synth.SHAPES),
        *((d, "which way does the shape move?") for d in synth.DIRECTIONS),
    ]
    for j, (answer, question) in enumerate(answers):
        for _ in range(1 + j % 3):
            train.append(_video_record(len(train), question, answer, 1 + len(train) // 2, msrvtt))
    test = []
    mapping = []  # MSVD as published: YouTubeClips/<youtube_id>_<start>_<end>.avi + a mapping
    for i in range(n):
        video_id = (7010 if msrvtt else 1301) + i // 2
        if i % 2 == 0:
            look, question, answer = video_question(rng, i)
            if "mapping" in task.data.files:
                youtube = "".join(rng.choice(string.ascii_letters + string.digits + "-_")
                                  for _ in range(11))
                clip = f"{youtube}_{i + 3}_{i + 9}"
                mapping.append(f"{clip} vid{video_id}")
                name = f"{clip}.avi"
            else:
                name = video_name(pattern, {"video_id": video_id}, Path(pattern), i)
            pack.video(task.data.media_dir, name, synth.moving_frames(*look))
        else:  # a second question about the same video
            kind, color, direction = look
            question, answer = [
                (f"what color is the moving {kind}?", color),
                ("what is moving?", kind),
                (f"which way does the {kind} move?", direction),
            ][(i + 1) % 3]
        test.append(_video_record(len(train) + i, question, answer, video_id, msrvtt))
    pack.write_json(task.data.files["test"], test)
    if mapping:
        pack.write_lines(task.data.files["mapping"], mapping)
    if "train" in task.data.files:
        pack.write_json(task.data.files["train"], train)


def _msvd(pack: Pack, task: TaskSpec, n: int) -> None:
    _video_json(pack, task, n, msrvtt=False)


def _msrvtt(pack: Pack, task: TaskSpec, n: int) -> None:
    _video_json(pack, task, n, msrvtt=True)


FORMATS = (
    Format(
        "msvd_qa", read_json_video_qa, _msvd,
        (
            "test_qa.json, train_qa.json, youtube_mapping.txt; "
            "YouTubeClips/<youtube_id>_<start>_<end>.avi (or clips renamed vid<N>.avi)",
        ),
    ),
    Format(
        "msrvtt_qa", read_json_video_qa, _msrvtt,
        (
            "test_qa.json, train_qa.json; video<N>.mp4",
        ),
    ),
)
