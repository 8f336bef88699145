"""One bad record no longer sinks a dataset: it becomes a `bad_record` failure naming file,
record and field, counted in data check, metrics.json and the leaderboard notes; --strict
stops at it with the same words; neither prints a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import run_cli

from ibench.protocol.suite import load_tasks


@pytest.fixture(name="pack_with_a_bad_record")
def _pack_with_a_bad_record(sample_pack: Path, tmp_path: Path) -> tuple[Path, str, int]:
    root = tmp_path / "pack"
    shutil.copytree(sample_pack / "gqa", root / "gqa")
    path = root / load_tasks()["gqa"].data.files["questions"]
    questions = json.loads(path.read_text())
    qid = sorted(questions)[1]
    del questions[qid]["answer"]  # a record with a missing field
    path.write_text(json.dumps(questions))
    return root, qid, len(questions)


def test_the_task_runs_and_the_bad_record_is_counted_and_named(capsys, ibench_cache, tmp_path,
                                                                pack_with_a_bad_record):
    root, qid, total = pack_with_a_bad_record
    path = root / load_tasks()["gqa"].data.files["questions"]
    code, out, err = run_cli(capsys, "data", "check", "--data-root", str(root), "--tasks", "gqa")
    assert code == 0 and "1 bad records" in out.replace("\n", " ")
    assert f"record question_id {qid}: field 'answer': missing" in out.replace("\n", "")
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa",
                             "--data-root", str(root), "--output", str(tmp_path / "out"),
                             "--run-name", "r")
    assert code == 0, err
    assert "Traceback" not in out + err
    run = tmp_path / "out" / "r"
    entry = json.loads((run / "metrics.json").read_text())["tasks"]["gqa"]
    assert entry["failures"] == {"bad_record": 1} and entry["n"] == total - 1
    lines = [json.loads(x) for x in (run / "predictions/gqa.jsonl").read_text().splitlines()]
    [bad] = [x for x in lines if x["status"] == "bad_record"]
    assert bad["reason"] == f"{path}: record question_id {qid}: field 'answer': missing"
    assert bad["sample_id"] == f"{path.name}#question_id {qid}"
    board = (run / "leaderboard.md").read_text()
    assert "gqa: 1 bad records in the data, left out of the metric" in board
    assert "not comparable to the paper" in board


def test_strict_stops_at_the_bad_record_naming_it(capsys, ibench_cache, tmp_path,
                                                  pack_with_a_bad_record):
    root, qid, _ = pack_with_a_bad_record
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa",
                             "--data-root", str(root), "--output", str(tmp_path / "out"),
                             "--strict")
    assert code != 0
    assert f"record question_id {qid}: field 'answer': missing" in (out + err).replace("\n", "")
    assert "Traceback" not in out + err


def test_a_file_that_is_not_json_still_stops_the_task(capsys, ibench_cache, tmp_path):
    path = tmp_path / "data" / load_tasks()["gqa"].data.files["questions"]
    path.parent.mkdir(parents=True)
    path.write_text('{"1": {"question": "x",\n')
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa",
                             "--data-root", str(tmp_path / "data"), "--output",
                             str(tmp_path / "out"))
    assert code == 1 and "not valid JSON (line 2" in (out + err).replace("\n", "")
    assert "Traceback" not in out + err


def test_a_bad_record_reason_is_printed_as_text(capsys, tmp_path):
    # the reason quotes the record's value: rich markup in it must reach the screen as text
    path = tmp_path / load_tasks()["gqa"].data.files["questions"]
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"7": {"question": ["[bold]boom[/bold]"],
                                      "imageId": "n1", "answer": "yes"},
                                "8": {"question": "q", "imageId": "n2", "answer": "yes"}}))
    code, out, _ = run_cli(capsys, "data", "check", "--data-root", str(tmp_path), "--tasks", "gqa")
    assert "got ['[bold]boom[/bold]']" in out.replace("\n", "")
