"""`ibench eval`: evaluate a model on the suite."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ibench.cli.common import INCLUDE, BatchSize, split_names
from ibench.cli.display import print_board
from ibench.models.base import DTYPE_NAMES
from ibench.protocol.taskspec import SPLIT_CHOICES
from ibench.report.leaderboard import boards_for
from ibench.safetext import visible


@click.command("eval")
@click.option("--model", required=True, help="Alias (ibench models list), hub id or local dir.")
@click.option("--split", type=click.Choice(SPLIT_CHOICES),
              default="held-out", show_default=True,
              help="server: splits scored only by a server (VizWiz test-dev): writes the file "
                   "to upload.")
@click.option("--tasks", "task_names", default=None,
              help="Comma-separated task ids (`--tasks list`: list them).")
@click.option("--templates", default="eval", show_default=True,
              help="eval (zero-shot prompt), all, a count K (first K), or a template id.")
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help="Datasets folder; default $IBENCH_DATA_ROOT, else the synthetic sample pack.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Evaluate a seeded subset of N samples per task (same for every model).")
@click.option("--batch-size", type=BatchSize(), default="8", show_default=True,
              help="Requests per batch, or auto (the largest that fits; halved on OOM).")
@click.option("--frames", type=click.IntRange(1), default=None, help="Video frames (task: 4).")
@click.option("--output", type=click.Path(path_type=Path), default=Path("results"),
              show_default=True)
@click.option("--run-name", default=None, help="Default: derived from the settings.")
@click.option("--resume", is_flag=True, help="Continue the run (also implied by the same name).")
@click.option("--hub-revision", default=None,
              help="Accept this hub mirror revision where it differs from a task's pinned one.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strict", is_flag=True, help="Stop at the first failure or missing dataset.")
@click.option("--no-qformer-instruction", is_flag=True,
              help="Ablation: give the Q-Former no instruction.")
@click.option("--dtype", type=click.Choice(DTYPE_NAMES), default=None)
@click.option("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available).")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
              help="Threads loading media ahead of the model.")
@click.option("--allow-pickle", is_flag=True, help="Allow non-safetensors checkpoints.")
@click.option("--revision", default=None,
              help="The hub commit, branch or tag of --model (recorded in the manifest).")
@click.option("--model-args", default=None,
              help="from_pretrained keyword arguments, e.g. attn_implementation=sdpa "
                   "(recorded).")
@click.option("--published-as", default=None,
              help="The published checkpoint a local --model folder is a copy of (an alias "
                   "such as vicuna-7b), for its row beside the paper's.")
@click.option("--gen-kwargs", default=None,
              help="Override decoding, e.g. num_beams=1,max_new_tokens=20 (recorded; the row is "
                   "then not comparable to the paper).")
@click.option("--shard", default=None, metavar="I/N",
              help="Run share I of N of the run (separate jobs, e.g. a Slurm array, into the "
                   "same --output and --run-name); the last share to finish scores it.")
@INCLUDE
def eval_cmd(model: str, split: str, task_names: str | None, templates: str,
             data_root: Path | None, limit: int | None, batch_size: int | None,
             frames: int | None,
             output: Path, run_name: str | None, resume: bool, seed: int, strict: bool,
             no_qformer_instruction: bool, dtype: str | None, device: str | None, workers: int,
             allow_pickle: bool, hub_revision: str | None, gen_kwargs: str | None,
             revision: str | None, model_args: str | None, published_as: str | None,
             shard: str | None) -> None:
    """Evaluate a model: generate or rank, score with the official metrics, write results."""
    if task_names is not None and task_names.strip() == "list":  # lm-eval's way to ask
        from ibench.cli.catalog import tasks_list

        click.get_current_context().invoke(tasks_list, split="all", as_json=False)
        return
    from ibench.api import evaluate
    from ibench.cli.progress import RichHooks, print_metrics
    from ibench.run.dist import from_environment

    hooks = RichHooks(quiet=from_environment().rank != 0)
    run = evaluate(
        model, split_names(task_names), split=split, data_root=data_root, templates=templates,
        limit=limit, seed=seed, frames=frames, qformer_instruction=not no_qformer_instruction,
        dtype=dtype, device=device, batch_size=batch_size, workers=workers, output=output,
        run_name=run_name, resume=resume, strict=strict, hub_revision=hub_revision,
        revision=revision, model_args=model_args, published_as=published_as,
        gen_kwargs=gen_kwargs, allow_pickle=allow_pickle, shard=shard, hooks=hooks)
    if hooks.quiet:
        return
    if run.waiting_for_shares:
        click.echo(f"share {shard} of {visible(run.path)} done; the last share to finish "
                   f"merges and scores the run (or run the same command without --shard)")
        return
    print_metrics(run)
    for board in boards_for([run.path], runs_columns=True):  # the run's tasks; all: leaderboard
        print_board(board)
    if run.report_file is not None:
        problems = run.report_file.problems
        more = f"; {len(problems)} problems listed in it" if problems else ""
        click.echo(f"report: {run.report_file.path} ({run.report_file.size}{more})")
    for warning in run.warnings:
        click.echo(f"warning: {visible(warning)}", err=True)
    problems = run.problems()
    for problem in problems:
        click.echo(f"error: {visible(problem)}", err=True)
    if problems:
        sys.exit(1)
