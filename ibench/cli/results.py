"""`ibench leaderboard`, `ibench compare`, `ibench report`: what runs say, beside the paper and
each other."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from ibench.cli.common import write_data
from ibench.cli.display import console, print_board, print_table
from ibench.protocol.paper import paper_tables
from ibench.report.leaderboard import boards_for
from ibench.report.render import FORMATS, render_board
from ibench.safetext import terminal, visible


@click.command("leaderboard")
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              default="table", show_default=True)
@click.option("--no-reference", is_flag=True, help="Leave out the paper's published rows.")
@click.option("--table", "which", type=click.Choice([*paper_tables(), "others"]),
              default="held-out", show_default=True,
              help="Table 1 (held-out), the held-in datasets beside Table 2's average, "
                   "Table 3's fine-tuned rows, or the runs' tasks outside them (others).")
def leaderboard_cmd(runs: tuple[Path, ...], fmt: str, no_reference: bool, which: str) -> None:
    """Runs beside the paper's Table 1 (held-out datasets in the paper's order, and average).
    RUNS are run folders, or folders of runs (`ibench leaderboard results`)."""
    from ibench.api import find_runs

    paths, skipped = find_runs(list(runs))
    for note in skipped:
        click.echo(f"note: {visible(note)}", err=True)
    [board] = boards_for(paths, which, include_reference=not no_reference)
    if fmt != "table":
        write_data(render_board(board, fmt))
        return
    print_board(board)


@click.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--resamples", type=click.IntRange(100), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def compare_cmd(run_a: Path, run_b: Path, resamples: int, seed: int, fmt: str,
                as_json: bool) -> None:
    """What changed from run A to run B, per task, and whether it is significant."""
    from ibench.api import compare
    from ibench.report.render import (
        COMPARE_HEADER,
        COMPARE_TERMINAL,
        comparison_cells,
        comparison_notes,
        render_comparison,
    )

    result = compare(run_a, run_b, resamples=resamples, seed=seed)
    if as_json:
        fmt = "json"
    if fmt != "table":
        write_data(render_comparison(result, fmt))
        return
    print_table(f"B - A (A = {run_a.name}, B = {run_b.name}): paired bootstrap, {resamples} "
                f"resamples", COMPARE_HEADER[:COMPARE_TERMINAL],
                [row[:COMPARE_TERMINAL] for row in comparison_cells(result)])
    err = console(stderr=True)
    for note in comparison_notes(result):
        warning = note in result.warnings
        err.print(Text.assemble(("warning:" if warning else "note:", "yellow" if warning else ""),
                                " ", terminal(note)))


@click.command("report")
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path), required=False)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Default: RUN/report.html (one run), RUN/compare-RUN_B.html (two).")
@click.option("--samples", type=click.IntRange(0), default=12, show_default=True,
              help="Samples per task in the gallery (seeded choice; failures come on top).")
@click.option("--seed", type=int, default=0, show_default=True)
def report_cmd(run: Path, run_b: Path | None, output: Path | None, samples: int,
               seed: int) -> None:
    """A self-contained HTML report of a run, or of run B against run A (opens offline)."""
    from ibench.api import report

    written = report(run, run_b, output, samples=samples, seed=seed)
    for problem in written.problems:
        click.echo(f"warning: {visible(problem)}", err=True)  # run folder text, as data
    click.echo(f"wrote {written.path} ({written.size})")
