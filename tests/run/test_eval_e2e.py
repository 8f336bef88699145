"""ibench eval end to end on the sample pack with both tiny models; kill -9 and resume;
compare and leaderboard over real runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli, run_json

from ibench.protocol.paper import held_out_order
from ibench.protocol.suite import load_tasks

HELD_IN = sorted(t for t, s in load_tasks().items() if s.split == "held-in")


def _metrics(path: Path) -> dict:
    return json.loads((path / "metrics.json").read_text())


def test_held_out_tiny_t5(capsys, sample_pack, ibench_cache, tmp_path):
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--split", "held-out",
                             "--data-root", str(sample_pack), "--output", str(tmp_path),
                             "--run-name", "t5")
    assert code == 0, err
    metrics = _metrics(tmp_path / "t5")["tasks"]
    assert list(metrics) == list(held_out_order())
    tasks = load_tasks()
    for task_id, entry in metrics.items():
        assert entry["metric"] == tasks[task_id].metric
        assert entry["n"] == 4 and entry["failures"] == {}, task_id
        low, high = entry["ci95"]
        assert low <= entry["value"] <= high
    assert "Zero-shot held-out leaderboard" in out and "InstructBLIP (FlanT5XL)" in out
    assert metrics["visdial"]["interval_resamples"] == "clusters"  # whole dialogs
    assert metrics["gqa"]["interval_resamples"] == "samples"
    lines = (tmp_path / "t5" / "predictions" / "msvd_qa.jsonl").read_text().splitlines()
    assert all(len(json.loads(line)["frames"]) == 4 for line in lines)
    manifest = json.loads((tmp_path / "t5" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["model_info"]["architecture"] == (
        "encoder-decoder")


def test_held_in_tiny_vicuna(capsys, sample_pack, ibench_cache, tmp_path):
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--split", "held-in",
                           "--data-root", str(sample_pack), "--output", str(tmp_path),
                           "--run-name", "v", "--limit", "2")
    assert code == 0, err
    metrics = _metrics(tmp_path / "v")["tasks"]
    assert sorted(metrics) == HELD_IN
    assert all(entry["n"] == 2 for entry in metrics.values())


def _eval_cmd(pack: Path, out: Path, name: str, batch: str) -> list[str]:
    return [sys.executable, "-m", "ibench", "eval", "--model", "tiny-vicuna", "--tasks",
            "gqa,vsr,msrvtt_qa", "--templates", "3", "--data-root", str(pack),
            "--output", str(out), "--run-name", name, "--batch-size", batch]


@pytest.fixture(scope="module")
def whole_run(sample_pack, ibench_cache, tmp_path_factory) -> Path:
    """An uninterrupted run (batch size 8) to compare interrupted ones against."""
    out = tmp_path_factory.mktemp("whole")
    env = {**os.environ, "IBENCH_CACHE": str(ibench_cache)}
    whole = subprocess.run(_eval_cmd(sample_pack, out, "whole", "8"), env=env,
                           capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    return out / "whole"


def _start_and_wait(cmd: list[str], env: dict, watch: Path) -> subprocess.Popen:
    """Start a run and return once `watch` has 3 prediction lines (the run still going)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if watch.exists() and watch.read_text().count("\n") >= 3:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    return proc


def test_ctrl_c_stops_cleanly_and_resumes(sample_pack, ibench_cache, whole_run, tmp_path):
    env = {**os.environ, "IBENCH_CACHE": str(ibench_cache)}
    cmd = _eval_cmd(sample_pack, tmp_path, "stopped", "1")
    proc = _start_and_wait(cmd, env, tmp_path / "stopped" / "predictions" / "gqa.jsonl")
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopping after the batch in flight" in err and "run the same command" in err
    manifest = json.loads((tmp_path / "stopped" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "stopped" / "metrics.json").read_bytes() == (
        whole_run / "metrics.json").read_bytes()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_cleanly_and_resume(sample_pack, ibench_cache, whole_run,
                                                     tmp_path, sig):
    # what SLURM and Kubernetes send before they kill a job: treated as Ctrl-C
    env = {**os.environ, "IBENCH_CACHE": str(ibench_cache)}
    cmd = _eval_cmd(sample_pack, tmp_path, "term", "1")
    gqa = tmp_path / "term" / "predictions" / "gqa.jsonl"
    proc = _start_and_wait(cmd, env, gqa)
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    name = signal.Signals(sig).name
    assert f"{name}: stopping after the batch in flight" in err
    assert f"stopped by {name}: finished batches are saved" in err and "Traceback" not in err
    manifest = json.loads((tmp_path / "term" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["sessions"][-1]["signal"] == name
    saved = [json.loads(x) for x in gqa.read_text().splitlines()]  # the batch in flight too
    assert len(saved) >= 3 and all(r["status"] == "ok" for r in saved)
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "term" / "metrics.json").read_bytes() == (
        whole_run / "metrics.json").read_bytes()


def test_kill_and_resume_equals_uninterrupted(sample_pack, ibench_cache, whole_run, tmp_path):
    env = {**os.environ, "IBENCH_CACHE": str(ibench_cache)}
    crashed = tmp_path / "crashed"
    gqa = crashed / "predictions" / "gqa.jsonl"
    proc = _start_and_wait(_eval_cmd(sample_pack, tmp_path, "crashed", "1"), env, gqa)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert json.loads((crashed / "manifest.json").read_text())["status"] == "running"
    done = gqa.read_text().count("\n")
    assert 3 <= done < 12  # 4 samples x 3 templates
    with gqa.open("a") as handle:  # a write torn by the crash
        handle.write('{"task": "gqa", "sample_id": "x", "templ')
    resumed = subprocess.run(_eval_cmd(sample_pack, tmp_path, "crashed", "1"), env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"gqa: {done} requests already done" in resumed.stderr
    assert (crashed / "metrics.json").read_bytes() == (whole_run / "metrics.json").read_bytes()
    lines = [json.loads(x) for x in gqa.read_text().splitlines()]
    assert len(lines) == 12 and len({(r["sample_id"], r["template_id"]) for r in lines}) == 12


def test_compare_two_runs_with_different_templates(capsys, sample_pack, ibench_cache, tmp_path):
    for name, templates in (("a", "eval"), ("b", "2")):
        code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--tasks", "gqa,vsr",
                               "--templates", templates, "--data-root", str(sample_pack),
                               "--output", str(tmp_path), "--run-name", name)
        assert code == 0, err
    data = run_json(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json")
    rows = {(r["task"], r["template_b"]): r for r in data["rows"]}
    # A has one template, B two: B's templates are paired with A's where their ids match
    assert set(rows) <= {("gqa", "vqa-01"), ("gqa", "vqa-02"), ("vsr", "true_false-01"),
                         ("vsr", "true_false-02")}
    vsr = rows[("vsr", "true_false-01")]
    assert vsr["low"] <= vsr["difference"] <= vsr["high"] and vsr["n"] == 4
    assert any(d["setting"] == "templates" for d in data["manifest_diff"])
    code, out, _ = run_cli(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0 and "95% interval" in out
    for fmt in ("table", "md", "csv", "json", "latex"):
        code, out, err = run_cli(capsys, "leaderboard", str(tmp_path / "a"), "--format", fmt)
        assert code == 0 and "vsr" in out, (fmt, err)


def test_resume_with_other_settings_is_refused(capsys, sample_pack, ibench_cache, tmp_path):
    args = ["eval", "--model", "tiny-t5", "--tasks", "vsr", "--data-root", str(sample_pack),
            "--output", str(tmp_path), "--run-name", "r"]
    assert run_cli(capsys, *args)[0] == 0
    code, _, err = run_cli(capsys, *args[:-2], "--run-name", "r", "--templates", "all")
    assert code == 1 and "cannot be resumed" in err and "templates: stored 'eval', now 'all'" in err


@pytest.mark.parametrize("bad", [["--templates", "vqa-99"], ["--tasks", "gqq"]])
def test_bad_eval_arguments(capsys, sample_pack, bad, tmp_path):
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-t5", "--data-root", str(sample_pack),
                           "--output", str(tmp_path), "--tasks", "gqa", *bad)
    assert code in (1, 2) and err
