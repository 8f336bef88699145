"""check_task: is a task's data present and readable under a data root? (`ibench data check`)

It reports each annotation file's exact expected path, reads the samples (counting them
against the protocol's evaluation size), and opens a deterministic sample of the media files
(all of them with full=True), recording each problem as (sample id, path, reason).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ibench.data.candidates import answer_vocabulary, coverage
from ibench.data.data_error import DataError
from ibench.data.readers import read_samples
from ibench.data.source import Source, data_source, open_source, variants
from ibench.media import MediaError, frame_indices, load_embedded_image, load_frames, load_image
from ibench.protocol.taskspec import TaskSpec

DEFAULT_MEDIA_SAMPLE = 20


@dataclass(frozen=True)
class FileCheck:
    """One annotation file: its role, exact expected path, and whether it is there."""

    role: str
    path: Path
    exists: bool
    required: bool = True
    variant: str = "official"

    def __str__(self) -> str:
        return f"{self.path} ({self.role})"


class MediaProblem(NamedTuple):
    """A media file that is missing or cannot be decoded, with the first sample using it."""

    sample_id: str
    path: Path
    reason: str


@dataclass
class TaskCheck:
    """Everything a `data check` table row needs for one task."""

    task: str
    format: str
    data_root: Path
    published_at: str
    variant: str
    media_dir: Path
    eval_size: int | None
    full: bool
    files: list[FileCheck] = field(default_factory=list)
    usable: bool = False
    error: str | None = None
    sample_count: int | None = None
    media_total: int = 0
    media_checked: int = 0
    media_problems: list[MediaProblem] = field(default_factory=list)
    bad_records: list[str] = field(default_factory=list)  # why each bad record is bad

    @property
    def missing_files(self) -> list[FileCheck]:
        """Required files of the variant in use that are not on disk."""
        return [f for f in self.files if f.variant == self.variant and f.required and not f.exists]

    def layouts_tried(self) -> list[tuple[str, list[FileCheck]]]:
        """Each layout the task accepts (the publisher's first) with its required files that
        are missing (empty for the layout in use when it is complete)."""
        out: dict[str, list[FileCheck]] = {}
        for f in self.files:
            out.setdefault(f.variant, [])
            if f.required and not f.exists:
                out[f.variant].append(f)
        return list(out.items())

    @property
    def n_samples(self) -> int | None:
        """Alias of sample_count (samples found)."""
        return self.sample_count

    @property
    def expected(self) -> int | None:
        """Alias of eval_size (the protocol's evaluation size; None when it has none)."""
        return self.eval_size

    @property
    def ok(self) -> bool:
        """Usable and no media problem found."""
        return self.usable and not self.media_problems

    @property
    def status(self) -> str:
        """One word for a table: ok, media (usable with media problems) or unusable."""
        if not self.usable:
            return "unusable"
        return "media" if self.media_problems else "ok"

    def size_text(self) -> str:
        """e.g. '8 / 5000' (samples found / the protocol's evaluation size)."""
        found = "-" if self.sample_count is None else str(self.sample_count)
        expected = "n/a" if self.eval_size is None else str(self.eval_size)
        return f"{found} / {expected}"


def _file_checks(source: Source) -> list[FileCheck]:
    optional = source.optional_roles()
    return [
        FileCheck(
            role,
            source.path(role),
            source.path(role).is_file(),
            role not in optional,
            source.variant,
        )
        for role in source.files
    ]


def check_task(
    task: TaskSpec, root: Path, full: bool = False, media_sample: int = DEFAULT_MEDIA_SAMPLE
) -> TaskCheck:
    """Check one task's data under a data root; never raises for data problems."""
    root = Path(os.path.abspath(root))
    result = TaskCheck(
        task.id,
        task.data.format,
        root,
        task.data.published_at,
        "official",
        root / task.data.media_dir,
        task.eval_size,
        full,
    )
    try:
        source = open_source(task, root)
        result.variant, result.format = source.variant, source.format
        result.media_dir = root / source.media_dir
        for variant in variants(task, root):
            result.files += _file_checks(variant)
    except DataError as exc:
        result.error = str(exc)
        return result
    if result.missing_files:
        missing = result.missing_files[0]
        result.error = f"missing annotation file ({missing.role}): {missing.path}"
        return result
    try:
        samples = list(read_samples(task, root))
    except DataError as exc:
        result.error = str(exc)
        return result
    result.bad_records = [str(s.failure) for s in samples if s.failure is not None]
    samples = [s for s in samples if s.failure is None]
    result.sample_count = len(samples)
    if not samples:
        files = ", ".join(str(p) for p in source.required_paths().values())
        result.error = (f"no samples in {files} (the protocol's split has "
                        f"{task.eval_size or 'some'}): an empty or wrong file")
        return result
    result.usable = True
    first_user: dict[tuple[Path, tuple | None], str] = {}
    for sample in samples:  # an image embedded in a mirror is one row of its parquet file
        first_user.setdefault((sample.media, sample.media_row), sample.id)
    media = list(first_user.items())
    result.media_total = len(media)
    if media and not full:
        media = [media[i] for i in frame_indices(len(media), media_sample)]
    for (path, row), sample_id in media:
        reason = media_problem(path, task, row)
        if reason is not None:
            result.media_problems.append(MediaProblem(sample_id, path, reason))
    result.media_checked = len(media)
    return result


def media_problem(path: Path, task: TaskSpec, row: tuple | None = None) -> str | None:
    """Why a media file cannot be used (None when it decodes): images fully, videos' frames,
    an image embedded in a parquet row (`row`: row group, row, column)."""
    try:
        if row is not None:
            load_embedded_image(path, *row)
        elif task.media == "video":
            load_frames(path, task.frames or 4)
        else:
            load_image(path)
    except MediaError as exc:
        return exc.reason
    return None


def missing_files(task: TaskSpec, root: Path) -> list[str]:
    """`<path> (<role>)` of each required annotation file of the variant in use that is absent.

    Knows the alternative variant and optional roles (a candidates file makes train optional).
    """
    try:
        source = open_source(task, root)
    except DataError as exc:
        return [str(exc)]
    return [
        f"{path} ({role})" for role, path in source.required_paths().items() if not path.is_file()
    ]


def vocabulary_coverage(task: TaskSpec, root: Path, candidates_file: Path | None = None) -> float:
    """Share of the task's evaluation answers that its vocabulary contains (an accuracy bound)."""
    vocabulary = answer_vocabulary(task, root, candidates_file)
    answers = [
        s.references["answer"] for s in read_samples(task, root, candidates_file=candidates_file)
        if s.failure is None
    ]
    return coverage(vocabulary.answers, answers)


def hub_route(task: TaskSpec, check: TaskCheck, root: Path) -> str | None:
    """For a task with a hub mirror: the copy in use (repo, revision, rows, where), or, when
    the task's data is not usable, the command that fetches the split's mirror (None for a task
    without a mirror, or one read from the publisher's files)."""
    if task.hub is None:
        return None
    if check.usable and check.variant == "hub":
        source = data_source(task, root)
        return (f"{task.id}: hub copy {source.get('repo')} at revision "
                f"{source.get('revision') or 'unknown (a copy without download metadata)'} "
                f"({check.n_samples} rows, {source.get('found_in')})")
    if check.usable:
        return None
    beside = [task.data.files[role] for role in task.hub.get("data_files", [])]
    also = f" (and {', '.join(beside)} under the data root)" if beside else ""
    return (f"{task.id}: or its hub mirror, the split only: ibench data download {task.id} "
            f"--data-root {root}{also}")
