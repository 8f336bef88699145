"""`ibench eval`: plan each task's requests, run them, append predictions, resume, score.

A run is identified by its directory; its manifest holds the settings that decide the numbers.
Re-running with the same run name continues it (finished requests are not redone); different
settings are refused with the list of what differs.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
from collections.abc import Callable
from typing import Any

from ibench.metrics.registry import METRICS
from ibench.protocol.prompts import select_templates
from ibench.protocol.taskspec import TaskSpec
from ibench.protocol.templates import TemplateFamily
from ibench.run.folder import (
    RunDir,
    RunError,
    load_references,
    merge_parts,
    repair_torn_tail,
    write_json,
)
from ibench.run.hooks import EvalHooks
from ibench.run.lock import RunLock, check_run_name
from ibench.run.manifest import (
    build_settings,
    default_run_name,
    finish_manifest,
    finished_run,
    open_or_create_run,
)
from ibench.run.safety import (
    DiskReserve,
    check_output_writable,
    disk_error,
    install_clean_stop,
    is_disk_full,
    restore_signals,
)
from ibench.run.settings import EvalOptions
from ibench.run.taskrun import TaskOutcome, run_task


def evaluate(options: EvalOptions, hooks: EvalHooks,
             loader: Callable[..., Any]) -> tuple[RunDir, dict[str, Any], list[TaskOutcome]]:
    """The whole `ibench eval`: load the model, run every task, score, write the leaderboard."""
    from ibench.protocol.templates import load_families

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




def check_scoring_needs(tasks: list[TaskSpec]) -> None:
    """Before any inference: what scoring will need is there (Java for CIDEr), else one line
    naming the tasks and what to install."""
    needing = [t.id for t in tasks if "java" in METRICS[t.metric].needs]
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
                     families: dict[str, TemplateFamily], run: RunDir
                     ) -> tuple[RunDir, dict[str, Any], list[TaskOutcome]]:
    from ibench.protocol.prompts import zero_shot_template
    from ibench.report.leaderboard import boards_for
    from ibench.report.render import render_board
    from ibench.run.score import score_run

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
    previous = install_clean_stop(hooks)
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
        restore_signals(previous)
        if reserve is not None:
            reserve.free()
    options.group.barrier()
    return run, metrics, outcomes


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
