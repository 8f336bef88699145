"""IconQA, ScienceQA, A-OKVQA and Visual Dialog readers on hand-written records
(formats.md sections 10, 12, 13, 19); ScienceQA uses the real pid_splits.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import (  # noqa: F401 - fixtures
    SCIENCEQA_PID_SPLITS,
    SHARED_SAMPLES,
    tasks_fixture,
    with_data,
    write_json,
    write_text,
)

from ibench.data import DataError, read_samples
from ibench.protocol.taskspec import TaskSpec

ICONQA_PROBLEM = {
    "question": "How likely is it that you will pick a black one?",
    "choices": ["certain", "unlikely", "impossible", "probable"],
    "answer": 2,
    "ques_type": "choose_txt",
    "grade": "grade1",
    "label": "S2",
}


def _write_iconqa(root: Path, problems: dict, splits: dict) -> None:
    write_json(root, "iconqa/iconqa_data/problems.json", problems)
    write_json(root, "iconqa/iconqa_data/pid_splits.json", splits)


def test_iconqa_choose_txt(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    image_task = {
        "question": "Which picture shows a cat?",
        "choices": ["a.png", "b.png"],
        "answer": 0,
        "ques_type": "choose_img",
    }
    _write_iconqa(
        tmp_path,
        {"98": ICONQA_PROBLEM, "99": image_task, "100": ICONQA_PROBLEM},
        # the published pid_splits.json keys: `<subtask>_<split>` (lupantech/IconQA
        # run_choose_txt/dataset.py reads pid_splits['%s_%s' % (task, name)])
        {
            "choose_txt_train": ["100"],
            "choose_txt_test": ["98"],
            "choose_img_test": ["99"],
            "fill_in_blank_test": [],
            "choose_txt_val": [],
            "choose_txt_trainval": ["100"],
            "choose_txt_minitest": ["98"],
        },
    )
    [sample] = read_samples(tasks["iconqa"], tmp_path)
    assert sample.id == "98"
    assert sample.media == tmp_path / "iconqa/iconqa_data/iconqa/test/choose_txt/98/image.png"
    assert sample.fields == {
        "question": "How likely is it that you will pick a black one?",
        "options": "(a) certain (b) unlikely (c) impossible (d) probable",
    }
    assert sample.candidates == ("certain", "unlikely", "impossible", "probable")
    assert sample.references == {"answer_index": 2, "answer": "impossible"}


def test_iconqa_missing_split_key(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    # a file written the other way round (`test_choose_txt`) is not the published one
    _write_iconqa(tmp_path, {"98": ICONQA_PROBLEM}, {"test_choose_txt": ["98"]})
    with pytest.raises(DataError, match="no split 'choose_txt_test' .has: test_choose_txt"):
        list(read_samples(tasks["iconqa"], tmp_path, strict=True))


def test_iconqa_pid_absent_from_problems(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_iconqa(tmp_path, {}, {"choose_txt_test": ["98"]})
    with pytest.raises(DataError, match="record pid 98"):
        list(read_samples(tasks["iconqa"], tmp_path, strict=True))


def test_iconqa_answer_out_of_range(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    _write_iconqa(tmp_path, {"98": dict(ICONQA_PROBLEM, answer=4)}, {"choose_txt_test": ["98"]})
    with pytest.raises(DataError, match="record pid 98: field 'answer': index 4 out of range"):
        list(read_samples(tasks["iconqa"], tmp_path, strict=True))


def test_embedded_pid_splits_match_the_shared_sample() -> None:
    shared = SHARED_SAMPLES / "scienceqa" / "pid_splits.json"
    assert json.loads(shared.read_text()) == json.loads(SCIENCEQA_PID_SPLITS)


def _science(question: str, image: str | None, hint: str, split: str) -> dict:
    return {
        "question": question,
        "choices": ["West Virginia", "Louisiana", "Arizona", "Oklahoma"],
        "answer": 0,
        "hint": hint,
        "image": image,
        "task": "closed choice",
        "grade": "grade2",
        "subject": "social science",
        "topic": "geography",
        "category": "Geography",
        "skill": "Read a map: cardinal directions",
        "lecture": "Maps have four cardinal directions.",
        "solution": "West Virginia.",
        "split": split,
    }


def test_scienceqa_image_subset_with_real_pid_splits(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    # test pids in the real file: "4", "5", "11", "15", "22"; 5 and 15 have no image
    question = "Which of these states is farthest north?"
    problems = {
        "1": _science(question, "image.png", "", "train"),
        "4": _science(question, "image.png", "", "test"),
        "5": _science("Which word is a noun?", None, "", "test"),
        "11": _science(question, "image.png", "Look at the map.", "test"),
        "15": _science("Which is a mammal?", None, "Think about fur.", "test"),
        "22": _science(question, "image.png", "", "test"),
    }
    write_json(tmp_path, "scienceqa/problems.json", problems)
    write_text(tmp_path, "scienceqa/pid_splits.json", SCIENCEQA_PID_SPLITS)
    samples = list(read_samples(tasks["scienceqa_img"], tmp_path))
    assert [s.id for s in samples] == ["4", "11", "22"]
    assert samples[0].media == tmp_path / "scienceqa/images/test/4/image.png"
    assert samples[0].fields == {
        "question": "Which of these states is farthest north?",
        "context": "",
        "options": "(a) West Virginia (b) Louisiana (c) Arizona (d) Oklahoma",
    }
    assert samples[1].fields["context"] == "Look at the map."
    assert samples[0].candidates == ("West Virginia", "Louisiana", "Arizona", "Oklahoma")
    assert samples[0].references == {"answer_index": 0, "answer": "West Virginia"}


def test_scienceqa_null_hint_is_empty_context(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    problem = _science("Which state?", "image.png", "", "test")
    problem["hint"] = None
    write_json(tmp_path, "scienceqa/problems.json", {"4": problem})
    write_json(tmp_path, "scienceqa/pid_splits.json", {"test": ["4"]})
    [sample] = read_samples(tasks["scienceqa_img"], tmp_path)
    assert sample.fields["context"] == ""


AOKVQA_RECORD = {
    "split": "val",
    "image_id": 461751,
    "question_id": "22jbM6gDxdaMaunuzgrsBB",
    "question": "What is in the motorcyclist's mouth?",
    "choices": ["toothpick", "food", "popsicle stick", "cigarette"],
    "correct_choice_idx": 3,
    "direct_answers": ["cigarette"] * 10,
    "difficult_direct_answer": False,
    "rationales": ["He's smoking.", "It is a cigarette.", "Smoke comes out."],
}


def test_aokvqa_multiple_choice(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "aokvqa/aokvqa_v1p0_val.json", [AOKVQA_RECORD])
    [sample] = read_samples(tasks["aokvqa"], tmp_path)
    assert sample.id == "22jbM6gDxdaMaunuzgrsBB"
    assert sample.media == tmp_path / "coco/images/val2017/000000461751.jpg"
    assert sample.fields == {
        "question": "What is in the motorcyclist's mouth?",
        "options": "(a) toothpick (b) food (c) popsicle stick (d) cigarette",
    }
    assert sample.candidates == ("toothpick", "food", "popsicle stick", "cigarette")
    assert sample.references["answer_index"] == 3
    assert sample.references["answer"] == "cigarette"
    assert sample.references["direct_answers"] == ["cigarette"] * 10


def test_vqg_aokvqa(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "aokvqa/aokvqa_v1p0_val.json", [AOKVQA_RECORD])
    [sample] = read_samples(tasks["vqg_aokvqa"], tmp_path)
    assert sample.fields == {"answer": "cigarette"}
    assert sample.references == {"captions": ["What is in the motorcyclist's mouth?"]}
    assert sample.candidates is None


# Visual Dialog: rounds index into the shared question and answer lists.
VISDIAL_QUESTIONS = ["is the photo in color", "is it a man", "how old is he"]
VISDIAL_ANSWERS = ["yes", "no", "about 30", "maybe", "i can't tell", "20"]


def _visdial(dialog_rounds: list[dict]) -> dict:
    return {
        "version": "1.0",
        "split": "val2018",
        "data": {
            "questions": VISDIAL_QUESTIONS,
            "answers": VISDIAL_ANSWERS,
            "dialogs": [
                {
                    "image_id": 185565,
                    "caption": "a man riding a horse on a beach",
                    "dialog": dialog_rounds,
                }
            ],
        },
    }


ROUNDS = [
    {"question": 0, "answer": 0, "answer_options": [3, 0, 1, 4], "gt_index": 1},
    {"question": 1, "answer": 0, "answer_options": [0, 1, 2, 3], "gt_index": 0},
    {"question": 2, "answer": 2, "answer_options": [5, 4, 3, 2], "gt_index": 3},
]


def test_visdial_rounds_history_and_options(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "visdial/visdial_1.0_val.json", _visdial(ROUNDS))
    samples = list(read_samples(tasks["visdial"], tmp_path))
    assert [s.id for s in samples] == ["185565_r1", "185565_r2", "185565_r3"]
    assert all(
        s.media == tmp_path / "visdial/VisualDialog_val2018/VisualDialog_val2018_000000185565.jpg"
        for s in samples
    )
    assert samples[0].fields == {
        "question": "is the photo in color",
        "history": "a man riding a horse on a beach",
    }
    assert samples[1].fields["history"] == (
        "a man riding a horse on a beach Q: is the photo in color A: yes"
    )
    assert samples[2].fields == {
        "question": "how old is he",
        "history": "a man riding a horse on a beach Q: is the photo in color A: yes "
        "Q: is it a man A: yes",
    }
    assert samples[0].candidates == ("maybe", "yes", "no", "i can't tell")
    assert samples[2].candidates == ("20", "i can't tell", "maybe", "about 30")
    assert [s.references for s in samples] == [  # one dialog: one cluster for the intervals
        {"answer_index": 1, "cluster": "185565"},
        {"answer_index": 0, "cluster": "185565"},
        {"answer_index": 3, "cluster": "185565"},
    ]


def test_visdial_gt_index_must_point_at_the_answer(
    tmp_path: Path, tasks: dict[str, TaskSpec]
) -> None:
    bad = [dict(ROUNDS[0], gt_index=0)]
    path = write_json(tmp_path, "visdial/visdial_1.0_val.json", _visdial(bad))
    with pytest.raises(DataError) as info:
        list(read_samples(tasks["visdial"], tmp_path, strict=True))
    assert str(path) in str(info.value)
    assert "dialog #0 (image_id 185565) round 1" in str(info.value)
    assert "field 'gt_index'" in str(info.value)


def test_visdial_question_index_out_of_range(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "visdial/visdial_1.0_val.json", _visdial([dict(ROUNDS[0], question=7)]))
    with pytest.raises(DataError, match="field 'question': index 7 out of range for 3 items"):
        list(read_samples(tasks["visdial"], tmp_path, strict=True))


def test_visdial_option_index_out_of_range(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    rounds = [dict(ROUNDS[0], answer_options=[3, 0, 1, 99])]
    write_json(tmp_path, "visdial/visdial_1.0_val.json", _visdial(rounds))
    with pytest.raises(DataError, match=r"field 'answer_options\[3\]'"):
        list(read_samples(tasks["visdial"], tmp_path, strict=True))


def test_visdial_image_prefix_option(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "visdial/visdial_1.0_val.json", _visdial(ROUNDS[:1]))
    task = with_data(tasks["visdial"], options={"image_prefix": "VisualDialog_test2018"})
    [sample] = read_samples(task, tmp_path)
    assert sample.media.name == "VisualDialog_test2018_000000185565.jpg"
