"""VSR and Hateful Memes readers: the real VSR lines and the quoted Hateful Memes lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import (  # noqa: F401 - fixtures
    SHARED_SAMPLES,
    VSR_TEST_JSONL,
    tasks_fixture,
    write_text,
)

from ibench.data import DataError, read_samples
from ibench.protocol.taskspec import TaskSpec


def test_embedded_copy_matches_the_shared_sample() -> None:
    shared = SHARED_SAMPLES / "vsr" / "test.jsonl"
    assert shared.read_text(encoding="utf-8") == VSR_TEST_JSONL


def test_vsr_real_lines(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_text(tmp_path, "vsr/zeroshot/test.jsonl", VSR_TEST_JSONL)
    samples = list(read_samples(tasks["vsr"], tmp_path))
    assert [s.id for s in samples] == ["0", "1", "2", "3"]
    assert samples[0].media == tmp_path / "vsr/images/000000017697.jpg"
    assert [s.fields for s in samples] == [
        {"caption": "The car is behind the suitcase."},
        {"caption": "The cat is under the backpack."},
        {"caption": "The handbag is right of the cat."},
        {"caption": "The sink is touching the cat."},
    ]
    assert [s.references["label"] for s in samples] == [1, 0, 0, 1]
    assert all(s.candidates is None for s in samples)
    # validator ids written as strings that look like lists become lists
    assert samples[0].references["vote_true_validator_id"] == [18, 2]
    assert samples[0].references["vote_false_validator_id"] == [1]
    assert samples[1].references["vote_true_validator_id"] == []
    assert samples[3].references["vote_true_validator_id"] == [2, 62, 20]


def test_vsr_2022_real_lists_are_accepted(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    line = {
        "image": "000000017697.jpg",
        "caption": "The car is behind the suitcase.",
        "label": 1,
        "relation": "behind",
        "vote_true_validator_id": [18, 2],
        "vote_false_validator_id": [1],
    }
    write_text(tmp_path, "vsr/zeroshot/test.jsonl", json.dumps(line) + "\n")
    [sample] = read_samples(tasks["vsr"], tmp_path)
    assert sample.references["vote_true_validator_id"] == [18, 2]


def test_vsr_malformed_validator_string(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    lines = VSR_TEST_JSONL.splitlines()
    lines[1] = lines[1].replace('"[2, 51, 26]"', '"[2, 51"')
    path = write_text(tmp_path, "vsr/zeroshot/test.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["vsr"], tmp_path, strict=True))
    assert str(path) in str(info.value)
    assert "record line 2" in str(info.value)
    assert "field 'vote_false_validator_id'" in str(info.value)


def test_vsr_bad_label(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    line = VSR_TEST_JSONL.splitlines()[0].replace('"label": 1', '"label": 2')
    write_text(tmp_path, "vsr/zeroshot/test.jsonl", line + "\n")
    with pytest.raises(DataError, match="record line 1: field 'label': must be 0 or 1"):
        list(read_samples(tasks["vsr"], tmp_path, strict=True))


def test_vsr_bad_json_line(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    path = write_text(tmp_path, "vsr/zeroshot/test.jsonl", VSR_TEST_JSONL + "{not json\n")
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["vsr"], tmp_path, strict=True))
    assert str(path) in str(info.value) and "record line 5" in str(info.value)


# Verbatim from formats.md section 20: no spaces, escaped slashes, zero-padded file names.
HATEFUL_LINES = (
    '{"id":42953,"img":"img\\/42953.png","label":0,"text":"its their character not their color '
    'that matters"}\n'
    '{"id":8291,"img":"img\\/08291.png","label":1,"text":"white people is this a shooting '
    'range"}\n'
)


def test_hateful_memes_quirks(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    path = write_text(tmp_path, "hateful_memes/dev_seen.jsonl", HATEFUL_LINES)
    assert "img\\/08291.png" in path.read_text()  # the file really has the escaped slash
    samples = list(read_samples(tasks["hateful_memes"], tmp_path))
    assert [s.id for s in samples] == ["42953", "8291"]
    assert samples[0].media == tmp_path / "hateful_memes/img/42953.png"
    assert samples[1].media == tmp_path / "hateful_memes/img/08291.png"  # not img/8291.png
    assert samples[0].fields == {"text": "its their character not their color that matters"}
    assert [s.references for s in samples] == [{"label": 0}, {"label": 1}]
    assert all(s.candidates is None for s in samples)


def test_hateful_memes_missing_label(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    path = write_text(
        tmp_path, "hateful_memes/dev_seen.jsonl", '{"id":8291,"img":"img\\/08291.png","text":"x"}\n'
    )
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["hateful_memes"], tmp_path, strict=True))
    assert str(info.value) == f"{path}: record line 1 (id 8291): field 'label': missing"
