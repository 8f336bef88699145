"""Dataset layer: read every dataset of the protocol from its official on-disk format.

Public API: `read_samples` (a task's evaluation samples), `DataError`, `check_task` /
`TaskCheck` (is a data root usable?), `missing_files` (absent annotation files, aware of
alternative variants), `write_sample_pack` (a small synthetic copy of all 26 datasets), and
the candidates helpers (`answer_vocabulary`, `vocabulary_coverage`, `format_options`).
"""

from ibench.data.candidates import (
    Vocabulary,
    answer_vocabulary,
    coverage,
    format_options,
    rank_answers,
    read_candidates_file,
    vocabulary_coverage,
)
from ibench.data.check import FileCheck, MediaProblem, TaskCheck, check_task, missing_files
from ibench.data.errors import DataError
from ibench.data.readers import READERS, read_samples
from ibench.data.samplepack import write_sample_pack
from ibench.data.source import open_source

__all__ = [
    "READERS",
    "DataError",
    "FileCheck",
    "MediaProblem",
    "TaskCheck",
    "Vocabulary",
    "answer_vocabulary",
    "check_task",
    "coverage",
    "format_options",
    "missing_files",
    "open_source",
    "rank_answers",
    "read_candidates_file",
    "read_samples",
    "vocabulary_coverage",
    "write_sample_pack",
]
