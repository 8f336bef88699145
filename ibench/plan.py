"""Turning a task's samples into requests: the seeded subset, templates, candidates.

Pure functions over records: no model, no media, no files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ibench.records import Request, Sample
from ibench.tasks import TaskSpec
from ibench.templates import Template, TemplateError, render


@dataclass(frozen=True)
class PlanFailure:
    """A (sample, template) pair that cannot become a request, with its reason."""

    sample_id: str
    template_id: str
    status: str
    reason: str


def subset_key(seed: int, task_id: str, sample_id: str) -> str:
    """Sort key of the seeded subset: a hash of the seed, task and sample id.

    Independent of the model and of the order the reader yields samples in, so `--limit N`
    picks the same samples for every model and every run with the same seed.
    """
    return hashlib.sha256(f"{seed}\0{task_id}\0{sample_id}".encode()).hexdigest()


def seeded_subset(samples: Iterable[Sample], task_id: str, limit: int | None,
                  seed: int) -> list[Sample]:
    """All samples (reader order) or the `limit` samples with the smallest subset keys."""
    samples = list(samples)
    if limit is None or limit >= len(samples):
        return samples
    keep = sorted(samples, key=lambda s: subset_key(seed, task_id, s.id))[:limit]
    chosen = {s.id for s in keep}
    return [s for s in samples if s.id in chosen]


def candidates_for(task: TaskSpec, sample: Sample) -> tuple[str, ...] | None:
    """The texts to rank for a sample: its own candidates, or the task's verbalizers."""
    if task.mode != "rank" or task.rank is None:
        return None
    if task.rank.verbalizers is not None:
        return task.rank.verbalizers["positive"] + task.rank.verbalizers["negative"]
    return sample.candidates


def plan_requests(
    task: TaskSpec, samples: Iterable[Sample], templates: list[Template]
) -> tuple[list[Request], list[PlanFailure]]:
    """One request per (sample, template); a sample that cannot be rendered becomes a failure."""
    requests: list[Request] = []
    failures: list[PlanFailure] = []
    for sample in samples:
        candidates = candidates_for(task, sample)
        for template in templates:
            if task.mode == "rank" and not candidates:
                failures.append(PlanFailure(sample.id, template.id, "no_candidates",
                                            "the sample has no candidates to rank"))
                continue
            try:
                prompt = render(template, sample.fields)
            except TemplateError as exc:
                failures.append(PlanFailure(sample.id, template.id, "render_error", str(exc)))
                continue
            requests.append(
                Request(
                    task=task.id,
                    sample_id=sample.id,
                    template_id=template.id,
                    prompt=prompt,
                    mode=task.mode,  # type: ignore[arg-type]
                    media=sample.media,
                    candidates=candidates,
                )
            )
    return requests, failures


def shard(requests: list[Request], rank: int, world: int) -> list[Request]:
    """The requests process `rank` of `world` runs: every world-th, deterministic."""
    return requests[rank::world]


def failure_record(task: str, failure: PlanFailure) -> dict[str, Any]:
    """The prediction line for a request that never reached the model."""
    return {
        "task": task,
        "sample_id": failure.sample_id,
        "template_id": failure.template_id,
        "prompt": None,
        "prediction": None,
        "status": failure.status,
        "reason": failure.reason,
    }
