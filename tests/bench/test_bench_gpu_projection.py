"""bench/gpu.py's held-out projection: the right tasks, sizes and workloads, and its sums."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import models_fixtures  # noqa: F401 - sets HF_HUB_OFFLINE before transformers loads

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu_projection", BENCH / "gpu.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# The held-out test sets' sizes (protocol.md section 4, as the task files' eval_split.size)
# and the workload each one's requests are timed with in bench/gpu.py, typed by hand.
PLAN = {
    "nocaps": (4500, "caption"), "flickr30k": (1000, "caption"), "gqa": (12578, "short"),
    "vsr": (1222, "options"), "iconqa": (6316, "options"), "textvqa": (5000, "short"),
    "visdial": (20640, "visdial"), "hateful_memes": (500, "options"), "vizwiz": (4319, "short"),
    "scienceqa_img": (2017, "options"), "msvd_qa": (13157, "vocabulary"),
    "msrvtt_qa": (72821, "vocabulary"), "ivqa": (2000, "short"),
}


def test_held_out_plan_maps_every_task_to_its_workload():
    plan = {tid: (n, w) for tid, n, w in _gpu().held_out_plan()}
    assert plan == PLAN


def test_projection_is_requests_times_seconds_per_request():
    times = {"short": 0.36, "caption": 0.72, "visdial": 0.036, "vocabulary": 0.36,
             "options": None}
    out = _gpu().projection("X", times)
    # gqa: 12,578 x 0.36 s = 1.2578 h; msrvtt_qa: 72,821 x 0.36 s = 7.2821 h
    assert "gqa" in out and "1.26 h" in out.split("gqa")[1].splitlines()[0]
    assert "7.28 h" in out.split("msrvtt_qa")[1].splitlines()[0]
    # short: (12,578 + 2,000 + 5,000 + 4,319) x 0.36 = 8,602.92 s; caption: (4,500 + 1,000)
    # x 0.72 = 3,960 s; visdial: 20,640 x 0.036 = 743.04 s; vocabulary: (72,821 + 13,157)
    # x 0.36 = 30,952.08 s; in all 44,258.04 s = 12.294 h (the four options tasks unmeasured)
    assert "total 12.29 h" in out
    assert "without hateful_memes, iconqa, scienceqa_img, vsr" in out
