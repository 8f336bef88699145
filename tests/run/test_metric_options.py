"""A metric option set in a task file reaches the metric: a Visual Dialog-format task of 4
options per round (`metric_options: {num_options: 4}`) is scored as MRR over 4 options,
checked by hand from the stored candidate scores."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import run_cli
from PIL import Image

from ibench.resources import resource_dir

ANSWERS = ["yes", "no", "two", "red", "a dog", "the table"]
QUESTIONS = ["is it sunny?", "how many cats?", "what color is it?"]


def _dataset(root: Path) -> None:
    """Two dialogs of two rounds, 4 answer options each, in Visual Dialog's own layout."""
    dialogs = []
    for image_id, rounds in ((1, [(0, 0, [1, 0, 2, 3], 1), (1, 2, [2, 4, 5, 0], 0)]),
                             (2, [(2, 3, [4, 5, 3, 1], 2), (0, 1, [0, 1, 2, 3], 1)])):
        dialogs.append({"image_id": image_id, "caption": "a picture", "dialog": [
            {"question": q, "answer": a, "answer_options": options, "gt_index": gt}
            for q, a, options, gt in rounds]})
        image = root / "visdial4" / "images" / f"VisualDialog_val2018_{image_id:012d}.jpg"
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (image_id * 60, 90, 30)).save(image)
    data = {"version": "1.0", "split": "val",
            "data": {"questions": QUESTIONS, "answers": ANSWERS, "dialogs": dialogs}}
    (root / "visdial4" / "val.json").write_text(json.dumps(data))


def _task_file(folder: Path) -> None:
    """The shipped visdial task file as a user's own task: its data under visdial4/ and the
    metric option that says each round has 4 options."""
    text = (resource_dir("tasks") / "visdial.yaml").read_text(encoding="utf-8")
    text = text.replace("id: visdial\n", "id: visdial4\n")
    text = text.replace("annotations: visdial/visdial_1.0_val.json",
                        "annotations: visdial4/val.json")
    text = text.replace("media_dir: visdial/VisualDialog_val2018", "media_dir: visdial4/images")
    text = text.replace("metric: mrr\n", "metric: mrr\nmetric_options:\n  num_options: 4\n")
    text = text[:text.index("reference:")] + text[text.index("decisions:"):]
    (folder / "tasks").mkdir(parents=True)
    (folder / "tasks" / "visdial4.yaml").write_text(text, encoding="utf-8")


def test_mrr_num_options_from_a_task_file(capsys, tmp_path, ibench_cache, monkeypatch):
    import ibench.resources

    monkeypatch.setattr(ibench.resources, "_INCLUDED", [])  # this test's folder, then none
    _dataset(tmp_path / "data")
    _task_file(tmp_path / "mine")
    code, _, err = run_cli(capsys, "--include-path", str(tmp_path / "mine"), "eval", "--model",
                           "tiny-vicuna", "--tasks", "visdial4", "--data-root",
                           str(tmp_path / "data"), "--output", str(tmp_path / "out"),
                           "--run-name", "four")
    assert code == 0, err
    run = tmp_path / "out" / "four"
    entry = json.loads((run / "metrics.json").read_text())["tasks"]["visdial4"]
    assert entry["metric_options"] == {"num_options": 4} and entry["n"] == 4
    gts = {"1_r1": 1, "1_r2": 0, "2_r1": 2, "2_r2": 1}
    reciprocal = []
    for line in map(json.loads, (run / "predictions" / "visdial4.jsonl").read_text().splitlines()):
        scores, gt = line["scores"], gts[line["sample_id"]]
        assert len(scores) == 4
        # the definition: rank 1 is best, and options tied with the answer rank ahead of it
        rank = 1 + sum(1 for j, s in enumerate(scores) if j != gt and s >= scores[gt])
        reciprocal.append(100 / rank)
    assert abs(entry["value"] - sum(reciprocal) / 4) < 1e-9
