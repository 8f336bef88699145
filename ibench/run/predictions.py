"""Prediction lines: built from model outputs (pure functions), and read back from a run's
prediction files (one line per request, duplicates resolved, process parts merged).

Rank mode keeps every candidate score when there are at most FULL_SCORES_MAX candidates
(choices, the 100 Visual Dialog options, verbalizers) and the top TOP_K otherwise (a
1,500-answer vocabulary would make the predictions file enormous).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ibench.protocol.taskspec import TaskSpec
from ibench.records import Request
from ibench.run.folder import (
    RunDir,
    append_lines,
    read_numbered_lines,
    required_field,
    torn_tail,
)
from ibench.run.schema import PredictionLine

FULL_SCORES_MAX = 100
TOP_K = 10
# Statuses of requests that may succeed when tried again (a fixed file, a transient error).
RETRYABLE = ("media_error", "model_error", "out_of_memory")


def logsumexp(values: list[float]) -> float:
    """log(sum(exp(v))) computed stably."""
    top = max(values)
    if math.isinf(top):
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def generate_line(request: Request, text: str) -> PredictionLine:
    """The line for a generated answer."""
    return PredictionLine(task=request.task, sample_id=request.sample_id,
                          template_id=request.template_id, prompt=request.prompt,
                          prediction=text, status="ok", reason=None)


def failed_line(request: Request, status: str, reason: str) -> PredictionLine:
    """The line for a request that failed (media, model), with its reason."""
    return PredictionLine(task=request.task, sample_id=request.sample_id,
                          template_id=request.template_id, prompt=request.prompt,
                          prediction=None, status=status, reason=reason)


def rank_line(task: TaskSpec, request: Request, scores: list[float]) -> PredictionLine:
    """The line for ranked candidates: argmax, or the verbalizer classes' logsumexp."""
    candidates = request.candidates or ()
    if len(scores) != len(candidates):
        raise ValueError(
            f"model returned {len(scores)} scores for {len(candidates)} candidates "
            f"(task {task.id}, sample {request.sample_id})"
        )
    bad = [i for i, value in enumerate(scores) if math.isnan(value) or value == math.inf]
    if bad:  # e.g. an fp16 overflow: never a confident prediction
        return failed_line(request, "nan_score",
                           f"candidate {candidates[bad[0]]!r} scored {scores[bad[0]]}")
    line = generate_line(request, "")
    if task.rank is not None and task.rank.verbalizers is not None:
        n_pos = len(task.rank.verbalizers["positive"])
        score = logsumexp(scores[:n_pos]) - logsumexp(scores[n_pos:])
        choice = 1 if score > 0 else 0
        line.prediction = candidates[0] if choice else candidates[n_pos]
        line.choice, line.score, line.scores = choice, score, scores
        return line
    # First maximum wins: deterministic under ties.
    choice = max(range(len(scores)), key=lambda i: (scores[i], -i))
    line.prediction, line.choice = candidates[choice], choice
    if len(scores) <= FULL_SCORES_MAX:
        line.scores = scores
    else:
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:TOP_K]
        line.top = [[candidates[i], scores[i]] for i in order]
    return line


def load_predictions(run: RunDir, task: str, light: bool = False,
                     paths: list[Path] | None = None) -> dict[tuple[str, str], PredictionLine]:
    """All prediction lines of a task across process parts (or in `paths`), keyed by (sample
    id, template id).

    When a key occurs twice (a batch redone after a crash, a failure retried on resume), an
    "ok" line beats a failure and otherwise the later line wins. `light` leaves out what
    scoring never reads (prompts, reasons), to keep memory small on large tasks.
    """
    out: dict[tuple[str, str], PredictionLine] = {}
    for path in run.prediction_files(task) if paths is None else paths:
        if paths is not None and not path.exists():
            continue
        for number, record in read_numbered_lines(path):
            line = PredictionLine.from_json(record, path, number, light=light)
            kept = out.get(line.key)
            if not line.ok and kept is not None and kept.ok:
                continue
            out[line.key] = line
    return out


def compact_predictions(path: Path) -> int:
    """Rewrite a prediction file with one line per (sample, template) when some occur twice
    (e.g. two writers on one run before runs were locked), keeping the line load_predictions
    keeps; atomic (temp file, fsync, rename). Returns how many lines were dropped."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    total = 0
    for number, record in read_numbered_lines(path):
        total += 1
        key = (str(required_field(record, "sample_id", path, number)),
               str(required_field(record, "template_id", path, number)))
        status = str(required_field(record, "status", path, number))
        if status != "ok" and best.get(key, (0, ""))[1] == "ok":
            continue
        best[key] = (number, status)
    if len(best) == total:
        return 0
    keep = {number for number, _ in best.values()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    with path.open("rb") as source, tmp.open("xb") as out:
        for number, raw in enumerate(source, 1):
            if number in keep:
                out.write(raw)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return total - len(keep)


def merge_parts(run: RunDir, task: str, order: Callable[[], list[str]]) -> None:
    """Fold the per-process parts of a task into predictions/TASK.jsonl (process 0, at the end).

    Lines are deduplicated by (sample, template), last wins, and sorted by sample order then
    template, so the file is the same whatever the number of processes. Written atomically
    before the parts are removed; a crash in between leaves duplicates that reading dedups.
    """
    paths = run.prediction_files(task)
    if not any(".part-" in p.name for p in paths):
        return
    lines = load_predictions(run, task)
    position = {sid: i for i, sid in enumerate(order())}
    keys = sorted(lines, key=lambda k: (position.get(k[0], len(position)), k[0], k[1]))
    target = run.predictions(task)
    tmp = target.with_suffix(".merge.tmp")
    tmp.unlink(missing_ok=True)
    append_lines(tmp, (lines[k].to_json() for k in keys))
    os.replace(tmp, target)
    for path in paths:
        if ".part-" in path.name:
            path.unlink()


def lost_lines(run: RunDir, tasks: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """What a run's prediction files lost since its manifest counted them ({task: its manifest
    entry}): a torn last line (a crash or a copy cut short), or fewer requests than counted;
    each (task, what) with the file and line. [] when every line the manifest counts is
    there."""
    out = []
    for task, entry in tasks.items():
        if not isinstance(entry, dict) or entry.get("status") != "ran":
            continue
        torn = [(path, line) for path in run.prediction_files(task)
                if (line := torn_tail(path)) is not None]
        out += [(task, f"{path}: line {line} is torn (it has no end): its request is lost")
                for path, line in torn]
        if torn:
            continue
        counted = sum(v for v in (entry.get("counts") or {}).values() if isinstance(v, int))
        found = sum(_whole_lines(path) for path in run.prediction_files(task))
        if found < counted:
            out.append((task, f"{run.predictions(task)}: {found} lines, the manifest counts "
                              f"{counted} requests: {counted - found} lost"))
    return out


def _whole_lines(path: Path) -> int:
    """The lines of a file that end with a line break (fast: bytes counted, nothing parsed)."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
