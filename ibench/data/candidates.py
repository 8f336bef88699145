"""Candidate answers for rank mode: option rendering, choices, and the video-QA vocabulary.

The MSVD-QA / MSRVTT-QA vocabulary is built from the train split's answers (most frequent
first, ties alphabetical, the task's `rank.vocabulary.top_k`), or read from a candidates file
(a `candidates` file role, or a path given by the caller). Its coverage (the share of
evaluation answers inside it) bounds the reachable accuracy, so it is reported next to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ibench.data.annotation import Record, record_list
from ibench.data.data_error import DataError
from ibench.data.source import Source, open_source, read_json
from ibench.protocol.candidate_text import EMPTY_CANDIDATE
from ibench.protocol.taskspec import TaskSpec

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def format_options(choices: Iterable[str]) -> str:
    """Render choices as `(a) opt1 (b) opt2 (c) opt3` (single spaces, protocol.md section 3)."""
    choices = list(choices)
    if len(choices) > len(_LETTERS):
        raise ValueError(f"{len(choices)} choices: at most {len(_LETTERS)} can be lettered")
    return " ".join(f"({letter}) {text}" for letter, text in zip(_LETTERS, choices, strict=False))


def check_candidates(record: Record, key: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """Candidates as the file writes them (never stripped); an empty one is a DataError naming
    the record and `key[i]`, which makes the sample a recorded bad_record."""
    out = tuple(candidates)
    for i, text in enumerate(out):
        if text == "":
            raise record.error(f"{key}[{i}]", EMPTY_CANDIDATE)
    return out


def choice_fields(record: Record, choices_key: str, answer_key: str) -> tuple[tuple[str, ...], int]:
    """The choices of a multiple-choice record (>= 2 strings, none empty, as written) and its
    answer index, validated."""
    choices = check_candidates(record, choices_key, record.strings(choices_key, min_len=2))
    return choices, record.index(answer_key, len(choices))


@dataclass(frozen=True)
class Vocabulary:
    """An answer vocabulary (shared by every sample of a task) and where it came from."""

    answers: tuple[str, ...]
    source: str
    distinct: int | None = None

    def __len__(self) -> int:
        return len(self.answers)


def rank_answers(answers: Iterable[str], top_k: int | None) -> tuple[str, ...]:
    """Distinct answers, most frequent first, ties alphabetical; the first top_k (None = all)."""
    counts = Counter(answers)
    ordered = sorted(counts, key=lambda a: (-counts[a], a))
    return tuple(ordered if top_k is None else ordered[:top_k])


def read_candidates_file(path: Path) -> tuple[str, ...]:
    """A candidates file: a JSON list, a JSON {answer: label} (label order), or text lines
    (empty lines skipped). Answers are kept as written, spaces included (LAVIS ranks the keys of
    its ans2label file as they are); an empty one, or a non-string, is a DataError."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        data = read_json(path)
        if isinstance(data, dict):
            for answer, label in data.items():
                if isinstance(label, bool) or not isinstance(label, int):
                    raise DataError(path, f"label must be an integer, got {label!r}", answer)
            items = [a for a, _ in sorted(data.items(), key=lambda kv: (kv[1], kv[0]))]
        elif isinstance(data, list):
            items = data
        else:
            raise DataError(path, "must be a list of answers or an {answer: label} mapping")
    else:
        try:
            items = path.read_text(encoding="utf-8-sig").splitlines()
        except FileNotFoundError as exc:
            raise DataError(path, "candidates file not found") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(path, f"cannot read: {exc}") from exc
        items = [line for line in items if line]
    out: dict[str, None] = {}
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise DataError(path, f"must be a non-empty string, got {item!r}", f"#{i}")
        if not item:
            raise DataError(path, EMPTY_CANDIDATE, f"#{i}")
        out.setdefault(item, None)
    if not out:
        raise DataError(path, "no candidates")
    return tuple(out)


def _top_k(task: TaskSpec) -> int | None:
    settings = (task.rank.vocabulary if task.rank else None) or {}
    top_k = settings.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise DataError(
            task.source,
            f"must be a positive integer or null, got {top_k!r}",
            field="rank.vocabulary.top_k",
        )
    return top_k


def train_answers(source: Source) -> list[str]:
    """The `answer` of every record of the train file (a JSON list, as MSVD/MSRVTT-QA ship),
    stripped of surrounding spaces as the evaluation answers are (ibench builds this vocabulary;
    the source line of the vocabulary says so)."""
    path = source.path("train")
    data = record_list(source.json("train"), None, path, "records")
    return [Record(raw, path, f"#{i}").str("answer").strip() for i, raw in enumerate(data)]


def source_vocabulary(source: Source) -> Vocabulary:
    """The vocabulary of an opened source: its candidates file if any, else its train answers."""
    if source.candidates_file is not None:
        answers = read_candidates_file(source.candidates_file)
        return Vocabulary(answers, str(source.candidates_file), len(answers))
    if "candidates" in source.files:
        path = source.path("candidates")
        answers = read_candidates_file(path)
        return Vocabulary(answers, str(path), len(answers))
    top_k = _top_k(source.task)
    answers = train_answers(source)
    distinct = len(set(answers))
    ranked = rank_answers(answers, top_k)
    what = "all" if top_k is None else f"top {top_k} of"
    return Vocabulary(
        ranked, f"{source.path('train')} ({what} {distinct} distinct answers, stripped of "
        "surrounding spaces)", distinct
    )


def answer_vocabulary(
    task: TaskSpec, root: Path, candidates_file: Path | None = None
) -> Vocabulary:
    """The answer vocabulary a video-QA task ranks over, under a data root."""
    return source_vocabulary(open_source(task, root, candidates_file))


def coverage(vocabulary: Iterable[str], answers: Iterable[str]) -> float:
    """Share of answers (stripped) found in the vocabulary; 0.0 for no answers."""
    known = set(vocabulary)
    answers = [a.strip() for a in answers]
    if not answers:
        return 0.0
    return sum(a in known for a in answers) / len(answers)
