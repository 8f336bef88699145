"""bench/gpu.py's held-out projection: the right tasks, sizes and workloads, and its sums."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import models_fixtures  # noqa: F401 - sets HF_HUB_OFFLINE before transformers loads

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu_projection", BENCH / "gpu.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_held_out_plan_maps_every_task_to_its_workload():
    plan = {tid: (n, w) for tid, n, w in _gpu().held_out_plan()}
    assert len(plan) == 13  # the paper's held-out datasets
    assert plan["msrvtt_qa"] == (72821, "vocabulary") and plan["msvd_qa"][1] == "vocabulary"
    assert plan["visdial"] == (20640, "visdial")
    assert plan["nocaps"][1] == plan["flickr30k"][1] == "caption"
    assert plan["gqa"] == (12578, "short") and plan["ivqa"][1] == "short"
    assert {plan[t][1] for t in ("scienceqa_img", "iconqa", "hateful_memes", "vsr")} == {"options"}


def test_projection_is_requests_times_seconds_per_request():
    gpu = _gpu()
    times = {"short": 0.36, "caption": 0.72, "visdial": 0.036, "vocabulary": 0.36,
             "options": None}
    out = gpu.projection("X", times)
    # gqa: 12,578 x 0.36 s = 1.2578 h; msrvtt_qa: 72,821 x 0.36 s = 7.2821 h
    assert "gqa" in out and "1.26 h" in out.split("gqa")[1].splitlines()[0]
    assert "7.28 h" in out.split("msrvtt_qa")[1].splitlines()[0]
    expected = sum(n * times[w] for _, n, w in gpu.held_out_plan() if times[w] is not None)
    assert f"total {expected / 3600:.2f} h" in out
    assert "without hateful_memes, iconqa, scienceqa_img, vsr" in out
