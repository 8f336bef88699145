"""`ibench data`: datasets on disk (check, download, the sample pack) and the mixture."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from ibench.cli.common import split_names
from ibench.cli.display import console, print_json, print_table
from ibench.protocol.mixture import MIXTURE_SPLITS, load_sizes, sqrt_mixture, task_sizes
from ibench.protocol.suite import load_tasks, select_tasks
from ibench.protocol.taskspec import SPLIT_CHOICES


@click.group()
def data() -> None:
    """Datasets on disk: mixture, checks, the synthetic sample pack."""


@data.command("mixture")
@click.option("--split", type=click.Choice(MIXTURE_SPLITS), default="held-in")
@click.option("--tasks", "task_names", default=None, help="Comma-separated task ids.")
@click.option("--sizes", "sizes_file", type=click.Path(path_type=Path), default=None,
              help="YAML/JSON {dataset: size}; default: the task files' train sizes.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_mixture(split: str, task_names: str | None, sizes_file: Path | None,
                 as_json: bool) -> None:
    """The paper's square-root sampling probabilities over a set of datasets."""
    if sizes_file is not None:
        sizes = load_sizes(sizes_file)
    else:
        sizes = task_sizes(select_tasks(load_tasks(), split, split_names(task_names)))
    probs = sqrt_mixture(sizes)
    if as_json:
        print_json({name: {"size": sizes[name], "probability": p} for name, p in probs.items()})
        return
    print_table("Square-root mixture: p_d = sqrt(S_d) / sum_i sqrt(S_i)",
                ["dataset", "size", "probability"],
                [[n, f"{sizes[n]:,}", f"{p:.4f}"] for n, p in probs.items()])


@data.command("download")
@click.argument("task_names", nargs=-1)
@click.option("--split", type=click.Choice(SPLIT_CHOICES),
              default=None, help="Every task of a split that has a hub mirror.")
@click.option("--data-root", type=click.Path(path_type=Path), envvar="IBENCH_DATA_ROOT",
              required=True, help="Datasets folder; default $IBENCH_DATA_ROOT.")
def data_download(task_names: tuple[str, ...], split: str | None, data_root: Path) -> None:
    """Fetch tasks' hub parquet mirrors into DATA_ROOT/hub/<owner>/<name>/."""
    from ibench.data.download import download_tasks

    if not task_names and split is None:
        raise click.UsageError("name tasks, or give --split")
    tasks = select_tasks(load_tasks(), split or "all", list(task_names) or None)
    if not task_names:
        tasks = [t for t in tasks if t.hub is not None]
    failed = download_tasks(tasks, data_root, lambda text: console().print(
        text, markup=False, highlight=False))
    if failed:
        sys.exit(1)


@data.command("check")
@click.option("--data-root", type=click.Path(path_type=Path), envvar="IBENCH_DATA_ROOT",
              required=True, help="Datasets folder; default $IBENCH_DATA_ROOT.")
@click.option("--tasks", "task_names", default=None, help="Comma-separated task ids (default all).")
@click.option("--split", type=click.Choice(SPLIT_CHOICES),
              default="all")
@click.option("--full", is_flag=True, help="Check every media file, not a sample.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_check(data_root: Path, task_names: str | None, split: str, full: bool,
               as_json: bool) -> None:
    """For each task: found or missing (with the exact path), sample count, media problems."""
    from ibench.data.check import check_task

    chosen = select_tasks(load_tasks(), split, split_names(task_names))
    checks = [check_task(t, data_root, full=full) for t in chosen]
    if as_json:
        print_json([asdict(c) for c in checks])
    else:
        _print_checks(checks, data_root)
        _print_hub_routes(chosen, checks, data_root)
    if any(not c.usable for c in checks):
        sys.exit(1)


def _print_hub_routes(tasks: list, checks: list, data_root: Path) -> None:
    """Per task with a hub mirror: the copy in use, or the command that fetches it."""
    from ibench.data.check import hub_route

    out = console()
    for task, check in zip(tasks, checks, strict=True):
        line = hub_route(task, check, data_root)
        if line is not None:
            out.print(line)


def _print_checks(checks: list, data_root: Path) -> None:
    rows = []
    for c in checks:
        status = "found" if c.usable else "MISSING" if c.missing_files else "UNUSABLE"
        count = f"{c.n_samples} (protocol {c.expected or '-'})" if c.usable else "-"
        if c.bad_records:
            count += f", {len(c.bad_records)} bad records"
        media = f"{len(c.media_problems)} of {c.media_checked} bad" if c.usable else "-"
        rows.append([c.task, status, count, media])
    print_table(f"Data under {data_root}", ["task", "status", "samples", "media checked"], rows)
    out = console()
    for c in checks:
        for path in c.missing_files:
            out.print(f"{c.task}: missing {path}")
            out.print(f"    published at {c.published_at}")
        layouts = c.layouts_tried()
        if c.missing_files and len(layouts) > 1:
            tried = "; ".join(f"{name}: missing {', '.join(str(f) for f in missing)}"
                              if missing else f"{name}: complete" for name, missing in layouts)
            out.print(f"{c.task}: layouts tried ({tried}); the closest is {c.variant}",
                      markup=False, highlight=False)
        if c.error and not c.missing_files:
            out.print(f"{c.task}: {c.error}")
        for reason in c.bad_records[:10]:  # dataset text: never markup
            out.print(f"{c.task}: bad record: {reason}", markup=False, highlight=False)
        for problem in c.media_problems[:10]:
            out.print(f"{c.task}: sample {problem[0]}: {problem[1]}: {problem[2]}")


@data.command("sample-pack")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--per-task", type=click.IntRange(1, 1000), default=8, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def data_sample_pack(directory: Path, per_task: int, seed: int) -> None:
    """Write a small synthetic copy of all 26 datasets in their official on-disk formats."""
    from ibench.data.samplepack import write_sample_pack

    counts = write_sample_pack(directory, per_task=per_task, seed=seed)
    click.echo(f"wrote the data of {len(counts)} tasks (every task file: the 26 datasets, "
               f"A-OKVQA's direct answers and VizWiz test-dev; {sum(counts.values())} samples) "
               f"to {directory}")
