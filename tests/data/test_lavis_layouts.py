"""Datasets as LAVIS's download scripts store them (a second layout of a task): read, checked
and evaluated when the publisher's files are absent; data check names every layout it tried."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import run_cli
from PIL import Image

from ibench.data import read_samples, synth
from ibench.protocol.suite import load_tasks


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (24, 16), (200, 30, 30)).save(path)


def _write(root: Path, rel: str, data: object) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _lavis_gqa(root: Path) -> None:
    # lavis/configs/datasets/gqa/balanced_testdev_instruct.yaml storage; gqa_datasets.py reads
    # ann["image"], ann["question"], ann["question_id"], ann["answer"]
    records = [{"image": f"n{k}.jpg", "question": f"Is it red {k}?", "question_id": f"20{k}",
                "answer": "yes", "fullAnswer": "Yes, it is."} for k in range(3)]
    _write(root, "gqa/annotations/testdev_balanced_questions.json", records)
    for k in range(3):
        _image(root / f"gqa/images/n{k}.jpg")


def test_gqa_lavis_layout_is_read(tmp_path):
    _lavis_gqa(tmp_path)
    samples = list(read_samples(load_tasks()["gqa"], tmp_path))
    assert [s.id for s in samples] == ["200", "201", "202"]
    assert samples[0].media == tmp_path / "gqa/images/n0.jpg"
    assert samples[0].fields == {"question": "Is it red 0?"}
    assert samples[0].references == {"answer": "yes"}


def test_eval_on_a_root_holding_only_a_lavis_layout_runs_that_task(capsys, tmp_path,
                                                                    ibench_cache):
    _lavis_gqa(tmp_path / "data")
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa",
                             "--data-root", str(tmp_path / "data"), "--output",
                             str(tmp_path / "out"), "--run-name", "r")
    assert code == 0, err
    entry = json.loads((tmp_path / "out/r/metrics.json").read_text())["tasks"]["gqa"]
    assert entry["n"] == 3 and entry["failures"] == {}


def test_okvqa_lavis_layout(tmp_path):
    # lavis/configs/datasets/okvqa/defaults.yaml storage okvqa/annotations/vqa_val_eval.json
    answers = ["race"] * 6 + ["motocross"] * 2 + ["ride"] * 2
    _write(tmp_path, "okvqa/annotations/vqa_val_eval.json", [
        {"question_id": 2971475, "question": "What sport can you use this for?",
         "answer": answers, "image": "val2014/COCO_val2014_000000297147.jpg"}])
    [sample] = read_samples(load_tasks()["okvqa"], tmp_path)
    assert sample.id == "2971475" and sample.references == {"answers": answers}
    assert sample.media == tmp_path / "coco/images/val2014/COCO_val2014_000000297147.jpg"


def test_msrvtt_lavis_layout_takes_its_vocabulary_from_ans2label(tmp_path):
    # defaults_qa.yaml: msrvtt/annotations/qa_test.json, qa_ans2label.json, msrvtt/videos
    _write(tmp_path, "msrvtt/annotations/qa_test.json", [
        {"question": "who is singing?", "answer": "man", "video": "video7010.mp4",
         "question_id": 158581}])
    _write(tmp_path, "msrvtt/annotations/qa_ans2label.json", {"woman": 1, "man": 0, "dog": 2})
    video = tmp_path / "msrvtt/videos/video7010.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(synth.encode_video(synth.moving_frames("circle", "red", "right", 8), "mp4"))
    [sample] = read_samples(load_tasks()["msrvtt_qa"], tmp_path)
    assert sample.id == "158581" and sample.media == video
    assert sample.candidates == ("man", "woman", "dog")  # label order
    assert sample.references == {"answer": "man"}


def test_data_check_names_every_layout_it_tried(capsys, tmp_path):
    (tmp_path / "msvd/annotations").mkdir(parents=True)
    (tmp_path / "msvd/annotations/qa_test.json").write_text("[]")
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(tmp_path),
                           "--tasks", "msvd_qa")
    text = out.replace("\n", "")
    assert code == 1 and "layouts tried (official: missing" in text
    assert "renamed: missing" in text and "lavis: missing" in text
    # the closest layout is LAVIS's: only its vocabulary file is still missing
    vocabulary = tmp_path / "msvd/annotations/qa_ans2label.json"
    assert f"msvd_qa: missing {vocabulary} (candidates)" in text
    assert "the closest is lavis" in text


def test_vizwiz_and_vsr_lavis_copies(tmp_path):
    _write(tmp_path, "vizwiz/annotations/val.json", [
        {"image": "VizWiz_val_00000000.jpg", "question": "What is this?",
         "answers": [{"answer": "soup", "answer_confidence": "yes"}] * 10,
         "answer_type": "other", "answerable": 1}])
    [sample] = read_samples(load_tasks()["vizwiz"], tmp_path)
    assert sample.media == tmp_path / "vizwiz/val/VizWiz_val_00000000.jpg"
    line = {"image": "000000085637.jpg", "caption": "The cat is on the bed.", "label": 1,
            "relation": "on"}
    path = tmp_path / "vsr/annotations/test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(line) + "\n")
    [sample] = read_samples(load_tasks()["vsr"], tmp_path)
    assert sample.references["label"] == 1 and sample.media == tmp_path / (
        "vsr/images/000000085637.jpg")


def test_a_run_refuses_to_resume_on_another_layout(capsys, tmp_path, ibench_cache):
    from ibench.run.manifest import data_fingerprint

    _lavis_gqa(tmp_path)
    task = load_tasks()["gqa"]
    lavis = data_fingerprint(task, tmp_path)
    assert list(lavis) == ["lavis:questions"] and lavis["lavis:questions"] != "absent"
    official = {"1": {"question": "q?", "imageId": "n0", "answer": "yes"}}
    _write(tmp_path, task.data.files["questions"], official)  # now the publisher's file too
    assert list(data_fingerprint(task, tmp_path)) == ["questions"]


def test_tasks_show_lists_every_layout(capsys):
    code, out, _ = run_cli(capsys, "tasks", "show", "msvd_qa")
    assert code == 0 and "layout renamed" in out and "layout lavis" in out
    assert "msvd/annotations/qa_test.json" in out
