"""Task files: all 28 (26 datasets) validate, the held-out set matches protocol.md, bad files
are named."""

from pathlib import Path

import pytest
import yaml
from protocol_fixtures import HELD_OUT

from ibench.protocol.suite import load_tasks, select_tasks
from ibench.protocol.taskfile import load_task_file
from ibench.protocol.taskspec import TaskError

HELD_IN = {
    "coco_caption", "web_capfilt", "textcaps", "vqav2", "okvqa", "aokvqa", "ocrvqa",
    "vqg_vqav2", "vqg_okvqa", "vqg_aokvqa", "llava_conv", "llava_detail", "llava_reasoning",
}
# Appendix E zero-shot prompts, copied from protocol.md.
PROMPTS = {
    "nocaps": "A short image description:",
    "gqa": "Question: {question} Short answer:",
    "vsr": 'Based on the image, is this statement true or false? "{caption}" Answer:',
    "iconqa": "Question: {question} Options: {options}. Short answer:",
    "textvqa": "OCR tokens: {ocr_tokens}. Question: {question} Short answer:",
    "visdial": "Dialog history: {history}\n Question: {question} Short answer:",
    "hateful_memes": 'This is an image with: "{text}" written on it. Is it hateful? Answer:',
    "scienceqa_img": "Context: {context} Question: {question} Options: {options}. Answer:",
}


def test_all_28_tasks_validate():
    tasks = load_tasks()
    assert len(tasks) == 28  # 26 datasets + A-OKVQA direct answer + VizWiz test-dev
    assert {t for t, s in tasks.items() if s.split == "held-in"} == HELD_IN | {"aokvqa_da"}
    assert {t for t, s in tasks.items() if s.split == "server"} == {"vizwiz_test"}


def test_held_out_matches_protocol():
    held_out = select_tasks(load_tasks(), "held-out")
    assert [t.id for t in held_out] == list(HELD_OUT)  # the paper's Table 1 order
    for task in held_out:
        assert (task.metric, task.mode) == HELD_OUT[task.id], task.id


def test_prompts_and_settings_match_protocol():
    tasks = load_tasks()
    for task_id, prompt in PROMPTS.items():
        assert tasks[task_id].prompt == prompt
    qa = tasks["gqa"]
    assert qa.generation_settings("encoder-decoder").length_penalty == -1.0
    assert qa.generation_settings("decoder-only").length_penalty == 0.0
    cap = tasks["nocaps"].generation_settings("decoder-only")
    assert (cap.num_beams, cap.max_new_tokens, cap.min_new_tokens) == (5, 80, 10)
    assert cap.repetition_penalty == 1.5
    assert tasks["msrvtt_qa"].frames == 4 and tasks["msrvtt_qa"].media == "video"
    assert tasks["hateful_memes"].rank.verbalizers == {
        "positive": ("yes", "true"), "negative": ("no", "false")}
    # Table 1 numbers, from protocol.md section 8
    assert tasks["scienceqa_img"].reference["InstructBLIP (FlanT5XL)"] == 70.4
    assert tasks["nocaps"].reference["InstructBLIP (Vicuna-7B)"] == 123.1
    assert "Flamingo-3B" not in tasks["gqa"].reference


def test_every_decision_is_written_out():
    tasks = load_tasks()
    for task_id in ("vsr", "hateful_memes", "visdial", "msvd_qa", "msrvtt_qa", "scienceqa_img",
                    "web_capfilt", "llava_conv", "vqg_vqav2"):
        assert tasks[task_id].decisions, task_id


def _write(tmp_path: Path, name: str, content: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(content))
    return path


def _good() -> dict:
    return yaml.safe_load(Path(load_tasks()["gqa"].source).read_text())


def test_bad_field_names_file_and_field(tmp_path):
    raw = _good()
    raw["mode"] = "guess"
    path = _write(tmp_path, "gqa", raw)
    with pytest.raises(TaskError) as err:
        load_task_file(path)
    assert str(path) in str(err.value) and "'mode'" in str(err.value)


def test_missing_and_unknown_fields(tmp_path):
    raw = _good()
    del raw["metric"]
    with pytest.raises(TaskError, match="field 'metric': is required"):
        load_task_file(_write(tmp_path, "gqa", raw))
    raw = _good()
    raw["colour"] = "blue"
    with pytest.raises(TaskError, match="field 'colour': unknown"):
        load_task_file(_write(tmp_path, "gqa", raw))
    raw = _good()
    raw["generation"]["num_beams"] = "five"
    with pytest.raises(TaskError, match="generation.num_beams"):
        load_task_file(_write(tmp_path, "gqa", raw))


def test_id_must_match_file_and_paths_stay_inside_root(tmp_path):
    raw = _good()
    with pytest.raises(TaskError, match="field 'id'"):
        load_task_file(_write(tmp_path, "other", raw))
    raw["data"]["files"]["questions"] = "../../etc/passwd"
    with pytest.raises(TaskError, match="data.files.questions"):
        load_task_file(_write(tmp_path, "gqa", raw))


def test_invalid_yaml_names_file(tmp_path):
    path = tmp_path / "gqa.yaml"
    path.write_text("id: [unclosed\n")
    with pytest.raises(TaskError, match="not valid YAML") as err:
        load_task_file(path)
    assert str(path) in str(err.value)


def test_hub_data_files_must_name_roles_of_the_official_files(tmp_path):
    raw = _good()
    raw["hub"]["data_files"] = ["ocr"]  # gqa's data.files has no 'ocr' role
    with pytest.raises(TaskError, match="hub.data_files.*must be a list of roles"):
        load_task_file(_write(tmp_path, "gqa", raw))
    raw["hub"]["data_files"] = list(raw["data"]["files"])[:1]
    assert load_task_file(_write(tmp_path, "gqa", raw)).hub["data_files"]
