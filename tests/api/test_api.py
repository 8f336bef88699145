"""The Python API (ibench.api): a run made through it equals the same run made through the CLI,
file for file; its DataFrames hold every prediction line and task; the README's "From Python"
example runs as written; a run folder of a newer schema is refused."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

import ibench
from ibench.run.folder import read_lines
from ibench.run.schema import Manifest

ROOT = Path(__file__).resolve().parents[2]
TASKS = ["gqa", "vsr", "visdial"]


def _lines(path: Path) -> list[dict]:
    """A prediction file's lines less the timing (the only field that varies run to run)."""
    return [{k: v for k, v in line.items() if k != "seconds"} for line in read_lines(path)]


@pytest.fixture(scope="module")
def twin_runs(tmp_path_factory, sample_pack, ibench_cache):
    """The same evaluation made by `ibench eval` and by ibench.evaluate."""
    root = tmp_path_factory.mktemp("twins")

    class Capture:  # run_cli reads what was printed from a capsys-like object
        def readouterr(self):
            return type("Out", (), {"out": "", "err": ""})()

    code, _, _ = run_cli(Capture(), "eval", "--model", "tiny-t5", "--tasks", ",".join(TASKS),
                         "--data-root", str(sample_pack), "--output", str(root / "cli"),
                         "--run-name", "twin")
    assert code == 0
    run = ibench.evaluate("tiny-t5", TASKS, data_root=sample_pack, output=root / "api",
                          run_name="twin")
    return root / "cli" / "twin", run


def test_an_api_run_equals_the_cli_run_file_for_file(twin_runs):
    cli, run = twin_runs
    api = run.path
    files = sorted(p.relative_to(cli).as_posix() for p in cli.rglob("*") if p.is_file())
    assert sorted(p.relative_to(api).as_posix() for p in api.rglob("*") if p.is_file()) == files
    for name in files:
        if name.startswith("predictions/"):
            assert _lines(cli / name) == _lines(api / name), name
        elif name in ("metrics.json", "leaderboard.md") or name.startswith(
                ("references/", "scores/")):
            assert (cli / name).read_bytes() == (api / name).read_bytes(), name
    a, b = Manifest.read(cli / "manifest.json"), Manifest.read(api / "manifest.json")
    assert a.settings == b.settings and a.model_info == b.model_info and a.tasks == b.tasks
    assert a.status == b.status == "complete"
    assert run.report_file is not None and run.report_file.path == api / "report.html"


def test_the_dataframes_hold_every_line_and_task(twin_runs):
    _, made = twin_runs
    run = ibench.load_run(made.path)
    lines = {task: _lines(run.path / "predictions" / f"{task}.jsonl") for task in TASKS}
    frame = run.predictions
    assert len(frame) == sum(len(v) for v in lines.values()) == 12  # 4 samples per task
    for task, expected in lines.items():
        rows = frame[frame.task == task]
        assert list(rows.sample_id) == [line["sample_id"] for line in expected]
        assert list(rows.prediction) == [line["prediction"] for line in expected]
    stored = json.loads((run.path / "metrics.json").read_text())["tasks"]
    metrics = run.metrics.set_index("task")
    assert list(metrics.index) == TASKS
    for task in TASKS:
        assert metrics.loc[task, "value"] == stored[task]["value"]
        assert [metrics.loc[task, "ci_low"], metrics.loc[task, "ci_high"]] == stored[task]["ci95"]
    # a per-sample score from scores/, for the headline template: vsr is accuracy (0 or 100)
    scores = json.loads((run.path / "scores" / "vsr.true_false-01.json").read_text())
    vsr = frame[frame.task == "vsr"].set_index("sample_id")
    assert vsr.sample_score.to_dict() == scores["per_sample"]
    first = json.loads((run.path / "references" / "vsr.jsonl").read_text().splitlines()[0])
    assert vsr.loc[first["sample_id"], "references"] == first["references"]


def test_leaderboard_and_compare_frames(twin_runs):
    cli, run = twin_runs
    board = ibench.leaderboard([cli, run.path])
    assert board.attrs["title"].startswith("Zero-shot held-out")
    rows = board[board.index.str.startswith("twin")]
    gqa = run.metrics.set_index("task").loc["gqa", "value"]
    assert len(rows) == 2 and rows["gqa"].tolist() == [gqa, gqa]
    assert board.loc["InstructBLIP (FlanT5XL)", "gqa"] == 48.4  # Table 1
    comparison = ibench.compare(cli, run)
    assert sorted(comparison.frame.task) == sorted(TASKS)
    assert (comparison.frame.difference == 0).all()  # the same run twice


def test_the_readme_from_python_example_runs_as_written(tmp_path, ibench_cache):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python"):text.index("## Architecture")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = {**os.environ, "IBENCH_CACHE": str(ibench_cache), "HF_HUB_OFFLINE": "1"}
    env.pop("IBENCH_DATA_ROOT", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "exact_match" in done.stdout and "compare-tiny-t5_gqa+iconqa+vsr_eval.html" in (
        done.stdout)
    # and the one-liner of the issue, on the run the example made
    one_liner = ("import ibench; r = ibench.load_run('results/tiny-vicuna_gqa+iconqa+vsr_eval'); "
                 "print(r.predictions.head())")
    done = subprocess.run([sys.executable, "-c", one_liner], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[5 rows x" in done.stdout and "gqa" in done.stdout


def test_a_run_folder_of_a_newer_schema_is_refused(tmp_path, capsys):
    folder = tmp_path / "future"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(
        {"schema": 99, "settings": {"tasks": ["gqa"]}}))
    code, _, err = run_cli(capsys, "leaderboard", str(folder))
    assert code == 1
    assert "written by a newer ibench (run folder schema 99" in err and err.count("\n") == 1
