"""Turning a task's samples into requests: the seeded subset, templates, candidates.

Pure functions over records: no model, no media, no files.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ibench.protocol.candidate_text import EMPTY_CANDIDATE
from ibench.protocol.taskspec import TaskSpec
from ibench.protocol.templates import Template, TemplateError, render
from ibench.records import Request, Sample
from ibench.run.schema import PredictionLine


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


def chosen_ids(samples: Iterable[Sample], task_id: str, limit: int | None,
               seed: int) -> set[str] | None:
    """Ids of the `limit` samples with the smallest subset keys (None: keep every sample).

    Holds at most `limit` keys at a time, whatever the size of the dataset.
    """
    if limit is None:
        return None
    best = heapq.nsmallest(limit, ((subset_key(seed, task_id, s.id), s.id) for s in samples))
    return {sample_id for _, sample_id in best}


def candidates_for(task: TaskSpec, sample: Sample) -> tuple[str, ...] | None:
    """The texts to rank for a sample: its own candidates, or the task's verbalizers."""
    if task.mode != "rank" or task.rank is None:
        return None
    if task.rank.verbalizers is not None:
        return task.rank.verbalizers["positive"] + task.rank.verbalizers["negative"]
    return sample.candidates


PLAN_FAILURES = ("no_candidates", "render_error", "bad_record")


def plan_items(
    task: TaskSpec, samples: Iterable[Sample], templates: list[Template]
) -> Iterator[Request | PlanFailure]:
    """One request per (sample, template), lazily; a pair that cannot be rendered (or a rank
    sample without candidates) is a PlanFailure instead."""
    for sample in samples:
        if sample.failure is not None:  # a bad record: one failure line per template
            for template in templates:
                yield PlanFailure(sample.id, template.id, "bad_record", str(sample.failure))
            continue
        candidates = candidates_for(task, sample)
        for template in templates:
            if task.mode == "rank" and not candidates:
                yield PlanFailure(sample.id, template.id, "no_candidates",
                                  "the sample has no candidates to rank")
                continue
            if candidates and "" in candidates:  # the readers refuse these; any other source
                yield PlanFailure(sample.id, template.id, "bad_record",
                                  f"candidate #{candidates.index('')} {EMPTY_CANDIDATE}")
                continue
            try:
                prompt = render(template, sample.fields)
            except TemplateError as exc:
                yield PlanFailure(sample.id, template.id, "render_error", str(exc))
                continue
            yield Request(
                task=task.id,
                sample_id=sample.id,
                template_id=template.id,
                prompt=prompt,
                mode=task.mode,  # type: ignore[arg-type]
                media=sample.media,
                candidates=candidates,
                clip=sample.clip,
                media_row=sample.media_row,
            )


def failure_line(task: str, failure: PlanFailure) -> PredictionLine:
    """The prediction line for a request that never reached the model."""
    return PredictionLine(task=task, sample_id=failure.sample_id,
                          template_id=failure.template_id, prompt=None, prediction=None,
                          status=failure.status, reason=failure.reason)
