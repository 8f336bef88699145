"""DataError messages (file, record, field), path traversal refusal, and dispatch errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import VSR_TEST_JSONL, tasks_fixture, with_data, write_json, write_text  # noqa: F401

from ibench.data import DataError, read_samples
from ibench.protocol.taskspec import TaskSpec


def _vsr_line(image: str) -> str:
    return json.dumps({"image": image, "caption": "The cat is on the mat.", "label": 1}) + "\n"


@pytest.mark.parametrize(
    "image",
    ["../../etc/passwd", "/etc/passwd", "a/../../../../etc/passwd", "../images2/x.jpg", "."],
)
def test_media_path_leaving_the_root_is_refused(
    tmp_path: Path, tasks: dict[str, TaskSpec], image: str
) -> None:
    root = tmp_path / "root"
    path = write_text(root, "vsr/zeroshot/test.jsonl", _vsr_line(image))
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["vsr"], root, strict=True))
    message = str(info.value)
    assert str(path) in message and "record line 1" in message and "field 'image'" in message
    assert "refused" in message or "leaves the media folder" in message


def test_dotdot_that_stays_in_the_media_folder_is_allowed(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    write_text(tmp_path, "vsr/zeroshot/test.jsonl", _vsr_line("sub/../000000017697.jpg"))
    [sample] = read_samples(tasks["vsr"], tmp_path)
    assert sample.media == tmp_path / "vsr/images/000000017697.jpg"


def test_windows_absolute_path_is_refused(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_text(tmp_path, "vsr/zeroshot/test.jsonl", _vsr_line("C:\\Windows\\win.ini"))
    with pytest.raises(DataError, match="absolute media path"):
        list(read_samples(tasks["vsr"], tmp_path, strict=True))


def test_traversal_through_an_id_is_refused(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    csv = (
        "video_id,question,answer1,answer2,answer3,answer4,answer5\n"
        "../../../../tmp/x,what?,a,a,a,a,a\n"
    )
    write_text(tmp_path, "ivqa/test.csv", csv)
    with pytest.raises(DataError, match="leaves the media folder"):
        list(read_samples(tasks["ivqa"], tmp_path, strict=True))
    write_json(
        tmp_path,
        "gqa/testdev_balanced_questions.json",
        {"1": {"question": "q?", "imageId": "../../../etc/passwd", "answer": "a"}},
    )
    with pytest.raises(DataError, match="field 'imageId'"):
        list(read_samples(tasks["gqa"], tmp_path, strict=True))


def test_hateful_escaped_traversal_is_refused(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    line = '{"id":1,"img":"img\\/..\\/..\\/..\\/..\\/etc\\/passwd","label":0,"text":"x"}\n'
    write_text(tmp_path, "hateful_memes/dev_seen.jsonl", line)
    with pytest.raises(DataError, match="field 'img'"):
        list(read_samples(tasks["hateful_memes"], tmp_path, strict=True))


def test_missing_annotation_file_names_the_exact_path(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    write_json(tmp_path, "vqav2/v2_OpenEnded_mscoco_val2014_questions.json", {"questions": []})
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["vqav2"], tmp_path, strict=True))
    expected = tmp_path / "vqav2/v2_mscoco_val2014_annotations.json"
    assert info.value.file == expected
    assert str(info.value).startswith(f"{expected}: annotation file not found")


def test_invalid_json_names_file_and_position(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    path = write_text(tmp_path, "gqa/testdev_balanced_questions.json", '{"1": {"question": }')
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["gqa"], tmp_path, strict=True))
    assert str(info.value).startswith(f"{path}: not valid JSON (line 1, column")


def test_wrong_field_type_names_file_record_and_field(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    path = write_json(
        tmp_path,
        "vizwiz/Annotations/val.json",
        [{"image": "VizWiz_val_00000000.jpg", "question": 42, "answers": ["a"]}],
    )
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["vizwiz"], tmp_path, strict=True))
    error = info.value
    assert (error.file, error.record, error.field) == (
        path,
        "#0 (image VizWiz_val_00000000.jpg)",
        "question",
    )
    assert str(error) == (
        f"{path}: record #0 (image VizWiz_val_00000000.jpg): field 'question': "
        "must be a string, got 42"
    )


def test_record_that_is_not_an_object(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "aokvqa/aokvqa_v1p0_val.json", [["not", "an", "object"]])
    with pytest.raises(DataError, match="record #0: must be a JSON object, got list"):
        list(read_samples(tasks["aokvqa"], tmp_path, strict=True))


def test_duplicate_ids_are_an_error(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    line = '{"id":8291,"img":"img\\/08291.png","label":1,"text":"x"}\n'
    write_text(tmp_path, "hateful_memes/dev_seen.jsonl", line + line)
    with pytest.raises(DataError, match="two samples share this id"):
        list(read_samples(tasks["hateful_memes"], tmp_path, strict=True))


def test_unknown_format_names_the_task_file(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    task = with_data(tasks["vsr"], format="vsr_v2")
    write_text(tmp_path, "vsr/zeroshot/test.jsonl", VSR_TEST_JSONL)
    with pytest.raises(DataError) as info:
        list(read_samples(task, tmp_path, strict=True))
    assert str(task.source) in str(info.value) and "field 'data.format'" in str(info.value)


def test_bad_alternative_in_task_file(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    options = {"alternative": {"format": "lavis_karpathy", "files": {"annotations": "/abs.json"}}}
    task = with_data(tasks["coco_caption"], options=options)
    with pytest.raises(DataError, match="data.options.alternative.files.annotations"):
        list(read_samples(task, tmp_path, strict=True))


def test_reader_needs_a_file_role_the_task_lacks(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    task = with_data(tasks["textvqa"], files={"annotations": "textvqa/TextVQA_0.5.1_val.json"})
    write_json(tmp_path, "textvqa/TextVQA_0.5.1_val.json", {"data": []})
    with pytest.raises(DataError, match="field 'data.files.ocr'"):
        list(read_samples(task, tmp_path, strict=True))
