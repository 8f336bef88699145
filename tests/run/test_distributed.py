"""torchrun with 2 gloo processes on CPU: same metrics as 1 process, and resume across a
different number of processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TASKS = "gqa,vsr,msrvtt_qa,visdial"


def _eval(pack: Path, out: Path, name: str, procs: int, cache: Path) -> subprocess.CompletedProcess:
    args = ["-m", "ibench", "eval", "--model", "tiny-vicuna", "--tasks", TASKS, "--data-root",
            str(pack), "--output", str(out), "--run-name", name, "--batch-size", "3"]
    if procs > 1:
        args = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs),
                *args]
    env = {**os.environ, "IBENCH_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=600)


def test_two_processes_equal_one_and_resume_across_counts(sample_pack, tmp_path):
    cache = tmp_path / "fresh-cache"  # the 2-process run builds tiny-vicuna itself
    two = _eval(sample_pack, tmp_path, "two", 2, cache)
    assert two.returncode == 0, two.stderr
    one = _eval(sample_pack, tmp_path, "one", 1, cache)
    assert one.returncode == 0, one.stderr
    metrics_one = (tmp_path / "one" / "metrics.json").read_bytes()
    assert (tmp_path / "two" / "metrics.json").read_bytes() == metrics_one
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["world_size"] == 2
    predictions = sorted(p.name for p in (tmp_path / "two" / "predictions").iterdir())
    assert predictions == sorted(f"{t}.jsonl" for t in TASKS.split(","))  # parts merged

    # A 1-process run interrupted half way through, finished by 2 processes.
    gqa = tmp_path / "one" / "predictions" / "gqa.jsonl"
    lines = gqa.read_text().splitlines(keepends=True)
    gqa.write_text("".join(lines[: len(lines) // 2]))
    (tmp_path / "one" / "metrics.json").unlink()
    again = _eval(sample_pack, tmp_path, "one", 2, cache)
    assert again.returncode == 0, again.stderr
    assert f"gqa: {len(lines) // 2} requests already done" in again.stderr
    assert (tmp_path / "one" / "metrics.json").read_bytes() == metrics_one


def test_each_torchrun_process_gets_its_own_gpu():
    from ibench.run.dist import ProcessGroup

    group = ProcessGroup(rank=3, world=4, local_rank=1)
    assert group.device("cuda") == "cuda:1"
    assert group.device("cpu") == "cpu" and group.device("cuda:0") == "cuda:0"
    assert ProcessGroup().device("cuda") == "cuda"


def test_a_collective_error_after_a_stop_is_that_stop():
    # Under torchrun a process may still be in the next task's broadcast when its peer, which
    # stopped at its own batch boundary, has left: the backend's error is the same stop.
    from ibench.run.dist import ProcessGroup
    from ibench.run.evaluate import peer_stopped
    from ibench.run.hooks import EvalHooks

    hooks = EvalHooks()
    peer_gone = RuntimeError("[gloo] Connection closed by peer")
    two = ProcessGroup(rank=0, world=2)
    assert peer_stopped(peer_gone, two, hooks) is peer_gone  # no stop asked: a real failure
    hooks.stop = True
    assert isinstance(peer_stopped(peer_gone, two, hooks), KeyboardInterrupt)
    assert peer_stopped(peer_gone, ProcessGroup(), hooks) is peer_gone  # one process: as is
