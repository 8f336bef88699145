"""One run folder, one writer (issue 15): run names stay inside --output, an exclusive lock on
the run folder, a full or read-only disk ends in one line with the run marked failed and a
resume equal to an uninterrupted run, host allocation failures count as out of memory."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

from ibench.records import Request
from ibench.run.folder import read_lines


def _eval(capsys, pack: Path, out: Path, name: str, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "gqa", "--templates",
                   "2", "--data-root", str(pack), "--output", str(out), "--run-name", name,
                   "--batch-size", "1", *extra)


@pytest.mark.parametrize("name", ["../escaped-run", "/tmp/ibench-absolute-run", ".", "..",
                                  "a/b", "x\x1b]0;pwned\x07", "with space", "-starts-with-dash"])
def test_a_run_name_that_is_not_one_safe_folder_name_is_refused(capsys, tmp_path, name):
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "gqa",
                           "--output", str(out), "--run-name", name)
    assert code == 1 and "is refused: a run name is one folder name" in err
    assert "\x1b" not in err.replace("\\x1b", "")  # the name is shown escaped (repr)
    assert not (tmp_path / "escaped-run").exists()
    assert not Path("/tmp/ibench-absolute-run").exists()
    assert not (out / "manifest.json").exists() and not (out / "a").exists()


_HOLD = """
import sys, time
from pathlib import Path
from ibench.run.lock import RunLock
lock = RunLock(Path(sys.argv[1])).acquire()
print("locked", flush=True)
time.sleep(600)
"""


def test_a_held_run_is_refused_and_kill_9_of_the_holder_frees_it_at_once(
        capsys, sample_pack, ibench_cache, tmp_path):
    run = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(run)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = _eval(capsys, sample_pack, tmp_path, "held")
        assert code == 1
        said = " ".join(err.split())
        assert f"run {run} is in use by process {holder.pid}" in said
        assert "another --run-name" in said
        assert not (run / "manifest.json").exists()  # refused before anything was written
    finally:
        holder.kill()  # kill -9: the kernel drops the lock
        holder.wait()
    code, _, err = _eval(capsys, sample_pack, tmp_path, "held")
    assert code == 0, err
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"


def test_two_evals_on_one_run_folder_one_refused_no_duplicated_line(sample_pack, ibench_cache,
                                                                    tmp_path):
    env = {**os.environ, "IBENCH_CACHE": str(ibench_cache)}
    cmd = [sys.executable, "-m", "ibench", "eval", "--model", "tiny-vicuna", "--tasks",
           "gqa,vsr", "--templates", "3", "--data-root", str(sample_pack), "--output",
           str(tmp_path), "--run-name", "shared", "--batch-size", "1"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    refusal = next(err for code, err in results if code == 1)
    assert "is in use by process" in " ".join(refusal.split())
    for task in ("gqa", "vsr"):
        keys = [(r["sample_id"], r["template_id"])
                for r in read_lines(tmp_path / "shared" / "predictions" / f"{task}.jsonl")]
        assert len(keys) == len(set(keys)) == 12  # 4 samples x 3 templates, each once


def test_a_full_disk_is_one_line_the_run_failed_and_resume_equals_a_whole_run(
        capsys, sample_pack, ibench_cache, tmp_path, monkeypatch):
    import ibench.run.execute as execute

    code, _, err = _eval(capsys, sample_pack, tmp_path, "whole")
    assert code == 0, err
    real = execute.append_lines
    calls = []

    def fill_up(path, records):
        calls.append(path)
        if len(calls) == 4:  # the 4th batch: half a line lands, then the disk is full
            with open(path, "a", encoding="utf-8") as handle:
                handle.write('{"task": "gqa", "sample_id": "torn')
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, records)

    monkeypatch.setattr(execute, "append_lines", fill_up)
    code, _, err = _eval(capsys, sample_pack, tmp_path, "full")
    assert code == 1
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "is full (No space left on device)" in lines[0]
    assert "run the same command to resume" in lines[0] and "Traceback" not in err
    run = tmp_path / "full"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "No space left on device" in manifest["sessions"][-1]["error"]
    text = (run / "predictions" / "gqa.jsonl").read_text()
    assert text.endswith("\n") and "torn" not in text  # the torn line was cut
    assert not (run / ".reserve").exists()
    monkeypatch.setattr(execute, "append_lines", real)  # space freed
    code, _, err = _eval(capsys, sample_pack, tmp_path, "full")
    assert code == 0, err
    assert (run / "metrics.json").read_bytes() == (tmp_path / "whole" / "metrics.json"
                                                   ).read_bytes()


def test_a_read_only_output_mid_run_is_one_line(capsys, sample_pack, ibench_cache, tmp_path,
                                                monkeypatch):
    import ibench.run.execute as execute

    def read_only(path, records):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(execute, "append_lines", read_only)
    code, _, err = _eval(capsys, sample_pack, tmp_path, "ro")
    assert code == 1 and "is read-only" in err and "Traceback" not in err


def test_a_full_cache_leaves_no_partial_tiny_model(tmp_path, monkeypatch):
    import ibench.models.tiny.checkpoints as tiny
    from ibench.models.base import ModelLoadError

    def full(kind, out):
        (Path(out) / "model.safetensors").write_bytes(b"\0" * 100)  # a partial write
        # what safetensors raises when the disk fills
        raise RuntimeError('Error while serializing: IoError(Os { code: 28, kind: StorageFull,'
                           ' message: "No space left on device" })')

    monkeypatch.setattr(tiny, "make_tiny", full)
    with pytest.raises(ModelLoadError, match="disk is full.*IBENCH_CACHE"):
        tiny.ensure_tiny("vicuna", tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the entry nor its temporary folder


class _HostOom:
    """Fails with the host allocation errors of an address-space limit above batch size 1."""

    architecture = "decoder-only"

    def __init__(self, error: BaseException) -> None:
        self.error, self.batches = error, []

    def generate(self, inputs, settings):
        self.batches.append(len(inputs))
        if len(inputs) > 1:
            raise self.error
        return ["yes" for _ in inputs]


@pytest.mark.parametrize("error", [MemoryError(),
                                   RuntimeError("could not create a primitive")])
def test_host_allocation_failures_halve_the_batch(tmp_path, monkeypatch, error):
    import ibench.run.execute as execute
    from ibench.protocol.suite import load_tasks
    from ibench.run.execute import TaskRunner

    monkeypatch.setattr(execute, "load_image", lambda path: object())
    model = _HostOom(error)
    runner = TaskRunner(load_tasks()["gqa"], model, tmp_path / "p.jsonl", batch_size=4,
                        frames=None)
    requests = [Request("gqa", f"q{i}", "vqa-05", f"Question: q{i}? Short answer:",
                        "generate", Path("/nowhere.jpg")) for i in range(4)]
    counts = runner.run(requests)
    assert counts == {"ok": 4} and runner.current == 1 and runner.oom_events >= 1


class _AlwaysOom:
    architecture = "decoder-only"

    def generate(self, inputs, settings):
        raise MemoryError()

    def info(self):
        return {"model_id": "stub", "dtype": "fp32", "device": "cpu",
                "architecture": "decoder-only"}


def test_a_task_whose_requests_all_failed_exits_non_zero(capsys, sample_pack, tmp_path,
                                                         monkeypatch):
    import ibench.models as models

    monkeypatch.setattr(models, "load_model", lambda name, **kw: _AlwaysOom())
    code, _, err = _eval(capsys, sample_pack, tmp_path, "oom")
    assert code == 1
    assert "gqa: every request of this session failed (8 out_of_memory)" in " ".join(err.split())


def test_sigterm_and_sighup_exit_as_the_shell_expects(capsys):
    from ibench import cli

    for sig, code in ((signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)):
        with pytest.raises(SystemExit) as stop:
            cli._stopped(sig)
        assert stop.value.code == code
    err = capsys.readouterr().err
    assert "stopped by SIGTERM" in err and "stopped by SIGHUP" in err and "interrupted" in err


def test_missing_java_is_said_before_the_model_loads(capsys, tmp_path, monkeypatch):
    import shutil

    import ibench.models as models

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: None if cmd == "java" else
                        real(cmd, *a, **k))
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    code, _, err = run_cli(capsys, "eval", "--model", "tiny-vicuna", "--tasks", "nocaps,gqa",
                           "--output", str(tmp_path), "--run-name", "nojava")
    said = " ".join(err.split())
    assert code == 1 and "nocaps are scored with CIDEr" in said and "java" in said
    assert said.count("error:") == 1


def test_rerunning_a_complete_run_prints_its_results_without_loading_the_model(
        capsys, sample_pack, ibench_cache, tmp_path, monkeypatch):
    import ibench.models as models

    code, first, err = _eval(capsys, sample_pack, tmp_path, "done")
    assert code == 0, err
    before = (tmp_path / "done" / "manifest.json").read_text()
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    code, again, err = _eval(capsys, sample_pack, tmp_path, "done")
    assert code == 0, err
    assert "is already complete with these settings" in " ".join(err.split())
    assert "Results:" in again and "gqa" in again and "━" not in err  # no progress bar
    assert (tmp_path / "done" / "manifest.json").read_text() == before  # nothing re-run


def test_a_resume_removes_lines_duplicated_by_an_earlier_second_writer(
        capsys, sample_pack, ibench_cache, tmp_path):
    code, _, err = _eval(capsys, sample_pack, tmp_path, "dup")
    assert code == 0, err
    path = tmp_path / "dup" / "predictions" / "gqa.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines + lines[:3]))  # what two unlocked writers left
    manifest = tmp_path / "dup" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["status"] = "interrupted"  # so that the command runs again instead of printing
    manifest.write_text(json.dumps(data))
    code, _, err = _eval(capsys, sample_pack, tmp_path, "dup")
    assert code == 0, err
    assert "3 duplicated prediction lines removed" in " ".join(err.split())
    assert sorted(path.read_text().splitlines(keepends=True)) == sorted(lines)  # each once
