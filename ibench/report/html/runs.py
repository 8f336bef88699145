"""Reading run folders for the HTML report: checked shapes, and per-task problems as notices
(a torn or missing file is named in the page, never a traceback)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibench.run.folder import RunDir, RunError, load_references, read_json
from ibench.run.predictions import load_predictions
from ibench.run.schema import Manifest, open_run, read_metrics


@dataclass
class ReportRun:
    """One run folder as the report reads it: its manifest and metrics.json's tasks."""

    path: Path
    label: str  # "A" / "B" with two runs, "" with one
    manifest: Manifest
    tasks: dict[str, dict[str, Any]]
    bootstrap: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def settings(self) -> dict[str, Any]:
        return self.manifest.settings

    @property
    def board_name(self) -> str:
        """The run's row name in `build_leaderboard`."""
        from ibench.report.leaderboard import run_row_name

        return run_row_name(self.name, self.manifest)


def open_report_run(path: Path, label: str = "") -> ReportRun:
    """A scored run folder; RunError naming the file when the manifest or metrics.json is
    missing, torn or of the wrong shape."""
    run, manifest = open_run(Path(path))
    if not run.metrics.exists():
        raise RunError(f"{run.metrics}: missing: the run has not been scored (finish it with "
                       "the same `ibench eval` command, or --resume)")
    bootstrap, scored = read_metrics(run.metrics)
    if not all(isinstance(m.entry, dict) and m.entry for m in scored.values()):
        raise RunError(f"{run.metrics}: field 'tasks' must be a JSON object of task entries")
    return ReportRun(run.path, label, manifest, {t: m.entry for t, m in scored.items()},
                     bootstrap)


@dataclass
class TaskLines:
    """What the gallery needs of one task of one run (its headline template)."""

    template: str | None
    corpus_level: bool = False
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)  # headline template
    failures: list[dict[str, Any]] = field(default_factory=list)  # every failed line
    references: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def task_lines(run: ReportRun, task: str) -> TaskLines:
    """Predictions, references and per-sample scores of a task; a missing or torn file becomes
    a problem naming it (the rest of the task still shows)."""
    folder = RunDir(run.path)
    entry = run.tasks.get(task, {})
    out = TaskLines(template=entry.get("headline_template"))
    try:
        lines = {key: line.to_json() for key, line in load_predictions(folder, task).items()}
    except RunError as exc:
        out.problems.append(str(exc))
        lines = {}
    if not folder.prediction_files(task):
        out.problems.append(f"{folder.predictions(task)}: missing")
    if out.template is None and lines:
        out.template = sorted({tid for _, tid in lines})[0]
    for (sid, tid), line in lines.items():
        if tid == out.template:
            out.predictions[sid] = line
        if line.get("status") != "ok":
            out.failures.append(line)
    try:
        out.references = load_references(folder, task)
    except RunError as exc:
        out.problems.append(str(exc))
    if not folder.references(task).exists():
        out.problems.append(f"{folder.references(task)}: missing")
    if out.template is not None and "value" in entry.get("templates", {}).get(out.template, {}):
        out.scores, out.corpus_level = _scores(folder, task, out.template, out.problems)
    return out


def _scores(folder: RunDir, task: str, template: str, problems: list[str]
            ) -> tuple[dict[str, float], bool]:
    path = folder.path / "scores" / f"{task}.{template}.json"
    if not path.exists():
        problems.append(f"{path}: missing (no per-sample scores)")
        return {}, False
    try:
        data = read_json(path)
    except RunError as exc:
        problems.append(str(exc))
        return {}, False
    per_sample = data.get("per_sample") if isinstance(data, dict) else None
    if not isinstance(per_sample, dict):
        problems.append(f"{path}: field 'per_sample' must be a JSON object")
        return {}, False
    scores = {str(k): float(v) for k, v in per_sample.items() if isinstance(v, (int, float))}
    return scores, bool(data.get("corpus_level"))
