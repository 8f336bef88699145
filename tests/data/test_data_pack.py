"""The sample pack: deterministic, small, fast, and readable by every reader (per_task each)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from data_fixtures import (  # noqa: F401 - fixtures
    PER_TASK,
    pack_info_fixture,
    pack_root_fixture,
    tasks_fixture,
)

from ibench.data import read_samples, write_sample_pack
from ibench.protocol.suite import load_tasks
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample

TASK_IDS = sorted(load_tasks())


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_pack_is_byte_for_byte_deterministic(tmp_path: Path, pack_root: Path) -> None:
    again = tmp_path / "again"
    write_sample_pack(again, per_task=PER_TASK, seed=0)
    assert _digest(again) == _digest(pack_root)


def test_pack_depends_on_seed(tmp_path: Path, pack_root: Path) -> None:
    other = tmp_path / "other"
    write_sample_pack(other, per_task=PER_TASK, seed=1)
    assert _digest(other) != _digest(pack_root)


def test_pack_is_small_and_fast(pack_info: dict[str, Any]) -> None:
    root = pack_info["root"]
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024
    assert pack_info["seconds"] < 10


def test_pack_counts_every_task(pack_info: dict[str, Any], tasks: dict[str, TaskSpec]) -> None:
    assert pack_info["counts"] == {task_id: PER_TASK for task_id in tasks}
    assert len(tasks) == 28


def _samples(task: TaskSpec, root: Path) -> list[Sample]:
    return list(read_samples(task, root))


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_every_task_reads_per_task_samples(
    task_id: str, tasks: dict[str, TaskSpec], pack_root: Path
) -> None:
    task = tasks[task_id]
    samples = _samples(task, pack_root)
    assert len(samples) == PER_TASK
    assert len({s.id for s in samples}) == PER_TASK
    for sample in samples:
        assert isinstance(sample.id, str) and sample.id
        assert sample.media.is_absolute() and sample.media.is_file()
        assert sample.media.is_relative_to(pack_root)
        assert sample.media.is_relative_to(pack_root / task.data.media_dir)
        suffix = sample.media.suffix
        assert suffix in ((".mp4", ".avi") if task.media == "video" else (".jpg", ".png"))
    # deterministic order
    assert [s.id for s in _samples(task, pack_root)] == [s.id for s in samples]


def _check_conventions(task: TaskSpec, sample: Sample) -> None:
    """The field and reference conventions of the brief, by metric / candidate source."""
    refs = sample.references
    template_fields = set(sample.fields)
    for name in ("question", "caption", "options", "context", "ocr_tokens", "history", "text"):
        if "{" + name + "}" in task.prompt:
            assert name in template_fields, (task.id, name)
    if task.metric == "cider":
        assert refs["captions"] and all(isinstance(c, str) and c for c in refs["captions"])
    elif task.metric == "vqa_accuracy":
        assert len(refs["answers"]) == 10
    elif task.metric == "exact_match":
        assert isinstance(refs["answer"], str)
    elif task.metric == "aokvqa_da_accuracy":
        assert len(refs["answers"]) == 10 and sample.candidates is None
    elif task.metric == "submission":
        assert "answers" not in refs and refs["image"] == sample.media.name
    elif task.metric == "ivqa_accuracy":
        assert len(refs["answers"]) == 5
    elif task.metric == "mrr":
        assert len(sample.candidates) == 100
        assert 0 <= refs["answer_index"] < 100
    elif task.metric == "roc_auc" or task.rank.candidates == "verbalizers":
        assert refs["label"] in (0, 1) and sample.candidates is None
    elif task.rank.candidates == "choices":
        assert sample.candidates[refs["answer_index"]] == refs["answer"]
        letters = "abcdefghij"
        expected = " ".join(f"({letters[i]}) {c}" for i, c in enumerate(sample.candidates))
        assert sample.fields["options"] == expected
    elif task.rank.candidates == "vocabulary":
        assert isinstance(refs["answer"], str) and refs["answer"] in sample.candidates


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_pack_samples_follow_the_conventions(
    task_id: str, tasks: dict[str, TaskSpec], pack_root: Path
) -> None:
    for sample in _samples(tasks[task_id], pack_root):
        _check_conventions(tasks[task_id], sample)


def test_vocabulary_tuple_is_shared(tasks: dict[str, TaskSpec], pack_root: Path) -> None:
    for task_id in ("msvd_qa", "msrvtt_qa"):
        samples = _samples(tasks[task_id], pack_root)
        assert all(s.candidates is samples[0].candidates for s in samples)


@pytest.mark.parametrize("per_task", [1, 3, 5])
def test_other_pack_sizes(tmp_path: Path, tasks: dict[str, TaskSpec], per_task: int) -> None:
    counts = write_sample_pack(tmp_path, per_task=per_task, seed=3)
    for task_id, task in tasks.items():
        assert len(_samples(task, tmp_path)) == per_task == counts[task_id], task_id


def test_pack_rejects_zero(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_sample_pack(tmp_path, per_task=0)


def test_pack_writes_the_publishers_layouts(pack_root: Path, tasks: dict[str, TaskSpec]) -> None:
    import csv

    # IconQA pid_splits.json keys as lupantech/IconQA names them
    splits = json.loads((pack_root / tasks["iconqa"].data.files["pid_splits"]).read_text())
    assert "choose_txt_test" in splits and "test_choose_txt" not in splits
    # TextCaps val OCR in TextVQA's val OCR file, beside TextVQA's own images
    assert tasks["textcaps"].data.files["ocr"] == tasks["textvqa"].data.files["ocr"]
    ocr = json.loads((pack_root / tasks["textvqa"].data.files["ocr"]).read_text())
    textcaps = json.loads((pack_root / tasks["textcaps"].data.files["annotations"]).read_text())
    assert {e["image_id"] for e in textcaps["data"]} <= {r["image_id"] for r in ocr["data"]}
    # MSVD: YouTubeClips/<youtube_id>_<start>_<end>.avi and youtube_mapping.txt
    mapping = (pack_root / "msvd/youtube_mapping.txt").read_text().splitlines()
    clip, vid = mapping[0].split()
    assert vid.startswith("vid") and (pack_root / "msvd/YouTubeClips" / f"{clip}.avi").is_file()
    # iVQA: start/end columns; the even rows' files are full videos longer than the clip
    with (pack_root / tasks["ivqa"].data.files["test"]).open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"start", "end"} <= set(rows[0])
    import decord

    reader = decord.VideoReader(str(pack_root / "ivqa/videos" / f"{rows[0]['video_id']}.mp4"))
    assert len(reader) / reader.get_avg_fps() > float(rows[0]["end"]) - float(rows[0]["start"])
