"""A whole run, orchestrated: checks before the model loads, the lock, the model, each task,
then merging the processes' parts and scoring (metrics.json). What comes after a run (the
leaderboard, the report) is the caller's (ibench.api).

A run is identified by its folder; its manifest holds the spec that decides the numbers.
Running again with the same run name continues it (finished requests are not redone); another
spec is refused with the list of what differs.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable
from typing import Any

from ibench.data import missing_files
from ibench.metrics.registry import METRICS
from ibench.protocol.decoding import check_fits
from ibench.protocol.prompts import select_templates
from ibench.protocol.taskspec import TaskSpec
from ibench.protocol.templates import TemplateFamily
from ibench.run.folder import RunDir, RunError, load_references, repair_torn_tail
from ibench.run.hooks import EvalHooks
from ibench.run.lock import LockSet, RunLock, check_run_name, manifest_guard
from ibench.run.manifest import (
    build_settings,
    default_run_name,
    finish_manifest,
    finished_run,
    open_or_create_run,
    resolve_spec,
)
from ibench.run.predictions import merge_parts
from ibench.run.safety import (
    DiskReserve,
    check_output_writable,
    discard_run,
    disk_error,
    install_clean_stop,
    is_disk_full,
    restore_signals,
)
from ibench.run.schema import Manifest
from ibench.run.settings import EvalRequest, Runtime
from ibench.run.shares import (
    Share,
    check_alone,
    clear_marker,
    clear_markers,
    finish_share,
)
from ibench.run.taskrun import TaskOutcome, run_task
from ibench.safetext import visible


def evaluate(request: EvalRequest, runtime: Runtime, hooks: EvalHooks,
             loader: Callable[..., Any] | None = None
             ) -> tuple[RunDir, dict[str, Any] | None, list[TaskOutcome]]:
    """Run and score: (the run folder, metrics.json's content, what happened to each task);
    None for the content when this process ran a share and other shares are still to finish.
    `loader(name, **options)` loads the model (default: ibench.models.load_model)."""
    from ibench.protocol.templates import load_families

    name = runtime.run_name or default_run_name(request)
    check_run_name(name)
    check_output_writable(runtime.output)
    families = load_families()
    for task in request.tasks:  # a bad --templates value fails before the model loads
        select_templates(task, families, request.templates)
    check_scoring_needs(request.tasks)
    check_decoding(request.tasks, None)
    check_data_root(request)
    group = runtime.group
    share = runtime.share
    if share is not None:
        check_alone(group.world)
    run = RunDir(runtime.output / name)
    new = not run.path.exists()
    lock = lock_run(run, group, share)  # one writer per run (or share), before the model loads
    claimed = False
    try:
        result = _evaluate_locked(request, runtime, hooks, loader or _load_model, families, run)
        claimed = True
        return result
    except NothingRan:
        raise
    except BaseException:
        claimed = run.manifest.exists()  # a failure after the run began keeps its folder
        raise
    finally:
        lock.release()
        if new and not claimed and group.rank == 0 and share is None:
            discard_run(run)  # the model never loaded, or no task ran (shares keep it: others
            # may be writing there)


class NothingRan(RunError):
    """Every task asked was skipped for its data: the run is not kept (a new one is removed),
    so that the corrected command can take its name."""


def check_decoding(tasks: tuple[TaskSpec, ...], model_info: dict[str, Any] | None) -> None:
    """Every generate task's decoding, resolved, is one a model can run: before the model loads
    for both architectures, then for the model loaded against its context length."""
    for task in tasks:
        if task.generation is None:
            continue
        if model_info is None:
            for architecture in ("encoder-decoder", "decoder-only"):
                check_fits(task.generation_settings(architecture), None, task.id)
        elif model_info.get("architecture"):
            check_fits(task.generation_settings(model_info["architecture"]),
                       model_info.get("context_length"), task.id)


def check_data_root(request: EvalRequest) -> None:
    """Before the model loads: the data root is a folder, and at least one task asked has its
    files there; else one error saying what is missing and where to look."""
    root = request.data_root
    if not root.is_dir():
        raise RunError(f"--data-root {visible(root)}: no such folder; point it at the folder "
                       "that holds the datasets (or leave it out for the synthetic sample pack)")
    missing = {t.id: missing_files(t, root) for t in request.tasks}
    if request.tasks and all(missing.values()):
        raise RunError(
            f"none of the {len(missing)} tasks asked has its data under {visible(root)}:",
            *(f"  {task}: missing {visible(files[0])}"
              + (f" (and {len(files) - 1} more)" if len(files) > 1 else "")
              for task, files in missing.items()),
            f"See `ibench data check --data-root {visible(root)}` for what each task needs "
            "and where it is published.")


def request_estimates(request: EvalRequest, families: dict[str, TemplateFamily], world: int
                      ) -> dict[str, int]:
    """Each task's requests as the protocol's split sizes promise them (samples, or --limit,
    times templates), this process's share: the run's progress before each task's data is
    read."""
    out = {}
    for task in request.tasks:
        samples = task.eval_size or 0
        if request.limit is not None:
            samples = min(samples, request.limit) if samples else request.limit
        out[task.id] = samples * len(select_templates(task, families, request.templates)) // world
    return out


def _load_model(name: str, **options: Any) -> Any:
    from ibench import models

    return models.load_model(name, **options)




def check_scoring_needs(tasks: tuple[TaskSpec, ...]) -> None:
    """Before any inference: what scoring will need is there (Java for CIDEr), else one line
    naming the tasks and what to install."""
    needing = [t.id for t in tasks if "java" in METRICS[t.metric].needs]
    if needing and shutil.which("java") is None:
        raise RunError(f"{', '.join(needing)} are scored with CIDEr, whose PTB tokenizer needs "
                       f"Java, and `java` is not on PATH: install a Java runtime (e.g. apt-get "
                       f"install default-jre-headless), or leave those tasks out with --tasks")


def lock_run(run: RunDir, group: Any, share: Share | None = None) -> LockSet:
    """Process 0 takes the run's lock (a share: the run's, shared, and its own share's);
    every process learns whether it got it (a refusal stops them all with the same
    message)."""
    locks = [RunLock(run.path, shared=share is not None)]
    if share is not None:
        locks.append(RunLock(run.path, f".lock-share-{share.index}of{share.count}",
                             what=f"share {share.label} of run"))
    held = LockSet([])
    refused = ""
    if group.rank == 0:
        try:
            for lock in locks:
                lock.acquire()
                held.locks.append(lock)
        except RunError as exc:
            held.release()
            refused = str(exc)
    refused = group.broadcast(refused)
    if refused:
        raise RunError(refused)
    return held


def _evaluate_locked(request: EvalRequest, runtime: Runtime, hooks: EvalHooks,
                     loader: Callable[..., Any], families: dict[str, TemplateFamily],
                     run: RunDir) -> tuple[RunDir, dict[str, Any] | None, list[TaskOutcome]]:
    group = runtime.group
    run.check()  # a run folder resumed only through files of its own
    finished = group.broadcast(finished_run(run, request, families) if group.rank == 0 else None)
    if finished is not None:
        hooks.message(f"run {run.path} is already complete with these settings: its results "
                      f"follow (nothing to run; pass another --run-name for a new run)")
        return run, finished, [TaskOutcome(t.id, "ran") for t in request.tasks]
    if group.rank != 0:  # process 0 loads first: it alone builds a missing tiny checkpoint
        group.barrier()
    model = loader(request.model, dtype=request.dtype, device=group.device(runtime.device),
                   qformer_instruction=request.qformer_instruction,
                   allow_pickle=request.allow_pickle, revision=request.revision,
                   model_args=dict(request.model_args) or None,
                   published_as=request.published_as)
    if group.rank == 0:
        group.barrier()
    info = model.info()
    check_decoding(request.tasks, info)
    spec = resolve_spec(request, info, families)
    with manifest_guard(run.path):
        manifest = open_or_create_run(run, spec, build_settings(request, spec, info), runtime,
                                      info)
    session = manifest.sessions[-1].get("id")
    share = runtime.share
    reserve = DiskReserve(run.path) if group.rank == 0 and share is None else None
    if share is not None:
        clear_marker(run, share)  # working (again): not finished until it says so
    group.barrier()
    hooks.message(f"run folder: {run.path}")
    outcomes: list[TaskOutcome] = []
    previous = install_clean_stop(hooks)
    try:
        hooks.suite_started(request_estimates(request, families, group.world),
                            (group.rank, group.world))
        for index, task in enumerate(request.tasks, 1):
            hooks.task_begins(index, len(request.tasks), task.id)
            outcomes.append(run_task(task, model, request, runtime, families, run, hooks))
        if not any(o.status == "ran" for o in outcomes):
            raise NothingRan(
                f"no task was scored ({len(outcomes)} asked, {len(outcomes)} skipped for their "
                f"data); see `ibench data check --data-root {visible(request.data_root)}`")
        group.barrier()  # all parts written before process 0 merges and scores
        if group.rank != 0:
            group.barrier()  # wait for process 0, so all leave the group together
            return run, {}, outcomes
        with manifest_guard(run.path):
            if share is not None:
                done = finish_share(run, share)
                if len(done) < share.count:  # not the last share: the last merges, scores
                    _close_share(run, session, share, done)
                    return run, None, outcomes
                manifest = Manifest.read(run.manifest, resuming=True)
            metrics = _merge_and_score(run, request, families, outcomes)
            finish_manifest(run, manifest, outcomes, session)
            clear_markers(run)
    except BaseException as caught:
        exc = peer_stopped(caught, group, hooks)
        if group.rank == 0 and not isinstance(exc, NothingRan):
            with manifest_guard(run.path):
                if share is not None:  # the manifest as the other shares left it
                    manifest = _reread(run, manifest)
                _record_end(run, manifest, exc, hooks, reserve, session)
        if isinstance(exc, KeyboardInterrupt) and hooks.stop_signal:
            exc.signum = hooks.stop_signal  # type: ignore[attr-defined]  # the exit status
        if is_disk_full(exc):
            raise disk_error(exc, run) from exc
        if isinstance(exc, MemoryError):  # outside a model call (where it is a failure line)
            raise RunError(f"out of memory ({exc or 'MemoryError'}): the run stops, saved up to "
                           f"its last finished batch and marked failed; free memory, then run "
                           f"the same command to resume") from exc
        if exc is not caught:
            raise exc from caught
        raise
    finally:
        restore_signals(previous)
        if reserve is not None:
            reserve.free()
    group.barrier()
    return run, metrics, outcomes


def peer_stopped(exc: BaseException, group: Any, hooks: EvalHooks) -> BaseException:
    """The stop this process was asked for, when that is what the error is: under torchrun
    every process stops at its own batch boundary, and one still in a collective (the next
    task's broadcast) when a peer has already stopped and left gets the backend's error
    instead; that is the same stop, not a failure."""
    if group.distributed and hooks.stop and not isinstance(exc, (KeyboardInterrupt,
                                                                  NothingRan)):
        return KeyboardInterrupt()
    return exc


def _merge_and_score(run: RunDir, request: EvalRequest, families: dict[str, TemplateFamily],
                     outcomes: list[TaskOutcome]) -> dict[str, Any]:
    """Fold the processes' and shares' parts into each task's predictions (in sample order)
    and score the run: metrics.json's content."""
    from ibench.protocol.prompts import zero_shot_template
    from ibench.run.score import score_run

    for outcome in outcomes:
        if outcome.status == "ran":
            merge_parts(run, outcome.task, lambda task=outcome.task: list(
                load_references(run, task)))
    headlines = {
        o.task: (t.metric, zero_shot_template(t, families).id, t.metric_options)
        for o, t in zip(outcomes, request.tasks, strict=True)
        if o.status == "ran"
    }
    skipped = {o.task: (t.metric, o.message)
               for o, t in zip(outcomes, request.tasks, strict=True) if o.status == "skipped"}
    return score_run(run, headlines, seed=request.seed, skipped=skipped,
                     order=[t.id for t in request.tasks])


def _reread(run: RunDir, manifest: Manifest) -> Manifest:
    """The manifest on disk (others may have changed it), else the one in memory."""
    try:
        return Manifest.read(run.manifest, resuming=True)
    except RunError:
        return manifest


def _close_share(run: RunDir, session: str | None, share: Share, done: list[int]) -> None:
    """A share done before the others: its session closed, the run left running."""
    manifest = Manifest.read(run.manifest, resuming=True)
    waiting = [i for i in range(1, share.count + 1) if i not in done]
    manifest.close_session(manifest.status, session,
                           share=f"{share.label} done; waiting for "
                                 f"{', '.join(f'{i}/{share.count}' for i in waiting)}")
    manifest.write(run.manifest)


def _record_end(run: RunDir, manifest: Manifest, exc: BaseException, hooks: EvalHooks,
                reserve: DiskReserve | None, session: str | None = None) -> None:
    """Mark the run interrupted (a stop asked for) or failed (with the reason), cutting any
    line torn by a full disk; on a full disk the reserve is given back first so that the
    manifest can still be written."""
    stopped = isinstance(exc, KeyboardInterrupt)
    details: dict[str, Any] = {}
    if stopped and hooks.stop_signal:
        details["signal"] = signal.Signals(hooks.stop_signal).name
    if not stopped:
        details["error"] = f"{type(exc).__name__}: {exc}"
    manifest.close_session("interrupted" if stopped else "failed", session, **details)
    if is_disk_full(exc) and reserve is not None:
        reserve.free()
    for path in sorted((run.path / "predictions").glob("*.jsonl")):
        try:
            repair_torn_tail(path)
        except OSError:
            pass
    try:
        manifest.write(run.manifest)
    except OSError as err:  # a read-only or still full disk: the message says what happened
        hooks.message(f"could not mark the run {manifest.status} in {run.manifest}: "
                      f"{err.strerror}")
