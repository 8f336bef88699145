"""Candidates are ranked as the data writes them (LAVIS tokenizes them unstripped), and an empty
one makes its sample a recorded bad_record naming file, record and field (issue 27)."""

from __future__ import annotations

import copy
from pathlib import Path

from data_fixtures import tasks_fixture, write_json, write_text  # noqa: F401 - fixture

from ibench.data import DataError, read_candidates_file, read_samples
from ibench.protocol.taskspec import TaskSpec
from ibench.records import Sample
from ibench.run.plan import PlanFailure, plan_items

AOKVQA = {
    "split": "val", "image_id": 461751, "question_id": "q1",
    "question": "What is in the motorcyclist's mouth?",
    "choices": ["toothpick", " food", "popsicle stick ", "cigarette"],
    "correct_choice_idx": 3, "direct_answers": ["cigarette"] * 10,
    "difficult_direct_answer": False, "rationales": ["He's smoking."],
}


def test_choices_keep_their_spaces(tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    write_json(tmp_path, "aokvqa/aokvqa_v1p0_val.json", [AOKVQA])
    [sample] = read_samples(tasks["aokvqa"], tmp_path)
    assert sample.candidates == ("toothpick", " food", "popsicle stick ", "cigarette")


def test_an_empty_choice_is_a_bad_record_naming_the_field(tmp_path: Path,
                                                          tasks: dict[str, TaskSpec]) -> None:
    other = copy.deepcopy(AOKVQA)
    other.update(question_id="q2", choices=["toothpick", "", "popsicle stick", "cigarette"])
    path = write_json(tmp_path, "aokvqa/aokvqa_v1p0_val.json", [AOKVQA, other])
    good, bad = read_samples(tasks["aokvqa"], tmp_path)
    assert good.failure is None
    assert isinstance(bad.failure, DataError)
    message = str(bad.failure)
    assert str(path) in message and "#1" in message and "field 'choices[1]'" in message
    assert "is empty: an empty candidate cannot be ranked" in message


def test_a_visdial_option_pointing_at_an_empty_answer_is_a_bad_record(
        tmp_path: Path, tasks: dict[str, TaskSpec]) -> None:
    data = {"version": "1.0", "split": "val2018", "data": {
        "questions": ["is it a man"], "answers": ["yes", "", "no"],
        "dialogs": [{"image_id": 7, "caption": "a man", "dialog": [
            {"question": 0, "answer": 0, "answer_options": [0, 1, 2], "gt_index": 0}]}]}}
    write_json(tmp_path, "visdial/visdial_1.0_val.json", data)
    [bad] = read_samples(tasks["visdial"], tmp_path)
    assert "field 'answer_options[1]': is empty" in str(bad.failure)


def test_a_candidates_file_is_read_as_written(tmp_path: Path) -> None:
    as_list = write_json(tmp_path, "list.json", ["man", " cat ", "man", "cat"])
    assert read_candidates_file(as_list) == ("man", " cat ", "cat")
    lines = write_text(tmp_path, "answers.txt", "man\n\n two\r\ncat \n")
    assert read_candidates_file(lines) == ("man", " two", "cat ")


def test_a_candidates_file_with_an_empty_answer_is_refused(tmp_path: Path) -> None:
    path = write_json(tmp_path, "qa_ans2label.json", {"yes": 0, "": 1})
    try:
        read_candidates_file(path)
    except DataError as exc:
        assert str(path) in str(exc) and "#1" in str(exc) and "is empty" in str(exc)
    else:
        raise AssertionError("an empty candidate was accepted")


def test_the_planner_refuses_an_empty_candidate_from_any_source(
        tasks: dict[str, TaskSpec]) -> None:
    from ibench.protocol.templates import load_families

    task = tasks["aokvqa"]
    family = load_families()[task.templates]
    sample = Sample("s1", Path("x.jpg"), {"question": "q", "options": "(a) x (b)"}, {},
                    candidates=("x", ""))
    [failure] = plan_items(task, [sample], family.templates[:1])
    assert isinstance(failure, PlanFailure) and failure.status == "bad_record"
    assert failure.reason.startswith("candidate #1 is empty")
