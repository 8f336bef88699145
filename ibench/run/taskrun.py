"""One task of a run: a checking pass over its data (references written, requests counted), then
its requests not yet done, grouped by media item, through the model."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ibench.data import DataError, missing_files, read_samples
from ibench.data.source import hub_revision_problem, open_source
from ibench.models.base import Model
from ibench.protocol.prompts import select_templates
from ibench.protocol.taskspec import TaskSpec
from ibench.protocol.templates import Template, TemplateFamily
from ibench.records import Request, Sample
from ibench.run.execute import StrictStop, TaskRunner
from ibench.run.folder import RunDir, RunError, append_lines, repair_torn_tail
from ibench.run.hooks import EvalHooks, TaskOutcome
from ibench.run.plan import PLAN_FAILURES, PlanFailure, chosen_ids, failure_line, plan_items
from ibench.run.predictions import RETRYABLE, compact_predictions, load_predictions
from ibench.run.settings import EvalRequest, Runtime
from ibench.run.shares import Share


def stored_references(task: TaskSpec, sample: Sample, vocabulary: set[str] | None
                      ) -> dict[str, Any]:
    """A sample's references as stored with the run; vocabulary tasks also say whether the
    answer is among the candidates (the coverage reported next to the accuracy)."""
    if vocabulary is not None:
        return {**sample.references, "in_candidates": sample.references.get("answer") in
                vocabulary}
    return sample.references


@dataclass
class TaskScan:
    """What the checking pass over a task's data found (before the model runs)."""

    chosen: set[str] | None
    samples: int = 0
    requests: int = 0
    failures: int = 0
    bad_records: int = 0
    first_bad: str = ""
    share_keys: set[tuple[str, str]] | None = None  # a share's requests (sample, template)


def task_samples(task: TaskSpec, root: Path, strict: bool, chosen: set[str] | None
                 ) -> Iterator[Sample]:
    """The task's samples in reader order, restricted to the seeded subset when there is one."""
    for sample in read_samples(task, root, strict=strict):
        if chosen is None or sample.id in chosen:
            yield sample


def scan_task(task: TaskSpec, request: EvalRequest, strict: bool, templates: list[Template],
              references: Path | None, share: Share | None = None
              ) -> tuple[TaskScan | None, str]:
    """Read the whole task once, streaming: find data problems before any model work, count
    the requests, and write the references (to `references`, when given: process 0).
    Returns (scan, problem)."""
    root = request.data_root
    wrong = hub_revision_problem(task, root, request.hub_revision)
    if wrong:
        return None, wrong
    missing = missing_files(task, root)
    if missing:
        return None, (
            f"{task.id}: data missing: {'; '.join(missing)}. Published at "
            f"{task.data.published_at}. See `ibench data check --data-root {root}`."
        )
    # (a temp name of this process's own: shares of a run write the same references)
    tmp = references.with_suffix(f".{os.getpid()}.tmp") if references is not None else None
    try:
        chosen = chosen_ids(read_samples(task, root, strict=strict), task.id, request.limit,
                            request.seed)
        scan = TaskScan(chosen, share_keys=set() if share is not None else None)
        vocabulary: set[str] | None = None
        if tmp is not None:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
        with open(tmp, "a", encoding="utf-8") if tmp is not None else nullcontext() as handle:
            for sample in task_samples(task, root, strict, chosen):
                if sample.failure is not None:  # a bad record: failure lines, no references
                    scan.bad_records += 1
                    scan.first_bad = scan.first_bad or str(sample.failure)
                    scan.failures += len(templates)
                    continue
                scan.samples += 1
                if task.rank is not None and task.rank.candidates == "vocabulary":
                    if vocabulary is None:  # one shared tuple per task
                        vocabulary = set(sample.candidates or ())
                if handle is not None:
                    line = {"sample_id": sample.id,
                            "references": stored_references(task, sample, vocabulary)}
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                for item in plan_items(task, [sample], templates):
                    if isinstance(item, PlanFailure):
                        if strict:
                            raise StrictStop(f"{task.id} sample {item.sample_id}: {item.reason}")
                        scan.failures += 1
                    else:
                        scan.requests += 1
                        if share is not None and share.takes(item):
                            scan.share_keys.add((item.sample_id, item.template_id))
    except DataError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        return None, f"{task.id}: unusable data: {exc}"
    if scan.samples == 0:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        files = ", ".join(str(p) for p in open_source(task, root).required_paths().values())
        bad = (f"; all {scan.bad_records} records are bad, the first: {scan.first_bad}"
               if scan.bad_records else "")
        return None, (f"{task.id}: no samples in {files} (the protocol's split has "
                      f"{task.eval_size or 'some'}){bad}")
    if tmp is not None and references is not None:
        os.replace(tmp, references)
    return scan, ""


def run_task(task: TaskSpec, model: Model, request: EvalRequest, runtime: Runtime,
             families: dict[str, TemplateFamily], run: RunDir, hooks: EvalHooks) -> TaskOutcome:
    """Run the requests of one task that are not done yet, streaming; append their lines."""
    templates = select_templates(task, families, request.templates)
    group = runtime.group
    scan, problem = scan_task(task, request, runtime.strict, templates,
                              run.references(task.id) if group.rank == 0 else None,
                              runtime.share)
    decided = group.broadcast(problem)  # process 0 decides; the others follow
    if decided and not problem:
        problem = decided
        scan = None
    elif problem and not decided:
        raise RunError(f"process {group.rank} sees other data than process 0: {problem}")
    if scan is None:
        if runtime.strict:
            raise StrictStop(problem)
        hooks.message(f"skipping {problem}")
        return TaskOutcome(task.id, "skipped", problem)
    if scan.bad_records and group.rank == 0:
        hooks.message(f"{task.id}: {scan.bad_records} bad records, recorded as bad_record "
                      f"failures (--strict stops at the first); the first: {scan.first_bad}")
    share = runtime.share
    part = share.part if share else ("" if group.world == 1 else f"part-{group.rank}")
    out_path = run.predictions(task.id, part)
    # a share reads and repairs only its own part and the merged file (other shares may be
    # writing theirs); its requests are in no other file
    mine_only = [run.predictions(task.id), out_path] if share else None
    done = None
    if group.rank == 0:
        for path in mine_only or run.prediction_files(task.id):
            if not path.exists():
                continue
            if repair_torn_tail(path):
                hooks.message(f"{path}: its last line was torn (a crash, or a copy cut short): "
                              f"cut, and its request is run again")
            dropped = compact_predictions(path)
            if dropped:
                hooks.message(f"{task.id}: {dropped} duplicated prediction lines removed from "
                              f"{path}")
        done = done_keys(run, task.id, mine_only)
    done = group.broadcast(done)  # every process works from process 0's view of what is done
    done_requests = sum(1 for status in done.values() if status not in PLAN_FAILURES)
    todo = scan.requests - done_requests
    if scan.share_keys is not None:  # a share: its own requests not done
        todo = len(scan.share_keys - done.keys())
    mine = len(range(group.rank, max(todo, 0), group.world))
    progress = hooks.task_started(task.id, mine, len(done))

    def todo_requests() -> Iterator[Request]:
        samples = task_samples(task, request.data_root, runtime.strict, scan.chosen)
        for item in plan_items(task, samples, templates):
            if (item.sample_id, item.template_id) in done:
                continue
            if isinstance(item, PlanFailure):
                if group.rank == 0 and (share is None or share.takes_sample(item.sample_id)):
                    append_lines(out_path, [failure_line(task.id, item).to_json()])
                continue
            if scan.share_keys is None or (item.sample_id, item.template_id) in scan.share_keys:
                yield item

    def my_requests() -> Iterator[Request]:
        # grouped by media item before sharding, so every process sees the same order
        for index, item in enumerate(grouped_by_media(todo_requests())):
            if index % group.world == group.rank:
                yield item

    runner = TaskRunner(
        should_stop=hooks.stop_requested,
        task=task,
        model=model,
        out_path=out_path,
        batch_size=runtime.batch_size,
        frames=request.video_frames(task),
        qformer_instruction=request.qformer_instruction,
        strict=runtime.strict,
        workers=runtime.workers,
        on_progress=progress,
    )
    try:
        counts = runner.run(my_requests())
    finally:
        hooks.task_finished(task.id)
    return TaskOutcome(task.id, "ran", requests=mine, already_done=len(done),
                       counts=counts, batch_size=runner.current, oom_events=runner.oom_events,
                       work=runner.work)


# How many requests are read ahead to group those that share a media item.
GROUP_WINDOW = 2048


def grouped_by_media(requests: Iterator[Request], window: int = GROUP_WINDOW
                     ) -> Iterator[Request]:
    """The requests of each window of `window`, reordered so that those sharing a media item
    (the templates of a sample, the questions on one image or video) are consecutive: items in
    order of first appearance, requests in plan order within an item. Deterministic, so a
    resume and every process of a sharded run see the same order; memory stays bounded."""
    while True:
        chunk = list(itertools.islice(requests, window))
        if not chunk:
            return
        groups: dict[tuple[Any, ...], list[Request]] = {}
        for request in chunk:
            key = (str(request.media), request.media_row, request.clip)
            groups.setdefault(key, []).append(request)
        for members in groups.values():
            yield from members


def done_keys(run: RunDir, task: str, paths: list[Path] | None = None
              ) -> dict[tuple[str, str], str]:
    """(sample id, template id) -> status of the requests already done (in `paths`, default
    every prediction file of the task). Failures that may succeed when tried again (media,
    model, out of memory) are not done: a resume retries them."""
    return {
        key: line.status
        for key, line in load_predictions(run, task, light=True, paths=paths).items()
        if line.status not in RETRYABLE
    }
