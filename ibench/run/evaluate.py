"""`ibench eval`: plan each task's requests, run them, append predictions, resume, score.

A run is identified by its directory; its manifest holds the settings that decide the numbers.
Re-running with the same run name continues it (finished requests are not redone); different
settings are refused with the list of what differs.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import itertools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ibench import __version__
from ibench.data import DataError, missing_files, read_samples
from ibench.data.source import open_source
from ibench.records import Request, Sample
from ibench.run.dist import ProcessGroup
from ibench.run.execute import Model, StrictStop, TaskRunner
from ibench.run.folder import (
    RESUME_FIELDS,
    RETRYABLE,
    RunDir,
    RunError,
    append_lines,
    compact_predictions,
    load_predictions,
    load_references,
    merge_parts,
    read_json,
    read_manifest,
    repair_torn_tail,
    write_json,
)
from ibench.run.lock import RunLock, check_run_name
from ibench.run.plan import PLAN_FAILURES, PlanFailure, chosen_ids, failure_record, plan_items
from ibench.spec.prompts import select_templates, task_family
from ibench.spec.taskfile import TaskSpec
from ibench.spec.templates import Family, Template

# Settings that change the numbers: a run may only be continued when they are all equal.
RESUME_KEYS = (
    "model",
    "stop_token_ids",
    "model_revision",
    "dtype",
    "qformer_instruction",
    "tasks",
    "templates",
    "limit",
    "seed",
    "frames",
    "data_root",
    "task_hashes",
    "template_hashes",
    "data_fingerprints",
)
PACKAGES = ("torch", "transformers", "numpy", "pycocoevalcap", "decord", "pillow", "tokenizers")


@dataclass
class EvalOptions:
    """Everything `ibench eval` was asked to do."""

    model: str
    tasks: list[TaskSpec]
    data_root: Path
    templates: str = "eval"
    limit: int | None = None
    batch_size: int | None = 8  # None: auto
    frames: int | None = None
    seed: int = 0
    strict: bool = False
    qformer_instruction: bool = True
    dtype: str | None = None
    device: str | None = None
    output: Path = Path("results")
    run_name: str | None = None
    workers: int = 2
    group: ProcessGroup = field(default_factory=ProcessGroup)
    whole_split: list[str] = field(default_factory=list)  # ids of the split asked for, if any
    resume: bool = False
    hub_revision: str | None = None  # accept this mirror revision where it is not the pinned one
    command: list[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class TaskOutcome:
    """What happened to one task in this invocation."""

    task: str
    status: str  # "ran", "skipped"
    message: str = ""
    requests: int = 0
    already_done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    batch_size: int | None = None
    oom_events: int = 0
    work: dict[str, int] = field(default_factory=dict)  # media loads, vision-encoder calls


class EvalHooks:
    """Progress and messages; the CLI overrides these to draw bars and print."""

    def message(self, text: str) -> None:
        """A line for the user (stderr)."""
        print(text, file=sys.stderr)

    def task_started(self, task: str, total: int, done: int) -> Callable[[int], None]:
        """Called before a task runs; returns the per-batch progress callback."""
        return lambda n: None

    def task_finished(self, task: str) -> None:
        """Called when a task's requests are all done."""

    stop = False
    stop_signal = 0  # the signal that asked for the stop (0: none yet)

    def stop_requested(self) -> bool:
        """True once Ctrl-C asked for a clean stop after the batch in flight."""
        return self.stop


def default_run_name(options: EvalOptions, model_name: str) -> str:
    """A deterministic name from the settings, so the same command continues the same run."""
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in Path(model_name).name)
    ids = sorted(t.id for t in options.tasks)
    splits = {t.split for t in options.tasks}
    if len(ids) <= 3:
        scope = "+".join(ids)
    elif ids == sorted(options.whole_split):
        scope = splits.pop() if len(splits) == 1 else "all"
    else:  # a hand-picked set: name it by its content so it never clashes with a full split
        scope = f"{len(ids)}tasks-{hashlib.sha256(' '.join(ids).encode()).hexdigest()[:6]}"
    name = f"{slug}_{scope}_{options.templates}"
    overrides = sorted({json.dumps(t.decoding_overrides, sort_keys=True)
                        for t in options.tasks if t.decoding_overrides})
    if overrides:  # other decoding: another run
        name += f"_gen-{hashlib.sha256(' '.join(overrides).encode()).hexdigest()[:6]}"
    if options.limit is not None:
        name += f"_limit{options.limit}"
    if options.seed != 0:
        name += f"_seed{options.seed}"
    if not options.qformer_instruction:
        name += "_noqfinstr"
    return name


def file_hash(path: Path | None) -> str:
    """sha256 of a file's bytes (task and template files: what defined the run)."""
    if path is None:
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def git_commit() -> str | None:
    """The ibench source commit when running from a checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "ibench",
                                "tasks", "templates"], capture_output=True, text=True,
                               timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip() or None
    return f"{commit}+dirty" if commit and dirty.stdout.strip() else commit


def data_fingerprint(task: TaskSpec, root: Path, edge: int = 1 << 20) -> dict[str, str]:
    """Per annotation file: its size and a sha256 of its first and last MiB. Cheap even for
    multi-GB files, and it changes when a file is replaced, cut or extended (an edit in the
    middle that keeps the size is not seen). Absent files are recorded as absent. The files
    are those of the layout in use (the publisher's, or an alternative such as LAVIS's copy,
    whose keys are then `<layout>:<role>`), so a run refuses to resume on another layout."""
    try:
        source = open_source(task, root)
        paths = {role: source.path(role) for role in source.files}
        prefix = "" if source.variant == "official" else f"{source.variant}:"
    except DataError:
        paths, prefix = {role: root / rel for role, rel in task.data.files.items()}, ""
    out = {}
    for role, path in sorted(paths.items()):
        if not path.is_file():
            out[prefix + role] = "absent"
            continue
        size = path.stat().st_size
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            digest.update(handle.read(edge))
            if size > edge:
                handle.seek(max(edge, size - edge))
                digest.update(handle.read(edge))
        out[prefix + role] = f"{size}:{digest.hexdigest()[:16]}"
    return out


def hub_revision_problem(task: TaskSpec, options: EvalOptions) -> str:
    """Why a task's hub mirror may not be used ("" when it may): its revision is known and is
    not the pinned one, and --hub-revision does not name it. A copy made by hand (revision
    unknown) is used, and recorded as unknown."""
    source = data_source(task, options.data_root)
    revision, pinned = source.get("revision"), source.get("pinned")
    if source.get("layout") != "hub" or not revision or not pinned or revision == pinned:
        return ""
    if options.hub_revision == revision:
        return ""
    return (f"{task.id}: the hub mirror {source['repo']} at {source['root']} is revision "
            f"{revision}, not the pinned {pinned}: pass --hub-revision {revision} to use it")


def data_source(task: TaskSpec, root: Path) -> dict[str, Any]:
    """Which layout of a task's data the run reads, and for a hub mirror its repo, revision
    (None: unknown, a copy made by hand), the pinned one, and where it was found."""
    try:
        source = open_source(task, root)
    except DataError as exc:
        return {"layout": None, "error": str(exc)}
    out: dict[str, Any] = {"layout": source.variant, "format": source.format}
    names = {"hub_repo": "repo", "hub_revision": "revision", "hub_pinned": "pinned",
             "hub_layout": "found_in"}
    for key, name in names.items():
        if key in source.options:
            out[name] = source.options[key]
    if source.variant == "hub":
        out["root"] = str(source.root)
    return out


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that can change results."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def build_settings(options: EvalOptions, model_info: dict[str, Any],
                   families: dict[str, Family]) -> dict[str, Any]:
    """The settings part of the manifest (compared on resume)."""
    overrides = {t.id: t.decoding_overrides for t in options.tasks if t.decoding_overrides}
    extra: dict[str, Any] = {}
    if overrides:  # --gen-kwargs: recorded, and the leaderboard says the row is not comparable
        extra["gen_kwargs"] = overrides
    from ibench.resources import included_roots

    if included_roots():
        extra["include_paths"] = included_roots()
    for key in ("model_args", "published_as", "requested_revision"):
        if model_info.get(key):  # recorded only when given, so older runs still resume
            extra[key] = model_info[key]
    return extra | {
        "model": model_info.get("model_id") or options.model,
        "model_revision": model_info.get("revision"),
        "model_alias": options.model,
        "dtype": model_info.get("dtype"),
        "device": model_info.get("device"),
        "qformer_instruction": options.qformer_instruction,
        "tasks": sorted(t.id for t in options.tasks),
        "templates": options.templates,
        "limit": options.limit,
        "seed": options.seed,
        "frames": {t.id: options.frames or t.frames for t in options.tasks if t.media == "video"},
        "data_root": str(options.data_root.resolve()),
        "task_hashes": {t.id: file_hash(t.source) for t in options.tasks},
        "data_fingerprints": {t.id: data_fingerprint(t, options.data_root) for t in options.tasks},
        "template_hashes": {
            t.id: file_hash(task_family(t, families).source) for t in options.tasks
        },
        "decoding": {
            t.id: {
                "lavis": {k: v for k, v in t.generation.items() if k != "sources"},
                "effective": asdict(t.generation_settings(model_info["architecture"]))
                if model_info.get("architecture") else None,
            }
            for t in options.tasks if t.generation
        },
        "stop_token_ids": model_info.get("stop_token_ids"),
        "hub_revision": options.hub_revision,
        "data_sources": {t.id: data_source(t, options.data_root) for t in options.tasks},
        "ranking": {
            t.id: {"candidates": t.rank.candidates, "aggregation": t.rank.aggregation}
            for t in options.tasks
            if t.rank
        },
    }


def settings_differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable list of the settings that differ between a stored run and this one."""
    out = []
    for key in RESUME_KEYS:
        if stored.get(key) != current.get(key):
            out.append(f"{key}: stored {stored.get(key)!r}, now {current.get(key)!r}")
    return out


MIN_FREE_BYTES = 64 * 1024 * 1024


def check_output_writable(output: Path, min_free: int = MIN_FREE_BYTES) -> None:
    """Fail before any work when the output folder cannot be written or its disk is full."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / f".ibench-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"cannot write to the output folder {output}: {exc.strerror}") from exc
    free = shutil.disk_usage(output).free
    if free < min_free:
        raise RunError(
            f"the disk holding {output} has only {free / 2**20:.0f} MiB free; ibench needs at "
            f"least {min_free / 2**20:.0f} MiB for predictions. Free some space or pass --output."
        )


def open_or_create_run(run: RunDir, settings: dict[str, Any], options: EvalOptions,
                       model_info: dict[str, Any]) -> dict[str, Any]:
    """Create the manifest, or check a stored one matches and record this session in it."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    session = {"started": now, "ended": None, "command": options.command,
               "batch_size": options.batch_size, "world_size": options.group.world}
    if options.resume and not run.manifest.exists():
        raise RunError(f"--resume: there is no run at {run.path} to continue (check --run-name "
                       f"and --output)")
    if run.manifest.exists():
        manifest = read_manifest(run.manifest, RESUME_FIELDS)
        diff = settings_differences(manifest.get("settings", {}), settings)
        if diff:
            raise RunError(
                f"run {run.path} was made with other settings and cannot be resumed:\n  "
                + "\n  ".join(diff)
                + "\nUse another --run-name for a new run."
            )
        manifest["sessions"].append(session)
        manifest["status"] = "running"
        manifest["packages"] = package_versions()
        manifest["model_info"] = model_info
    else:
        manifest = {
            "ibench_version": __version__,
            "git_commit": git_commit(),
            "run_name": run.path.name,
            "created": now,
            "status": "running",
            "settings": settings,
            "model_info": model_info,
            "packages": package_versions(),
            "host": {"platform": platform.platform(), "python": sys.version.split()[0]},
            "sessions": [session],
            "tasks": {},
        }
    manifest["demo"] = demo_reasons(options, model_info)
    if options.group.rank == 0:
        write_json(run.manifest, manifest)
    return manifest


def demo_reasons(options: EvalOptions, model_info: dict[str, Any]) -> list[str]:
    """Why a run's numbers mean nothing (a random-weight tiny model, the synthetic sample
    pack), so that every output flags its row; [] for a real run."""
    from ibench.data.samplepack import is_sample_pack

    reasons = []
    if str(model_info.get("model_id", "")).startswith("ibench/tiny"):
        reasons.append("a tiny random-weight model")
    if is_sample_pack(options.data_root):
        reasons.append("the synthetic sample pack")
    return reasons


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


def task_samples(task: TaskSpec, options: EvalOptions, chosen: set[str] | None
                 ) -> Iterator[Sample]:
    """The task's samples in reader order, restricted to the seeded subset when there is one."""
    for sample in read_samples(task, options.data_root, strict=options.strict):
        if chosen is None or sample.id in chosen:
            yield sample


def scan_task(task: TaskSpec, options: EvalOptions, templates: list[Template], run: RunDir
              ) -> tuple[TaskScan | None, str]:
    """Read the whole task once, streaming: find data problems before any model work, count
    the requests, and (process 0) write the references. Returns (scan, problem)."""
    wrong = hub_revision_problem(task, options)
    if wrong:
        return None, wrong
    missing = missing_files(task, options.data_root)
    if missing:
        return None, (
            f"{task.id}: data missing: {'; '.join(missing)}. Published at "
            f"{task.data.published_at}. See `ibench data check --data-root {options.data_root}`."
        )
    refs = run.references(task.id)
    tmp = refs.with_suffix(".tmp")
    writing = options.group.rank == 0
    try:
        chosen = chosen_ids(read_samples(task, options.data_root, strict=options.strict),
                            task.id, options.limit, options.seed)
        scan = TaskScan(chosen)
        vocabulary: set[str] | None = None
        if writing:
            refs.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
        with open(tmp, "a", encoding="utf-8") if writing else nullcontext() as handle:
            for sample in task_samples(task, options, chosen):
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
                        if options.strict:
                            raise StrictStop(f"{task.id} sample {item.sample_id}: {item.reason}")
                        scan.failures += 1
                    else:
                        scan.requests += 1
    except DataError as exc:
        tmp.unlink(missing_ok=True)
        return None, f"{task.id}: unusable data: {exc}"
    if scan.samples == 0:
        tmp.unlink(missing_ok=True)
        files = ", ".join(str(p) for p in open_source(task, options.data_root)
                          .required_paths().values())
        bad = (f"; all {scan.bad_records} records are bad, the first: {scan.first_bad}"
               if scan.bad_records else "")
        return None, (f"{task.id}: no samples in {files} (the protocol's split has "
                      f"{task.eval_size or 'some'}){bad}")
    if writing:
        os.replace(tmp, refs)
    return scan, ""


def run_task(task: TaskSpec, model: Model, options: EvalOptions, families: dict[str, Family],
             run: RunDir, hooks: EvalHooks) -> TaskOutcome:
    """Run the requests of one task that are not done yet, streaming; append their lines."""
    templates = select_templates(task, families, options.templates)
    scan, problem = scan_task(task, options, templates, run)
    group = options.group
    decided = group.broadcast(problem)  # process 0 decides; the others follow
    if decided and not problem:
        problem = decided
        scan = None
    elif problem and not decided:
        raise RunError(f"process {group.rank} sees other data than process 0: {problem}")
    if scan is None:
        if options.strict:
            raise StrictStop(problem)
        hooks.message(f"skipping {problem}")
        return TaskOutcome(task.id, "skipped", problem)
    if scan.bad_records and group.rank == 0:
        hooks.message(f"{task.id}: {scan.bad_records} bad records, recorded as bad_record "
                      f"failures (--strict stops at the first); the first: {scan.first_bad}")
    part = "" if group.world == 1 else f"part-{group.rank}"
    out_path = run.predictions(task.id, part)
    done = None
    if group.rank == 0:
        for path in run.prediction_files(task.id):
            repair_torn_tail(path)
            dropped = compact_predictions(path)
            if dropped:
                hooks.message(f"{task.id}: {dropped} duplicated prediction lines removed from "
                              f"{path}")
        done = done_keys(run, task.id)
    done = group.broadcast(done)  # every process works from process 0's view of what is done
    done_requests = sum(1 for status in done.values() if status not in PLAN_FAILURES)
    todo = scan.requests - done_requests
    mine = len(range(group.rank, max(todo, 0), group.world))
    progress = hooks.task_started(task.id, mine, len(done))

    def todo_requests() -> Iterator[Request]:
        for item in plan_items(task, task_samples(task, options, scan.chosen), templates):
            if (item.sample_id, item.template_id) in done:
                continue
            if isinstance(item, PlanFailure):
                if group.rank == 0:
                    append_lines(out_path, [failure_record(task.id, item)])
                continue
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
        batch_size=options.batch_size,
        frames=(options.frames or task.frames) if task.media == "video" else None,
        qformer_instruction=options.qformer_instruction,
        strict=options.strict,
        workers=options.workers,
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


def done_keys(run: RunDir, task: str) -> dict[tuple[str, str], str]:
    """(sample id, template id) -> status of the requests already done. Failures that may
    succeed when tried again (media, model, out of memory) are not done: a resume retries
    them."""
    return {
        key: record["status"]
        for key, record in load_predictions(run, task, ()).items()
        if record["status"] not in RETRYABLE
    }


def finish_manifest(run: RunDir, manifest: dict[str, Any], outcomes: list[TaskOutcome]) -> None:
    """Record how each task went (request counts by status over the whole run, from the
    prediction files) and close this session."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest["sessions"][-1]["ended"] = now
    manifest["sessions"][-1]["tasks"] = {
        o.task: {"batch_size": o.batch_size, "out_of_memory_retries": o.oom_events,
                 "requests_run": o.requests, **o.work} for o in outcomes if o.status == "ran"}
    for outcome in outcomes:
        counts: dict[str, int] = {}
        if outcome.status == "ran":
            for record in load_predictions(run, outcome.task, ()).values():
                counts[record["status"]] = counts.get(record["status"], 0) + 1
        manifest["tasks"][outcome.task] = {
            "status": outcome.status,
            "message": outcome.message,
            "batch_size": outcome.batch_size,
            "counts": dict(sorted(counts.items())),
        }
    skipped = [o for o in outcomes if o.status == "skipped"]
    manifest["status"] = "complete" if not skipped else "partial"
    manifest["ended"] = now
    write_json(run.manifest, manifest)


def evaluate(options: EvalOptions, hooks: EvalHooks,
             loader: Callable[..., Any]) -> tuple[RunDir, dict[str, Any], list[TaskOutcome]]:
    """The whole `ibench eval`: load the model, run every task, score, write the leaderboard."""
    from ibench.spec.templates import load_families

    name = options.run_name or default_run_name(options, options.model)
    check_run_name(name)
    check_output_writable(options.output)
    families = load_families()
    for task in options.tasks:  # a bad --templates value fails before the model loads
        select_templates(task, families, options.templates)
    check_scoring_needs(options.tasks)
    group = options.group
    run = RunDir(options.output / name)
    lock = lock_run(run, group)  # one writer per run folder, taken before the model loads
    try:
        return _evaluate_locked(options, hooks, loader, families, run)
    finally:
        lock.release()


# Metrics whose official implementation runs a Java program (pycocoevalcap's PTB tokenizer).
JAVA_METRICS = ("cider",)


def check_scoring_needs(tasks: list[TaskSpec]) -> None:
    """Before any inference: what scoring will need is there (Java for CIDEr), else one line
    naming the tasks and what to install."""
    needing = [t.id for t in tasks if t.metric in JAVA_METRICS]
    if needing and shutil.which("java") is None:
        raise RunError(f"{', '.join(needing)} are scored with CIDEr, whose PTB tokenizer needs "
                       f"Java, and `java` is not on PATH: install a Java runtime (e.g. apt-get "
                       f"install default-jre-headless), or leave those tasks out with --tasks")


def lock_run(run: RunDir, group: Any) -> RunLock:
    """Process 0 takes the run's lock; every process learns whether it got it (a refusal
    stops them all with the same message)."""
    lock = RunLock(run.path)
    refused = ""
    if group.rank == 0:
        try:
            lock.acquire()
        except RunError as exc:
            refused = str(exc)
    refused = group.broadcast(refused)
    if refused:
        raise RunError(refused)
    return lock


def _evaluate_locked(options: EvalOptions, hooks: EvalHooks, loader: Callable[..., Any],
                     families: dict[str, Family], run: RunDir
                     ) -> tuple[RunDir, dict[str, Any], list[TaskOutcome]]:
    from ibench.report.leaderboard import boards_for, render_board
    from ibench.run.score import score_run
    from ibench.spec.prompts import zero_shot_template

    group = options.group
    finished = group.broadcast(finished_run(run, options, families) if group.rank == 0 else None)
    if finished is not None:
        hooks.message(f"run {run.path} is already complete with these settings: its results "
                      f"follow (nothing to run; pass another --run-name for a new run)")
        return run, finished, [TaskOutcome(t.id, "ran") for t in options.tasks]
    if group.rank != 0:  # process 0 loads first: it alone builds a missing tiny checkpoint
        group.barrier()
    model = loader(options.model, dtype=options.dtype, device=group.device(options.device),
                   qformer_instruction=options.qformer_instruction)
    if group.rank == 0:
        group.barrier()
    info = model.info()
    settings = build_settings(options, info, families)
    manifest = open_or_create_run(run, settings, options, info)
    reserve = DiskReserve(run.path) if group.rank == 0 else None
    options.group.barrier()
    hooks.message(f"run folder: {run.path}")
    outcomes: list[TaskOutcome] = []
    previous = _install_clean_stop(hooks)
    try:
        for task in options.tasks:
            outcomes.append(run_task(task, model, options, families, run, hooks))
        options.group.barrier()  # all parts written before process 0 merges and scores
        if options.group.rank != 0:
            options.group.barrier()  # wait for process 0, so all leave the group together
            return run, {}, outcomes
        for outcome in outcomes:
            if outcome.status == "ran":
                merge_parts(run, outcome.task, lambda task=outcome.task: list(
                    load_references(run, task)))
        headlines = {
            o.task: (t.metric, zero_shot_template(t, families).id, t.metric_options)
            for o, t in zip(outcomes, options.tasks, strict=True)
            if o.status == "ran"
        }
        metrics = score_run(run, headlines, seed=options.seed)
        finish_manifest(run, manifest, outcomes)
        run.leaderboard.write_text("\n".join(  # every board the run has tasks of
            f"## {board.title}\n\n{render_board(board, 'md')}"
            for board in boards_for([run.path])), encoding="utf-8")
    except BaseException as exc:
        if options.group.rank == 0:
            _record_end(run, manifest, exc, hooks, reserve)
        if isinstance(exc, KeyboardInterrupt) and hooks.stop_signal:
            exc.signum = hooks.stop_signal  # type: ignore[attr-defined]  # the exit status
        if is_disk_full(exc):
            raise disk_error(exc, run) from exc
        raise
    finally:
        _restore_signal(previous)
        if reserve is not None:
            reserve.free()
    options.group.barrier()
    return run, metrics, outcomes


def finished_run(run: RunDir, options: EvalOptions, families: dict[str, Family]
                 ) -> dict[str, Any] | None:
    """The metrics of a run that is complete with the settings asked for, so that running the
    same command again neither loads the model nor runs anything; None when there is work (a
    new or unfinished run, other settings, a task missing, or failures a resume retries)."""
    if not run.manifest.exists() or not run.metrics.exists():
        return None
    try:
        manifest = read_manifest(run.manifest, RESUME_FIELDS)
        metrics = read_json(run.metrics)
    except RunError:
        return None  # resuming reports what is wrong with it
    if manifest.get("status") != "complete" or not isinstance(manifest.get("model_info"), dict):
        return None
    settings = build_settings(options, manifest["model_info"], families)
    if settings_differences(manifest.get("settings", {}), settings):
        return None
    for task in options.tasks:
        entry = manifest["tasks"].get(task.id)
        if not isinstance(entry, dict) or entry.get("status") != "ran":
            return None
        if set(entry.get("counts", {})) & set(RETRYABLE):
            return None
    return metrics if isinstance(metrics, dict) else None


def _record_end(run: RunDir, manifest: dict[str, Any], exc: BaseException, hooks: EvalHooks,
                reserve: DiskReserve | None) -> None:
    """Mark the run interrupted (a stop asked for) or failed (with the reason), cutting any
    line torn by a full disk; on a full disk the reserve is given back first so that the
    manifest can still be written."""
    stopped = isinstance(exc, KeyboardInterrupt)
    manifest["status"] = "interrupted" if stopped else "failed"
    manifest["sessions"][-1]["ended"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if stopped and hooks.stop_signal:
        manifest["sessions"][-1]["signal"] = signal.Signals(hooks.stop_signal).name
    if not stopped:
        manifest["sessions"][-1]["error"] = f"{type(exc).__name__}: {exc}"
    if is_disk_full(exc) and reserve is not None:
        reserve.free()
    for path in sorted((run.path / "predictions").glob("*.jsonl")):
        try:
            repair_torn_tail(path)
        except OSError:
            pass
    try:
        write_json(run.manifest, manifest)
    except OSError as err:  # a read-only or still full disk: the message says what happened
        hooks.message(f"could not mark the run {manifest['status']} in {run.manifest}: "
                      f"{err.strerror}")


_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def is_disk_full(exc: BaseException) -> bool:
    """An OSError of a full disk, an exceeded quota or a read-only file system."""
    return isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS


def disk_error(exc: BaseException, run: RunDir) -> RunError | None:
    """One line for a disk fault: the path, what happened, and what to do."""
    if not isinstance(exc, OSError):
        return None
    where = exc.filename or run.path
    what = ("is read-only" if exc.errno == errno.EROFS else
            f"is full ({exc.strerror})")
    return RunError(f"the disk holding {where} {what}: the run is saved up to the last "
                    f"finished batch and marked failed; free space (or remount it writable), "
                    f"then run the same command to resume")


class DiskReserve:
    """A small file kept in the run folder while the run is going, deleted when the disk
    fills so that the manifest can still be marked failed."""

    SIZE = 1 << 20

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".reserve"
        try:
            with self.path.open("wb") as handle:
                handle.write(b"\0" * self.SIZE)
        except OSError:
            self.path.unlink(missing_ok=True)

    def free(self) -> None:
        self.path.unlink(missing_ok=True)


# Signals that ask for a clean stop: Ctrl-C, and what schedulers (SLURM, Kubernetes) send
# before they kill a job.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _install_clean_stop(hooks: EvalHooks) -> Any:
    """First stop signal (Ctrl-C, SIGTERM, SIGHUP): finish and save the batch in flight, then
    stop, recording which signal; a second: stop at once."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        if hooks.stop:
            raise KeyboardInterrupt
        hooks.stop = True
        hooks.stop_signal = signum
        what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        hooks.message(f"{what}: stopping after the batch in flight (again to stop at once)")

    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def _restore_signal(previous: Any) -> None:
    if previous is not None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
