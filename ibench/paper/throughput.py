"""Seconds per request by workload, to project a reproduction's GPU time.

`bench/gpu.py --write` measures them on a GPU (random weights of the real shapes, through
ibench's own model code) and writes `$IBENCH_CACHE/throughput.json`; until one is measured, the
shipped defaults are an estimate from each model's size (stated as such wherever shown):
2 x parameters FLOPs per token the language model processes, plus the vision encoder's per
frame, at an assumed 100 TFLOP/s effective (bf16 on an H100-class GPU).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ibench.cache import cache_dir
from ibench.protocol.taskspec import TaskSpec

WORKLOADS = ("short", "caption", "visdial", "vocabulary", "options")

# Tokens the language model processes per request, by workload: a ~72-token prefix (32 query
# tokens, the prompt) then short answers of up to 10 tokens x 5 beams; captions up to 80 x 5;
# 100 Visual Dialog candidates of ~8 tokens; MSRVTT-QA's 1,500 answers through the trie (927
# tokens) after 4 frames' queries; 4 options of ~3 tokens.
TOKENS = {"short": 122, "caption": 472, "visdial": 900, "vocabulary": 1075, "options": 84}
FRAMES = {"vocabulary": 4}
LM_PARAMETERS = {"flan-t5-xl": 3.0e9, "flan-t5-xxl": 11.3e9, "vicuna-7b": 6.7e9,
                 "vicuna-13b": 13.0e9, "blip2-flan-t5-xl": 3.0e9, "blip2-flan-t5-xxl": 11.3e9}
VISION_FLOPS_PER_FRAME = 2 * 1.0e9 * 257  # EVA ViT-g/14 (1B parameters), 257 tokens at 224 px
EFFECTIVE_FLOPS = 1.0e14
# bench/gpu.py measures one language model of each kind; the others scale by size
MEASURED_KIND = {"vicuna-7b": ("vicuna", 1.0), "vicuna-13b": ("vicuna", 13.0 / 6.7),
                 "flan-t5-xl": ("t5", 1.0), "flan-t5-xxl": ("t5", 11.3 / 3.0),
                 "blip2-flan-t5-xl": ("t5", 1.0), "blip2-flan-t5-xxl": ("t5", 11.3 / 3.0)}


def workload(task: TaskSpec) -> str:
    """The timed workload that stands in for a task."""
    if task.mode == "generate":
        long = task.generation_settings("decoder-only").max_new_tokens > 20
        return "caption" if long else "short"
    candidates = task.rank.candidates if task.rank else "options"
    return {"vocabulary": "vocabulary", "options": "visdial"}.get(candidates, "options")


def estimate(alias: str, kind: str) -> float:
    """The shipped default: seconds per request of a workload for a model, from its size."""
    flops = 2 * LM_PARAMETERS[alias] * TOKENS[kind] + VISION_FLOPS_PER_FRAME * FRAMES.get(kind, 1)
    return flops / EFFECTIVE_FLOPS


@dataclass(frozen=True)
class Throughput:
    """Seconds per request by (model kind, workload), and where the figures come from."""

    measured: dict[str, dict[str, float]]  # {"vicuna"|"t5": {workload: s}}, {} for estimates
    source: str

    def seconds(self, alias: str, kind: str) -> float:
        """A request's seconds for a model alias and workload (measured, scaled by size for
        the sizes not measured; else the estimate)."""
        measured_kind, scale = MEASURED_KIND[alias]
        value = self.measured.get(measured_kind, {}).get(kind)
        return value * scale if isinstance(value, (int, float)) else estimate(alias, kind)


def throughput_file() -> Path:
    """Where bench/gpu.py --write puts its figures: $IBENCH_THROUGHPUT, else the cache."""
    given = os.environ.get("IBENCH_THROUGHPUT")
    return Path(given) if given else cache_dir() / "throughput.json"


def load_throughput(path: Path | None = None) -> Throughput:
    """The measured figures when a file is there, else the shipped estimate."""
    path = path or throughput_file()
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Throughput({}, f"estimated (no measurement in {path}; run bench/gpu.py --write "
                              f"on the GPU): 2 x parameters FLOPs per token at "
                              f"{EFFECTIVE_FLOPS / 1e12:.0f} TFLOP/s")
    measured = raw.get("seconds_per_request") if isinstance(raw, dict) else None
    if not isinstance(measured, dict):
        return Throughput({}, f"estimated ({path} holds no seconds_per_request)")
    clean = {k: {w: float(v) for w, v in per.items() if isinstance(v, (int, float))}
             for k, per in measured.items() if isinstance(per, dict)}
    return Throughput(clean, f"measured by bench/gpu.py on {raw.get('device', '?')} "
                             f"({raw.get('measured', '?')}, {path})")


def write_throughput(path: Path, device: str, measured_at: str,
                     seconds: dict[str, dict[str, float | None]]) -> None:
    """bench/gpu.py's figures as `paper plan` reads them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: {w: v for w, v in per.items() if v is not None} for k, per in seconds.items()}
    path.write_text(json.dumps({"device": device, "measured": measured_at,
                                "seconds_per_request": clean}, indent=1) + "\n",
                    encoding="utf-8")
