"""The run's manifest: its name, the settings that decide its numbers (compared on resume), where
its data came from, the packages, and how each session and task went."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
import sys
import uuid
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from ibench.data import DataError
from ibench.data.source import data_source, open_source
from ibench.protocol.prompts import task_family
from ibench.protocol.taskspec import TaskSpec
from ibench.protocol.templates import TemplateFamily
from ibench.run.folder import RunDir, RunError, read_json
from ibench.run.hooks import TaskOutcome
from ibench.run.predictions import RETRYABLE, load_predictions, lost_lines
from ibench.run.schema import Manifest, demo_reasons
from ibench.run.settings import EvalRequest, RunSpec, Runtime
from ibench.version import __version__

PACKAGES = ("torch", "transformers", "numpy", "pycocoevalcap", "decord", "pillow", "tokenizers")


def default_run_name(request: EvalRequest) -> str:
    """A deterministic name from the settings, so the same command continues the same run."""
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in Path(request.model).name)
    ids = sorted(t.id for t in request.tasks)
    splits = {t.split for t in request.tasks}
    if len(ids) <= 3:
        scope = "+".join(ids)
    elif ids == sorted(request.whole_split):
        scope = splits.pop() if len(splits) == 1 else "all"
    else:  # a hand-picked set: name it by its content so it never clashes with a full split
        scope = f"{len(ids)}tasks-{hashlib.sha256(' '.join(ids).encode()).hexdigest()[:6]}"
    name = f"{slug}_{scope}_{request.templates}"
    overrides = sorted({json.dumps(t.decoding_overrides, sort_keys=True)
                        for t in request.tasks if t.decoding_overrides})
    if overrides:  # other decoding: another run
        name += f"_gen-{hashlib.sha256(' '.join(overrides).encode()).hexdigest()[:6]}"
    if request.limit is not None:
        name += f"_limit{request.limit}"
    if request.seed != 0:
        name += f"_seed{request.seed}"
    if not request.qformer_instruction:
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


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that can change results."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def resolve_spec(request: EvalRequest, model_info: dict[str, Any],
                 families: dict[str, TemplateFamily]) -> RunSpec:
    """The settings that decide the run's numbers, resolved with the model as loaded."""
    tasks = request.tasks
    return RunSpec(
        model=model_info.get("model_id") or request.model,
        model_revision=model_info.get("revision"),
        stop_token_ids=model_info.get("stop_token_ids"),
        dtype=model_info.get("dtype"),
        qformer_instruction=request.qformer_instruction,
        tasks=sorted(t.id for t in tasks),
        templates=request.templates,
        limit=request.limit,
        seed=request.seed,
        frames={t.id: request.video_frames(t) for t in tasks if t.media == "video"},
        data_root=str(request.data_root.resolve()),
        task_hashes={t.id: file_hash(t.source) for t in tasks},
        template_hashes={t.id: file_hash(task_family(t, families).source) for t in tasks},
        data_fingerprints={t.id: data_fingerprint(t, request.data_root) for t in tasks},
        decoding={
            t.id: {
                "lavis": {k: v for k, v in t.generation.items() if k != "sources"},
                "effective": asdict(t.generation_settings(model_info["architecture"]))
                if model_info.get("architecture") else None,
            }
            for t in tasks if t.generation
        },
    )


def build_settings(request: EvalRequest, spec: RunSpec, model_info: dict[str, Any]
                   ) -> dict[str, Any]:
    """The manifest's settings: the spec (what a resume must match), then what else was asked
    and found (the alias, the device, where each task's data came from, ...)."""
    overrides = {t.id: t.decoding_overrides for t in request.tasks if t.decoding_overrides}
    extra: dict[str, Any] = {}
    if overrides:  # --gen-kwargs: recorded, and the leaderboard says the row is not comparable
        extra["gen_kwargs"] = overrides
    from ibench.resources import included_roots

    if included_roots():
        extra["include_paths"] = included_roots()
    for key in ("model_args", "published_as", "requested_revision", "stand_in"):
        if model_info.get(key):  # recorded only when given
            extra[key] = model_info[key]
    return extra | spec.as_dict() | {
        "model_alias": request.model,
        "device": model_info.get("device"),
        "hub_revision": request.hub_revision,
        "data_sources": {t.id: data_source(t, request.data_root) for t in request.tasks},
        "ranking": {
            t.id: {"candidates": t.rank.candidates, "aggregation": t.rank.aggregation}
            for t in request.tasks
            if t.rank
        },
    }


def open_or_create_run(run: RunDir, spec: RunSpec, settings: dict[str, Any],
                       runtime: Runtime, model_info: dict[str, Any]) -> Manifest:
    """Create the manifest, or check a stored one has the same spec and record this session
    in it (process 0 writes it)."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    session = {"id": uuid.uuid4().hex[:12], "started": now, "ended": None,
               "command": list(runtime.command), "batch_size": runtime.batch_size,
               "world_size": runtime.group.world}
    if runtime.share is not None:
        session["share"] = runtime.share.label
    if runtime.resume and not run.manifest.exists():
        raise RunError(f"--resume: there is no run at {run.path} to continue (check --run-name "
                       f"and --output)")
    if run.manifest.exists():
        manifest = Manifest.read(run.manifest, resuming=True)
        diff = spec.differences(manifest.settings)
        if diff:
            raise RunError(f"run {run.path} was made with other settings and cannot be resumed:",
                           *(f"  {line}" for line in diff),
                           "Use another --run-name for a new run.")
        manifest.sessions.append(session)
        manifest.status = "running"
        manifest.packages = package_versions()
        manifest.model_info = model_info
    else:
        manifest = Manifest(
            settings=settings, ibench_version=__version__, git_commit=git_commit(),
            run_name=run.path.name, created=now, status="running", model_info=model_info,
            packages=package_versions(),
            host={"platform": platform.platform(), "python": sys.version.split()[0]},
            sessions=[session])
    manifest.demo = demo_reasons(manifest.settings)
    if runtime.group.rank == 0:
        manifest.write(run.manifest)
    return manifest


def finish_manifest(run: RunDir, manifest: Manifest, outcomes: list[TaskOutcome],
                    session: str | None = None) -> None:
    """Record how each task went (request counts by status over the whole run, from the
    prediction files) and close this session."""
    for outcome in outcomes:
        counts: dict[str, int] = {}
        if outcome.status == "ran":
            for line in load_predictions(run, outcome.task, light=True).values():
                counts[line.status] = counts.get(line.status, 0) + 1
        manifest.tasks[outcome.task] = {
            "status": outcome.status,
            "message": outcome.message,
            "batch_size": outcome.batch_size,
            "counts": dict(sorted(counts.items())),
        }
    skipped = [o for o in outcomes if o.status == "skipped"]
    manifest.close_session("complete" if not skipped else "partial", session, tasks={
        o.task: {"batch_size": o.batch_size, "out_of_memory_retries": o.oom_events,
                 "requests_run": o.requests, **o.work} for o in outcomes if o.status == "ran"})
    manifest.write(run.manifest)


def finished_run(run: RunDir, request: EvalRequest, families: dict[str, TemplateFamily]
                 ) -> dict[str, Any] | None:
    """The metrics of a run that is complete with the settings asked for, so that running the
    same command again neither loads the model nor runs anything; None when there is work (a
    new or unfinished run, other settings, a task missing, or failures a resume retries)."""
    if not run.manifest.exists() or not run.metrics.exists():
        return None
    try:
        manifest = Manifest.read(run.manifest, resuming=True)
        metrics = read_json(run.metrics)
    except RunError:
        return None  # resuming reports what is wrong with it
    if manifest.status != "complete" or not manifest.model_info:
        return None
    if resolve_spec(request, manifest.model_info, families).differences(manifest.settings):
        return None
    if lost_lines(run, manifest.tasks):  # a resume cuts a torn line and runs it again
        return None
    for task in request.tasks:
        entry = manifest.tasks.get(task.id)
        if not isinstance(entry, dict) or entry.get("status") != "ran":
            return None
        if set(entry.get("counts", {})) & set(RETRYABLE):
            return None
    return metrics if isinstance(metrics, dict) else None
