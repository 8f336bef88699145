"""check_task: expected paths, usability, sample counts and media problems on the sample pack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from data_fixtures import (  # noqa: F401 - fixtures
    PER_TASK,
    pack_info_fixture,
    pack_root_fixture,
    tasks_fixture,
    write_text,
)

from ibench.data import check_task, read_samples
from ibench.protocol.taskspec import TaskSpec


@pytest.fixture
def pack_copy(pack_root: Path, tmp_path: Path) -> Path:
    """A private copy of the sample pack that a test may damage."""
    return Path(shutil.copytree(pack_root, tmp_path / "pack"))


def test_every_task_of_the_pack_is_usable(pack_root: Path, tasks: dict[str, TaskSpec]) -> None:
    for task in tasks.values():
        check = check_task(task, pack_root)
        assert check.usable and check.ok and check.status == "ok", (task.id, check.error)
        assert check.sample_count == PER_TASK
        assert check.eval_size == task.eval_size
        assert check.published_at == task.data.published_at
        assert check.media_problems == []
        assert 0 < check.media_checked <= check.media_total
        for role, rel in task.data.files.items():
            found = [f for f in check.files if f.role == role and f.variant == "official"]
            assert [(f.path, f.exists) for f in found] == [(pack_root / rel, True)]


def test_size_text_reports_found_and_protocol_sizes(
    pack_root: Path, tasks: dict[str, TaskSpec]
) -> None:
    assert check_task(tasks["coco_caption"], pack_root).size_text() == f"{PER_TASK} / 5000"
    assert check_task(tasks["llava_conv"], pack_root).size_text() == f"{PER_TASK} / n/a"


def test_missing_annotation_file(pack_copy: Path, tasks: dict[str, TaskSpec]) -> None:
    missing = pack_copy / "coco/annotations/dataset_coco.json"
    missing.unlink()
    check = check_task(tasks["coco_caption"], pack_copy)
    assert not check.usable and check.status == "unusable"
    assert check.sample_count is None
    assert [(f.role, f.path) for f in check.missing_files] == [("annotations", missing)]
    assert str(missing) in check.error
    # the LAVIS alternative's paths are listed too, so the user sees both options
    lavis = {f.role: f.path for f in check.files if f.variant == "lavis"}
    assert lavis == {
        "annotations": pack_copy / "coco/annotations/coco_karpathy_test.json",
        "gt": pack_copy / "coco/annotations/coco_karpathy_test_gt.json",
    }


def test_missing_second_file(pack_copy: Path, tasks: dict[str, TaskSpec]) -> None:
    missing = pack_copy / "iconqa/iconqa_data/pid_splits.json"
    missing.unlink()
    check = check_task(tasks["iconqa"], pack_copy)
    assert not check.usable
    assert [f.path for f in check.missing_files] == [missing]


def test_malformed_annotation_is_unusable(pack_copy: Path, tasks: dict[str, TaskSpec]) -> None:
    path = write_text(pack_copy, "gqa/testdev_balanced_questions.json", "[1, 2")
    check = check_task(tasks["gqa"], pack_copy)
    assert not check.usable and str(path) in check.error and "not valid JSON" in check.error
    assert check.missing_files == []


def test_missing_media_file_is_reported_with_its_sample(
    pack_copy: Path, tasks: dict[str, TaskSpec]
) -> None:
    task = tasks["vsr"]
    samples = list(read_samples(task, pack_copy))
    victim = samples[3]
    victim.media.unlink()
    check = check_task(task, pack_copy)
    assert check.usable and not check.ok and check.status == "media"
    assert [(p.sample_id, p.path, p.reason) for p in check.media_problems] == [
        (victim.id, victim.media, "file not found")
    ]


def test_corrupt_video_is_reported(pack_copy: Path, tasks: dict[str, TaskSpec]) -> None:
    task = tasks["msrvtt_qa"]
    first = next(iter(read_samples(task, pack_copy)))
    first.media.write_bytes(b"\x00garbage" * 100)
    check = check_task(task, pack_copy)
    [problem] = check.media_problems
    assert problem.sample_id == first.id and problem.path == first.media
    assert "unreadable video" in problem.reason


def test_media_sample_is_deterministic_and_full_checks_all(
    pack_copy: Path, tasks: dict[str, TaskSpec]
) -> None:
    task = tasks["hateful_memes"]
    samples = list(read_samples(task, pack_copy))  # 8 distinct images
    samples[1].media.unlink()  # not among the 3 checked: indices 0, 2, 5 of 8
    samples[5].media.unlink()  # among them
    quick = check_task(task, pack_copy, media_sample=3)
    assert (quick.media_checked, quick.media_total) == (3, PER_TASK)
    assert [p.sample_id for p in quick.media_problems] == [samples[5].id]
    full = check_task(task, pack_copy, full=True, media_sample=3)
    assert full.full and full.media_checked == PER_TASK
    assert [p.sample_id for p in full.media_problems] == [samples[1].id, samples[5].id]


def test_shared_image_is_checked_once(pack_root: Path, tasks: dict[str, TaskSpec]) -> None:
    check = check_task(tasks["visdial"], pack_root)  # 8 rounds over 2 dialog images
    assert check.sample_count == PER_TASK and check.media_total == 2


def test_nonexistent_data_root(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    check = check_task(tasks["gqa"], tmp_path / "nowhere")
    assert not check.usable
    assert check.missing_files[0].path == tmp_path / "nowhere/gqa/testdev_balanced_questions.json"


def test_missing_files_knows_variants(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    from ibench.data import missing_files

    task = tasks["coco_caption"]
    assert missing_files(task, tmp_path) == [
        f"{tmp_path / 'coco/annotations/dataset_coco.json'} (annotations)"
    ]
    write_text(tmp_path, "coco/annotations/coco_karpathy_test.json", "[]")
    write_text(tmp_path, "coco/annotations/coco_karpathy_test_gt.json", "{}")
    assert missing_files(task, tmp_path) == []


def test_check_fields_for_tables(pack_copy: Path, tasks: dict[str, TaskSpec]) -> None:
    import dataclasses
    import json

    task = tasks["vsr"]
    victim = next(iter(read_samples(task, pack_copy)))
    victim.media.unlink()
    check = check_task(task, pack_copy)
    assert (check.n_samples, check.expected) == (PER_TASK, 1222)
    sample_id, path, reason = check.media_problems[0]
    assert (sample_id, path, reason) == (victim.id, victim.media, "file not found")
    json.dumps(dataclasses.asdict(check), default=str)  # serialisable for --json
    (pack_copy / task.data.files["annotations"]).unlink()
    [missing] = check_task(task, pack_copy).missing_files
    assert str(missing) == f"{pack_copy / task.data.files['annotations']} (annotations)"
