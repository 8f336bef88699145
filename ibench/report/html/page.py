"""Assemble the report of one run (or two runs compared) and render it with Jinja2
(autoescaped: every string from a dataset, a prediction or a run folder is text)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ibench.report.html import plots, tables
from ibench.report.html.gallery import Gallery, build_gallery
from ibench.report.html.runs import ReportRun, TaskLines, open_report_run, task_lines
from ibench.run.folder import RunDir, RunError
from ibench.run.predictions import lost_lines
from ibench.safetext import visible_lines
from ibench.version import __version__

DEFAULT_SAMPLES = 12
# The page loads nothing: pictures are data: URIs, styles inline, and there is no script.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
       "form-action 'none'")


@dataclass
class RunSection:
    """What the page shows of one run."""

    run: ReportRun
    manifest: list[tuple[str, str]]
    manifest_details: list[tuple[str, str]]
    spreads: list[tables.Spread]
    robustness_svg: Markup | None
    failures: list[tables.FailureGroup]
    failure_counts: list[tuple[str, dict[str, int]]]
    skipped: list[tuple[str, str]]  # tasks asked but not run (their data), with the reason


@dataclass
class Report:
    """Everything the template renders."""

    title: str
    runs: list[RunSection]
    board: tables.Leaderboard
    diffs: list[tables.Difference]
    difference_svg: Markup | None
    galleries: list[Gallery]
    samples: int
    seed: int
    compare: tables.CompareTable | None = None
    compare_svg: Markup | None = None
    problems: list[str] = field(default_factory=list)
    csp: str = CSP
    version: str = __version__


def build_report(path_a: Path, path_b: Path | None = None, samples: int = DEFAULT_SAMPLES,
                 seed: int = 0) -> Report:
    """Read one or two run folders into a Report (RunError naming a missing or torn
    manifest.json or metrics.json; problems with per-task files are listed in the page)."""
    runs = [open_report_run(path_a, "A" if path_b else "")]
    if path_b is not None:
        runs.append(open_report_run(path_b, "B"))
    ran = [{t for t, e in r.tasks.items() if e.get("status") != "skipped"} for r in runs]
    task_ids = [t for t in runs[0].tasks if all(t in r for r in ran)]
    task_ids += [t for r in ran for t in sorted(r) if t not in task_ids]
    lines: list[dict[str, TaskLines]] = [{t: task_lines(r, t) for t in tasks}
                                         for r, tasks in zip(runs, ran, strict=True)]
    galleries = []
    for task in task_ids:
        members = [(r, part[task]) for r, part in zip(runs, lines, strict=True) if task in part]
        galleries.append(build_gallery(task, [r for r, _ in members], [p for _, p in members],
                                       samples, seed))
    diffs = tables.differences(runs)
    report = Report(
        title="ibench report: " + " vs ".join(r.name for r in runs),
        runs=[_run_section(r, part) for r, part in zip(runs, lines, strict=True)],
        board=tables.leaderboard(runs), diffs=diffs,
        difference_svg=Markup(plots.difference_plot(diffs)) if diffs else None,
        galleries=galleries, samples=samples, seed=seed,
        problems=list(dict.fromkeys([
            *(f"damaged: {lost}" for r in runs
              for _, lost in lost_lines(RunDir(r.path), r.manifest.tasks)),
            *(p for g in galleries for p in g.problems)])))
    if path_b is not None:
        from ibench.report.compare import compare_runs

        report.compare = tables.compare_table(compare_runs(path_a, path_b, seed=seed))
        if report.compare.rows:
            report.compare_svg = Markup(plots.compare_plot(report.compare.rows))
    return report


def _run_section(run: ReportRun, lines: dict[str, TaskLines]) -> RunSection:
    spreads = tables.robustness(run)
    manifest, details = tables.manifest_rows(run)
    counts = [(t, dict(e.get("failures") or {})) for t, e in run.tasks.items() if e.get("failures")]
    return RunSection(
        run=run, manifest=manifest, manifest_details=details, spreads=spreads,
        robustness_svg=Markup(plots.robustness_plot(spreads)) if spreads else None,
        failures=tables.failures(run, lines), failure_counts=counts,
        skipped=[(t, str(e.get("reason") or "")) for t, e in run.tasks.items()
                 if e.get("status") == "skipped"])


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("ibench.report.html", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      finalize=_as_data)
    env.filters["num"] = _num
    return env


def _as_data(value: Any) -> Any:
    """Every text the page shows, as data: autoescaped as HTML, and its control characters (a
    terminal's ESC and CSI among them) shown as escapes; ibench's own markup (the SVG plots)
    is left as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_lines(value)
    return value


def _num(value: Any, digits: int = 1, signed: bool = False) -> str:
    if not isinstance(value, (int, float)) or value != value:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def render_report(report: Report) -> str:
    """The page's HTML."""
    return _environment().get_template("report.html").render(report=report)


def default_output(path_a: Path, path_b: Path | None) -> Path:
    """RUN/report.html, or RUN/compare-<RUN_B's name>.html for two runs."""
    if path_b is None:
        return Path(path_a) / "report.html"
    return Path(path_a) / f"compare-{Path(path_b).resolve().name}.html"


def write_report(path_a: Path, path_b: Path | None = None, output: Path | None = None,
                 samples: int = DEFAULT_SAMPLES, seed: int = 0) -> tuple[Path, Report]:
    """Build, render and write the report atomically; returns its path and the Report."""
    report = build_report(path_a, path_b, samples=samples, seed=seed)
    output = Path(output) if output is not None else default_output(path_a, path_b)
    html = render_report(report)
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.unlink(missing_ok=True)  # a fresh file: never written through a link left there
        with tmp.open("x", encoding="utf-8") as handle:
            handle.write(html)
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunError(f"{output}: cannot write the report: {exc.strerror}") from exc
    return output, report
