"""Dataset layer: read every dataset of the protocol from its publisher's on-disk format (one
module per format in ibench.data.formats: reader, synthetic writer, layouts).

Public API: `read_samples` (a task's evaluation samples), `DataError`, `check_task` /
`TaskCheck` (is a data root usable?), `missing_files` (absent annotation files, aware of
alternative variants), `write_sample_pack` (a small synthetic copy of every task's data in its
publisher's layout), and the candidates helpers (`answer_vocabulary`, `vocabulary_coverage`,
`format_options`).
"""

from ibench.data.candidates import (
    Vocabulary,
    answer_vocabulary,
    coverage,
    format_options,
    rank_answers,
    read_candidates_file,
)
from ibench.data.check import (
    FileCheck,
    MediaProblem,
    TaskCheck,
    check_task,
    missing_files,
    vocabulary_coverage,
)
from ibench.data.data_error import DataError
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
