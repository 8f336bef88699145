"""The Python API, which the command line stands on: evaluate a model, load a run, set runs
beside the paper and each other, write a report. The one place that decides what happens
after a run: score (in ibench.run), then leaderboard.md and report.html.

    >>> import ibench
    >>> run = ibench.evaluate("tiny-vicuna", tasks=["gqa", "vsr"])   # doctest: +SKIP
    >>> run.metrics[["task", "metric", "value", "ci_low", "ci_high"]]  # doctest: +SKIP
    >>> wrong = run.predictions.query("sample_score < 100")           # doctest: +SKIP
    >>> ibench.compare(run_a.path, run_b.path).frame                  # doctest: +SKIP

Tables come as pandas DataFrames (what a notebook filters and plots); the command line renders
the same records exactly, escaped for each output format.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibench.names import UnknownNameError
from ibench.protocol.suite import load_tasks, select_tasks
from ibench.report.compare import Comparison, compare_runs
from ibench.report.leaderboard import Board, boards_for
from ibench.report.render import render_board
from ibench.run.folder import RunDir, RunError, load_references, read_json
from ibench.run.hooks import EvalHooks, TaskOutcome
from ibench.run.predictions import load_predictions
from ibench.run.schema import Manifest, TaskMetrics, open_run, read_metrics

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportFile", "Run", "compare", "evaluate", "leaderboard", "load_run", "report"]
# (`ibench.report` is the report package: the API's report() is reached as Run.report or
# ibench.api.report)


@dataclass(frozen=True)
class ReportFile:
    """A written HTML report: its path, and the problems listed in it (torn or missing files
    of the run folder, named in the page). Usable wherever a path is."""

    path: Path
    problems: list[str] = field(default_factory=list)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def size(self) -> str:
        """The file's size in kB or MB."""
        size = self.path.stat().st_size
        return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


@dataclass
class Run:
    """A run folder, read: its `manifest`, its `metrics` and `predictions` as DataFrames,
    the typed entries of metrics.json (`scores`), and, for a run this process evaluated, what
    happened to each task (`outcomes`) and where its report is (`report_path`)."""

    path: Path
    manifest: Manifest
    outcomes: list[TaskOutcome] = field(default_factory=list)
    report_file: ReportFile | None = None
    warnings: list[str] = field(default_factory=list)
    waiting_for_shares: bool = False  # this process ran a share; the last share scores

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def scores(self) -> dict[str, TaskMetrics]:
        """metrics.json's entry per task, typed ({} before the run is scored)."""
        folder = RunDir(self.path)
        return read_metrics(folder.metrics)[1] if folder.metrics.exists() else {}

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """One row per task: metric, status, headline value and its 95% interval (ci_low,
        ci_high), n, failed requests, the headline template, and why a task has no value."""
        import pandas as pd

        rows = [{"task": m.task, "metric": m.metric, "status": m.status, "value": m.value,
                 "ci_low": m.low, "ci_high": m.high, "n": m.n,
                 "failures": sum(m.failures.values()), "template": m.headline_template,
                 "zero_shot": m.headline_is_zero_shot, "reason": m.reason}
                for m in self.scores.values()]
        return pd.DataFrame(rows, columns=["task", "metric", "status", "value", "ci_low",
                                           "ci_high", "n", "failures", "template", "zero_shot",
                                           "reason"])

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """One row per prediction line of every task (the line's fields), with the sample's
        `references` and, for a scored template, its per-sample score (`sample_score`, on
        the metric's scale: 100 is right for accuracy-like metrics)."""
        import pandas as pd

        folder = RunDir(self.path)
        rows = []
        for task in self.manifest.settings.get("tasks", []):
            references = load_references(folder, task) if folder.references(task).exists() else {}
            scores = _sample_scores(folder, task)
            for line in load_predictions(folder, task).values():
                row = line.to_json()
                row["task"] = task
                row["references"] = references.get(line.sample_id)
                row["sample_score"] = scores.get(line.template_id, {}).get(line.sample_id)
                rows.append(row)
        first = ["task", "sample_id", "template_id", "status", "prediction", "sample_score",
                 "references", "choice", "score", "scores", "top", "reason", "prompt"]
        present = {key for row in rows for key in row}
        columns = [c for c in first if c in present or c in first[:7]]
        return pd.DataFrame(rows, columns=columns + sorted(present - set(columns)))

    def report(self, path: str | Path | None = None, against: str | Path | Run | None = None,
               samples: int = 12, seed: int = 0) -> ReportFile:
        """Write the run's self-contained HTML report (default RUN/report.html), or, `against`
        another run A, this run as run B against it (default A/compare-<this run>.html)."""
        if against is None:
            return report(self.path, output=path, samples=samples, seed=seed)
        return report(against, self.path, output=path, samples=samples, seed=seed)

    def problems(self) -> list[str]:
        """Why this evaluation did not succeed ([] when it did): no task was scored, or every
        request of a task failed in this session (the command line exits 1 on any)."""
        scored = [m for m in self.scores.values() if m.value is not None
                  or m.status == "submission"]
        out = []
        if not scored:
            skipped = sum(o.status == "skipped" for o in self.outcomes)
            root = self.manifest.settings.get("data_root")
            out.append(f"no task was scored ({len(self.outcomes) or len(self.scores)} asked, "
                       f"{skipped} skipped for their data); see `ibench data check "
                       f"--data-root {root}`")
        for o in self.outcomes:
            if o.counts and not o.counts.get("ok"):
                kinds = ", ".join(f"{n} {k}" for k, n in sorted(o.counts.items()))
                out.append(f"{o.task}: every request of this session failed ({kinds}); the "
                           f"reasons are in {RunDir(self.path).predictions(o.task)}")
        return out


def _sample_scores(folder: RunDir, task: str) -> dict[str, dict[str, float]]:
    """{template: {sample id: per-sample score}} from the run's scores/ files."""
    out: dict[str, dict[str, float]] = {}
    for path in sorted((folder.path / "scores").glob(f"{task}.*.json")):
        template = path.name[len(task) + 1:-len(".json")]
        data = read_json(path)
        per_sample = data.get("per_sample") if isinstance(data, dict) else None
        if isinstance(per_sample, dict):
            out[template] = {str(k): v for k, v in per_sample.items()}
    return out


def load_run(path: str | Path) -> Run:
    """A run folder (finished or not), read.

        >>> run = ibench.load_run("results/tiny-vicuna_held-out_eval")  # doctest: +SKIP
        >>> run.predictions.head()                                     # doctest: +SKIP
    """
    folder, manifest = open_run(Path(path))
    return Run(folder.path, manifest)


def evaluate(model: str, tasks: str | Sequence[str] | None = None, *,
             split: str = "held-out", data_root: str | Path | None = None,
             templates: str = "eval", limit: int | None = None, seed: int = 0,
             frames: int | None = None, qformer_instruction: bool = True,
             dtype: str | None = None, device: str | None = None,
             batch_size: int | None = 8, workers: int = 2, output: str | Path = "results",
             run_name: str | None = None, resume: bool = False, strict: bool = False,
             hub_revision: str | None = None, revision: str | None = None,
             model_args: str | Mapping[str, Any] | None = None, published_as: str | None = None,
             gen_kwargs: str | Mapping[str, Any] | None = None, allow_pickle: bool = False,
             shard: str | None = None, report: bool = True, hooks: EvalHooks | None = None,
             loader: Any = None) -> Run:
    """Evaluate a model (an alias, a hub id or a folder) on a split's tasks or the named ones:
    run (resumably), score, write leaderboard.md and (with `report`) report.html. The same as
    `ibench eval`; every option has the command line's meaning. Under torchrun each process
    calls it; process 0 gets the scored run. With `shard="I/N"` it runs one share of the run
    (run/shares.py); the share that finishes last scores it (the others return a Run with
    `waiting_for_shares`).

        >>> run = ibench.evaluate("tiny-t5", tasks="gqa,vsr", limit=4)  # doctest: +SKIP
    """
    from ibench.models.device import check_device
    from ibench.run.dist import from_environment, shutdown
    from ibench.run.evaluate import evaluate as run_and_score
    from ibench.run.settings import EvalRequest, Runtime
    from ibench.run.shares import parse_share

    hooks = hooks or EvalHooks()
    names = [n.strip() for n in tasks.split(",") if n.strip()] if isinstance(tasks, str) else (
        list(tasks) if tasks is not None else None)
    chosen = select_tasks(load_tasks(), split, names or None)
    if gen_kwargs:
        from ibench.protocol.decoding import parse_gen_kwargs

        overrides = parse_gen_kwargs(gen_kwargs)
        chosen = [replace(t, decoding_overrides=overrides) if t.generation else t
                  for t in chosen]
    check_device(device)  # before anything loads: one line, not a CUDA traceback
    check_model_name(model)
    arguments: dict[str, Any] = {}
    if model_args:
        from ibench.models.loading import parse_model_args

        arguments = parse_model_args(model_args)
    group = from_environment()
    request = EvalRequest(
        model=model, tasks=tuple(chosen), data_root=resolve_data_root(data_root, model, hooks),
        templates=templates, limit=limit, seed=seed, frames=frames,
        qformer_instruction=qformer_instruction, dtype=dtype, hub_revision=hub_revision,
        revision=revision, model_args=arguments, published_as=published_as,
        allow_pickle=allow_pickle,
        whole_split=tuple(t.id for t in select_tasks(load_tasks(), split)) if not names else ())
    runtime = Runtime(device=device, batch_size=batch_size, workers=workers,
                      output=Path(output), run_name=run_name, resume=resume, strict=strict,
                      group=group, share=parse_share(shard) if shard else None)
    try:
        folder, metrics, outcomes = run_and_score(request, runtime, hooks, loader)
    finally:
        shutdown(group)
    run = Run(folder.path, Manifest.read(folder.manifest), outcomes,
              waiting_for_shares=metrics is None)
    if group.rank != 0 or run.waiting_for_shares:
        return run
    write_leaderboard(folder)
    if report:
        _report_after_eval(run)
    return run


def check_model_name(name: str) -> None:
    """A name that is no alias, no folder and no owner/name hub id is a typo: say which
    aliases it is close to (as a task name's typo is answered)."""
    from ibench.models.families import find_alias, list_aliases

    if find_alias(name) is not None or "/" in name or Path(name).expanduser().exists():
        return
    raise UnknownNameError("model", name, [a.alias for a in list_aliases()])


def resolve_data_root(data_root: str | Path | None, model: str, hooks: EvalHooks) -> Path:
    """The data root asked for, else $IBENCH_DATA_ROOT, else the synthetic sample pack (built
    on first use; said in a message, a warning for a model that is not a stand-in)."""
    if data_root is not None:
        return Path(data_root)
    env = os.environ.get("IBENCH_DATA_ROOT")
    if env:
        return Path(env)
    from ibench.data.samplepack import default_sample_pack

    pack = default_sample_pack()
    note = (f"no --data-root: using the synthetic sample pack at {pack} (its numbers mean "
            "nothing; pass --data-root for real datasets)")
    hooks.message(note if model.startswith("tiny-") else "WARNING: " + note)
    return pack


def write_leaderboard(folder: RunDir) -> None:
    """RUN/leaderboard.md: every paper table the run has tasks of, the run beside its rows."""
    folder.leaderboard.write_text("\n".join(
        f"## {board.title}\n\n{render_board(board, 'md')}"
        for board in boards_for([folder.path])), encoding="utf-8")


def _report_after_eval(run: Run) -> None:
    """report.html after an evaluation; a report problem never fails a finished run (it
    becomes a warning)."""
    try:
        run.report_file = report(run.path)
    except (RunError, OSError) as exc:
        run.warnings.append(f"no report.html: {exc}")


def find_runs(paths: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """The run folders among `paths`, a folder of runs standing for the runs in it (how
    `results/` holds them), and a note for each thing skipped (a folder that is no run, a
    stray file). A path that does not exist, or paths that hold no run at all, are an error."""
    runs: list[Path] = []
    skipped: list[str] = []
    for given in map(Path, paths):
        if _is_run(given):
            runs.append(given)
            continue
        if not given.exists() and not given.is_symlink():
            raise RunError(f"{given}: no such run folder")
        children = sorted(given.iterdir()) if given.is_dir() and not given.is_symlink() else []
        inside = [child for child in children if _is_run(child)]
        runs += inside
        if not inside:
            skipped.append(_not_a_run(given))
        else:
            skipped += [_not_a_run(child) for child in children if child not in inside]
    if paths and not runs:
        raise RunError(f"no ibench run in {', '.join(map(str, paths))} (a run folder holds "
                       f"manifest.json)")
    return runs, skipped


def _not_a_run(path: Path) -> str:
    what = "a file" if path.is_file() else "a link" if path.is_symlink() else "no manifest.json"
    return f"skipped {path}: not an ibench run ({what})"


def _is_run(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / "manifest.json").is_file()


def leaderboard(runs: str | Path | Sequence[str | Path] = (), table: str = "held-out",
                include_reference: bool = True) -> pd.DataFrame:
    """One paper table (held-out: Table 1, held-in, finetuned: Table 3) with the paper's rows
    and a row per run: a DataFrame indexed by row name, a column per dataset (and average);
    its `attrs` hold the title and the notes a reader must see.

        >>> ibench.leaderboard(["results/run_a", "results/run_b"])  # doctest: +SKIP
    """
    paths, skipped = find_runs([runs] if isinstance(runs, (str, Path)) else list(runs))
    [board] = boards_for(paths, table, include_reference=include_reference)
    board.notes += skipped
    return board_frame(board)


def board_frame(board: Board) -> pd.DataFrame:
    """A leaderboard as a DataFrame (None values as NaN)."""
    import pandas as pd

    frame = pd.DataFrame([{c: values.get(c) for c in board.columns}
                          for _, values in board.rows],
                         index=pd.Index([name for name, _ in board.rows], name="model"),
                         columns=board.columns, dtype=float)
    frame.attrs.update(title=board.title, notes=list(board.notes))
    return frame


def compare(run_a: str | Path | Run, run_b: str | Path | Run, resamples: int = 1000,
            seed: int = 0) -> Comparison:
    """Run B against run A per task (paired bootstrap): `.frame` is the DataFrame of rows,
    `.warnings` what a reader must know, `.manifest_diff` the settings that differ.

        >>> ibench.compare("results/run_a", "results/run_b").frame  # doctest: +SKIP
    """
    a = run_a.path if isinstance(run_a, Run) else Path(run_a)
    b = run_b.path if isinstance(run_b, Run) else Path(run_b)
    return compare_runs(a, b, n_resamples=resamples, seed=seed)


def report(run: str | Path | Run, run_b: str | Path | Run | None = None,
           output: str | Path | None = None, samples: int = 12, seed: int = 0) -> ReportFile:
    """Write the self-contained HTML report of a run, or of run B against run A (default
    RUN/report.html, RUN/compare-RUN_B.html).

        >>> ibench.report("results/run_a", "results/run_b")  # doctest: +SKIP
    """
    from ibench.report.html import write_report

    a = run.path if isinstance(run, Run) else Path(run)
    b = None if run_b is None else run_b.path if isinstance(run_b, Run) else Path(run_b)
    path, page = write_report(a, b, None if output is None else Path(output), samples=samples,
                              seed=seed)
    return ReportFile(path, list(page.problems))
