"""Turning model outputs into prediction lines (pure functions).

Rank mode keeps every candidate score when there are at most FULL_SCORES_MAX candidates
(choices, the 100 Visual Dialog options, verbalizers) and the top TOP_K otherwise (a
1,500-answer vocabulary would make the predictions file enormous).
"""

from __future__ import annotations

import math
from typing import Any

from ibench.protocol.taskspec import TaskSpec
from ibench.records import Request

FULL_SCORES_MAX = 100
TOP_K = 10


def logsumexp(values: list[float]) -> float:
    """log(sum(exp(v))) computed stably."""
    top = max(values)
    if math.isinf(top):
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def base_record(request: Request) -> dict[str, Any]:
    """The fields every prediction line carries."""
    return {
        "task": request.task,
        "sample_id": request.sample_id,
        "template_id": request.template_id,
        "prompt": request.prompt,
    }


def generate_record(request: Request, text: str) -> dict[str, Any]:
    """The line for a generated answer."""
    return {**base_record(request), "prediction": text, "status": "ok", "reason": None}


def rank_record(task: TaskSpec, request: Request, scores: list[float]) -> dict[str, Any]:
    """The line for ranked candidates: argmax, or the verbalizer classes' logsumexp."""
    candidates = request.candidates or ()
    if len(scores) != len(candidates):
        raise ValueError(
            f"model returned {len(scores)} scores for {len(candidates)} candidates "
            f"(task {task.id}, sample {request.sample_id})"
        )
    bad = [i for i, value in enumerate(scores) if math.isnan(value) or value == math.inf]
    if bad:  # e.g. an fp16 overflow: never a confident prediction
        return failed_record(request, "nan_score",
                             f"candidate {candidates[bad[0]]!r} scored {scores[bad[0]]}")
    record = base_record(request)
    if task.rank is not None and task.rank.verbalizers is not None:
        n_pos = len(task.rank.verbalizers["positive"])
        positive = logsumexp(scores[:n_pos])
        negative = logsumexp(scores[n_pos:])
        score = positive - negative
        choice = 1 if score > 0 else 0
        record.update(
            prediction=candidates[0] if choice else candidates[n_pos],
            choice=choice,
            score=score,
            scores=scores,
        )
    else:
        # First maximum wins: deterministic under ties.
        choice = max(range(len(scores)), key=lambda i: (scores[i], -i))
        record.update(prediction=candidates[choice], choice=choice)
        if len(scores) <= FULL_SCORES_MAX:
            record["scores"] = scores
        else:
            order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:TOP_K]
            record["top"] = [[candidates[i], scores[i]] for i in order]
    record.update(status="ok", reason=None)
    return record


def failed_record(request: Request, status: str, reason: str) -> dict[str, Any]:
    """The line for a request that failed (media, model), with its reason."""
    return {**base_record(request), "prediction": None, "status": status, "reason": reason}
