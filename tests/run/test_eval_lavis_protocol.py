"""eval end to end for the paper's other splits and LAVIS's per-dataset choices: the VizWiz
test-dev submission file, A-OKVQA direct-answer accuracy, each VQA task's evaluator named in
metrics.json and the leaderboard, stop ids in the manifest, and LAVIS's center crop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli
from PIL import Image

from ibench.media import resize_shorter_side_center_crop
from ibench.protocol.suite import load_tasks
from ibench.records import ModelInput


def _run(capsys, pack: Path, out: Path, model: str, tasks: str) -> Path:
    code, stdout, err = run_cli(capsys, "eval", "--model", model, "--tasks", tasks,
                                "--data-root", str(pack), "--output", str(out),
                                "--run-name", "r")
    assert code == 0, err
    return out / "r", stdout


def test_vizwiz_test_split_writes_the_servers_submission_file(capsys, sample_pack, ibench_cache,
                                                                tmp_path):
    run, stdout = _run(capsys, sample_pack, tmp_path, "tiny-t5", "vizwiz_test,vizwiz")
    test_json = json.loads((sample_pack / "vizwiz/Annotations/test.json").read_text())
    submission = json.loads((run / "submissions" / "vizwiz_test.json").read_text())
    # the server's format: a list of {"image", "answer"}, one per test question
    assert [row["image"] for row in submission] == [r["image"] for r in test_json]
    assert all(set(row) == {"image", "answer"} for row in submission)
    lines = [json.loads(x) for x in (run / "predictions/vizwiz_test.jsonl").read_text().split(
        "\n") if x]
    by_image = {f"{x['sample_id']}.jpg": x["prediction"] for x in lines}
    assert all(row["answer"] == by_image[row["image"]] for row in submission)
    entry = json.loads((run / "metrics.json").read_text())["tasks"]["vizwiz_test"]
    assert entry["status"] == "submission" and entry["n"] == len(test_json)
    assert entry["file"] == "submissions/vizwiz_test.json" and "value" not in entry
    assert "submissions/vizwiz_test.json" in stdout
    board = (run / "leaderboard.md").read_text()
    assert "vizwiz_test: its number comes from the vizwiz server" in board
    assert "the paper's VizWiz number is test-dev" in board


def test_aokvqa_direct_answer_accuracy_in_metrics(capsys, sample_pack, ibench_cache, tmp_path):
    run, _ = _run(capsys, sample_pack, tmp_path, "tiny-vicuna", "aokvqa,aokvqa_da")
    metrics = json.loads((run / "metrics.json").read_text())["tasks"]
    assert metrics["aokvqa"]["metric"] == "accuracy"
    entry = metrics["aokvqa_da"]
    assert entry["metric"] == "aokvqa_da_accuracy"
    # recomputed from the published file's direct_answers by the definition min(1, n/3)
    spec = load_tasks()["aokvqa_da"]
    records = json.loads((sample_pack / spec.data.files["annotations"]).read_text())
    answers = {r["question_id"]: r["direct_answers"] for r in records}
    lines = [json.loads(x) for x in (run / "predictions/aokvqa_da.jsonl").read_text().split(
        "\n") if x]
    expected = [100 * min(1.0, answers[x["sample_id"]].count(x["prediction"]) / 3)
                for x in lines]
    assert entry["n"] == len(records) == len(lines)
    assert entry["value"] == pytest.approx(sum(expected) / len(expected))


def test_vqa_tasks_name_their_evaluator(capsys, sample_pack, ibench_cache, tmp_path):
    run, _ = _run(capsys, sample_pack, tmp_path, "tiny-t5", "textvqa,vizwiz,okvqa")
    metrics = json.loads((run / "metrics.json").read_text())["tasks"]
    assert metrics["textvqa"]["metric_options"] == {"variant": "textvqa"}
    assert metrics["vizwiz"]["metric_options"] == {"variant": "vizwiz"}
    assert metrics["okvqa"]["metric_options"] == {"variant": "lavis_vqav2"}
    assert "vqaEval.py" in metrics["okvqa"]["metric_variant"]
    board = (run / "leaderboard.md").read_text()
    assert "textvqa: VQA accuracy by its dataset's evaluator (variant textvqa" in board
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["settings"]["stop_token_ids"] == [1]  # T5's </s>
    decoding = manifest["settings"]["decoding"]["textvqa"]
    assert decoding["lavis"]["min_length"] == 1
    assert decoding["effective"]["min_new_tokens"] == 0  # FlanT5 counts the decoder start


def test_vicuna_run_records_its_stop_ids(capsys, sample_pack, ibench_cache, tmp_path):
    run, _ = _run(capsys, sample_pack, tmp_path, "tiny-vicuna", "gqa")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["settings"]["stop_token_ids"] == [2]
    assert manifest["model_info"]["stop_tokens"] == ["</s>"]
    assert manifest["model_info"]["prompt_prefix_token"] == "</s>"


def test_shorter_side_resize_and_center_crop_geometry():
    # torchvision Resize(32) on 40x30 (w x h): short side 30 -> 32, long int(32 * 40 / 30) = 42;
    # CenterCrop(32): left round((42 - 32) / 2) = 5, top 0.
    image = Image.new("RGB", (40, 30))
    for x in range(40):
        for y in range(30):
            image.putpixel((x, y), (x * 6, y * 8, 0))
    out = resize_shorter_side_center_crop(image, 32)
    expected = image.resize((42, 32), Image.Resampling.BICUBIC).crop((5, 0, 37, 32))
    assert out.size == (32, 32) and out.tobytes() == expected.tobytes()
    tall = resize_shorter_side_center_crop(Image.new("RGB", (32, 50)), 32)
    assert tall.size == (32, 32)  # already 32 wide: cropped only, top round(18 / 2) = 9


def test_coco_and_okvqa_tasks_crop_and_the_model_applies_it(tiny_models_for_crop):
    tasks = load_tasks()
    assert tasks["okvqa"].image_resize == tasks["coco_caption"].image_resize == (
        "shorter_side_center_crop")
    assert tasks["nocaps"].image_resize == tasks["gqa"].image_resize == "square"
    model = tiny_models_for_crop
    image = Image.effect_noise((60, 30), 60).convert("RGB")
    size = model.image_size()
    cropped = model._pixels([resize_shorter_side_center_crop(image, size)])
    square = model._pixels([image])
    item = ModelInput("x", [image], image_resize="shorter_side_center_crop")
    got = model._pixels(model._geometry(item))
    assert got.equal(cropped) and not got.equal(square)


@pytest.fixture(name="tiny_models_for_crop")
def _tiny_model_for_crop():
    from ibench.models.tiny.blip import tiny_model

    return tiny_model("t5")
