"""Candidate helpers: option rendering, vocabulary ranking, candidates files, coverage."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import write_json, write_text

from ibench.data import DataError, coverage, format_options, rank_answers, read_candidates_file


def test_format_options() -> None:
    assert format_options(["opt1", "opt2", "opt3"]) == "(a) opt1 (b) opt2 (c) opt3"
    assert format_options(["yes", "no"]) == "(a) yes (b) no"
    with pytest.raises(ValueError):
        format_options([str(i) for i in range(27)])


def test_rank_answers_most_frequent_first_ties_alphabetical() -> None:
    answers = ["b", "a", "b", "c", "a", "d", "e", "e", "e"]
    # e: 3, a: 2, b: 2, c: 1, d: 1
    assert rank_answers(answers, None) == ("e", "a", "b", "c", "d")
    assert rank_answers(answers, 2) == ("e", "a")
    assert rank_answers(answers, 10) == ("e", "a", "b", "c", "d")


def test_candidates_file_formats(tmp_path: Path) -> None:
    as_list = write_json(tmp_path, "list.json", ["man", "dog", "man", "cat"])
    assert read_candidates_file(as_list) == ("man", "dog", "cat")
    ans2label = write_json(tmp_path, "ans2label.json", {"dog": 2, "man": 0, "cat": 1})
    assert read_candidates_file(ans2label) == ("man", "cat", "dog")
    lines = write_text(tmp_path, "answer_set.txt", "man\n\ndog\r\ncat\n")
    assert read_candidates_file(lines) == ("man", "dog", "cat")


def test_bad_candidates_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="candidates file not found"):
        read_candidates_file(tmp_path / "none.txt")
    with pytest.raises(DataError, match="no candidates"):
        read_candidates_file(write_text(tmp_path, "empty.txt", "\n\n"))
    with pytest.raises(DataError, match="must be a non-empty string"):
        read_candidates_file(write_json(tmp_path, "bad.json", ["ok", 3]))
    with pytest.raises(DataError, match="label must be an integer"):
        read_candidates_file(write_json(tmp_path, "bad2.json", {"ok": "x"}))


def test_coverage() -> None:
    assert coverage(("man", "dog"), ["man", "cat", "dog", "man"]) == 0.75
    assert coverage(("man",), []) == 0.0
