"""`ibench paper plan|run|table|explain`: the paper's Table 1, reproduced cell by cell."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ibench.cli.common import BatchSize, split_names, write_data
from ibench.models.base import DTYPE_NAMES
from ibench.safetext import visible

FORMATS = ("text", "md", "csv", "json", "latex", "html")


def _plan(models: str | None, task_names: str | None, data_root: Path | None,
          limit: int | None, ablation: bool):
    from ibench.paper.readiness import plan_for

    root = data_root or (Path(os.environ["IBENCH_DATA_ROOT"])
                         if os.environ.get("IBENCH_DATA_ROOT") else None)
    return plan_for(models, split_names(task_names), root, limit, ablation)


_COMMON = [
    click.option("--models", default=None, metavar="ALIAS[=DIR],...",
                 help="Table 1 checkpoints (default: all six published); =DIR: a local copy "
                      "of it (hf download REPO --local-dir DIR)."),
    click.option("--tasks", "task_names", default=None,
                 help="Comma-separated Table 1 datasets (default: all 13)."),
    click.option("--data-root", type=click.Path(path_type=Path), default=None,
                 help="Datasets folder (default $IBENCH_DATA_ROOT)."),
    click.option("--limit", type=click.IntRange(1), default=None,
                 help="A seeded subset of N samples per dataset (a quick pass)."),
    click.option("--ablation", is_flag=True,
                 help="Also Table 2's ablation row: FlanT5XL with no Q-Former instruction."),
]


def common(func):
    for option in reversed(_COMMON):
        func = option(func)
    return func


@click.group("paper")
def paper() -> None:
    """Reproduce the paper's Table 1: plan, run, table, explain."""


@paper.command("plan")
@common
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON.")
def plan_cmd(models: str | None, task_names: str | None, data_root: Path | None,
             limit: int | None, ablation: bool, as_json: bool) -> None:
    """What is ready, what is missing (with the command that fixes it), the requests and the
    projected GPU time. Exit 0 when everything asked is ready, 1 otherwise."""
    from ibench.paper.readiness import plan_lines

    plan = _plan(models, task_names, data_root, limit, ablation)
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=1, ensure_ascii=False))
    else:
        for line in plan_lines(plan):
            click.echo(visible(line))
    sys.exit(0 if plan.ready else 1)


@paper.command("run")
@common
@click.option("--output", type=click.Path(path_type=Path), default=Path("paper"),
              show_default=True, help="The paper folder: one run folder per model.")
@click.option("--shard", default=None, metavar="I/N",
              help="Run share I of N of every model's run (separate jobs on a shared file "
                   "system); the last share of a run scores it.")
@click.option("--batch-size", type=BatchSize(), default="8", show_default=True)
@click.option("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available).")
@click.option("--dtype", type=click.Choice(DTYPE_NAMES), default=None)
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True)
def run_cmd(models: str | None, task_names: str | None, data_root: Path | None,
            limit: int | None, ablation: bool, output: Path, shard: str | None,
            batch_size: int | None, device: str | None, dtype: str | None,
            workers: int) -> None:
    """Run every ready (model, dataset) pair into the paper folder (resumable: run it again
    to continue), cheapest datasets first; then print the table."""
    from ibench.cli.progress import RichHooks
    from ibench.paper.formats import html_page, text
    from ibench.paper.readiness import plan_lines
    from ibench.paper.runner import run_paper
    from ibench.paper.table import build_table
    from ibench.run.dist import from_environment

    plan = _plan(models, task_names, data_root, limit, ablation)
    hooks = RichHooks(quiet=from_environment().rank != 0)
    if not hooks.quiet:
        for line in plan_lines(plan):
            click.echo(visible(line))
    done = run_paper(plan, output, hooks, shard=shard, batch_size=batch_size, device=device,
                     dtype=dtype, workers=workers)
    if hooks.quiet:
        return
    for name, why in done.skipped.items():
        click.echo(f"not run: {name}: {why}", err=True)
    waiting = [name for name, run in done.runs.items() if run.waiting_for_shares]
    if waiting:
        click.echo(f"share {shard} done for {', '.join(waiting)}; the last share to finish "
                   f"scores each run (or run the same command without --shard)")
    if done.runs and not waiting:
        table = build_table(output)
        click.echo(text(table))
        page = output / "table.html"
        page.write_text(html_page(table), encoding="utf-8")
        click.echo(f"table: {page}")
    sys.exit(0 if plan.ready and not done.skipped else 1)


@paper.command("table")
@click.option("--output", type=click.Path(path_type=Path), default=Path("paper"),
              show_default=True, help="The paper folder (paper run --output).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="html writes OUTPUT/table.html (a heat map).")
def table_cmd(output: Path, fmt: str) -> None:
    """Table 1 replicated: each cell's paper number, ours with its 95% interval, the
    difference and a verdict, with the row averages."""
    from ibench.paper.formats import RENDERERS
    from ibench.paper.table import build_table

    table = build_table(output)
    rendered = RENDERERS[fmt](table)
    if fmt == "html":
        page = output / "table.html"
        page.write_text(rendered, encoding="utf-8")
        click.echo(f"table: {page}")
        return
    if fmt == "text":  # its pieces of run-folder text already shown as data
        click.echo(rendered)
        return
    write_data(rendered)


@paper.command("explain")
@click.argument("model")
@click.argument("task")
@click.option("--output", type=click.Path(path_type=Path), default=Path("paper"),
              show_default=True, help="The paper folder (paper run --output).")
@click.option("--json", "as_json", is_flag=True)
def explain_cmd(model: str, task: str, output: Path, as_json: bool) -> None:
    """One cell's provenance: template, decoding arguments and their LAVIS sources, metric
    variant, data files and revision, checkpoint, run folder."""
    from ibench.paper.explain import explain, explain_lines
    from ibench.paper.table import build_table

    record = explain(build_table(output), model, task)
    if as_json:
        click.echo(json.dumps(record, indent=1, ensure_ascii=False))
        return
    for line in explain_lines(record):
        click.echo(visible(line))
