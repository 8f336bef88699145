"""`ibench eval`: evaluate a model on the suite."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ibench.cli.common import INCLUDE, BatchSize, split_names
from ibench.cli.display import print_board
from ibench.names import UnknownNameError
from ibench.protocol.suite import load_tasks, select_tasks
from ibench.report.leaderboard import boards_for


@click.command("eval")
@click.option("--model", required=True, help="Alias (ibench models list), hub id or local dir.")
@click.option("--split", type=click.Choice(["held-in", "held-out", "server", "all"]),
              default="held-out", show_default=True,
              help="server: splits scored only by a server (VizWiz test-dev): writes the file "
                   "to upload.")
@click.option("--tasks", "task_names", default=None, help="Comma-separated task ids.")
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
@click.option("--dtype", type=click.Choice(["bf16", "fp16", "fp32"]), default=None)
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
@INCLUDE
def eval_cmd(model: str, split: str, task_names: str | None, templates: str,
             data_root: Path | None, limit: int | None, batch_size: int | None,
             frames: int | None,
             output: Path, run_name: str | None, resume: bool, seed: int, strict: bool,
             no_qformer_instruction: bool, dtype: str | None, device: str | None, workers: int,
             allow_pickle: bool, hub_revision: str | None, gen_kwargs: str | None,
             revision: str | None, model_args: str | None, published_as: str | None) -> None:
    """Evaluate a model: generate or rank, score with the official metrics, write results."""
    from ibench.cli.progress import RichHooks, print_metrics
    from ibench.models import load_model
    from ibench.run.dist import from_environment, shutdown
    from ibench.run.evaluate import evaluate
    from ibench.run.settings import EvalOptions

    chosen = select_tasks(load_tasks(), split, split_names(task_names))
    if gen_kwargs:
        from dataclasses import replace

        from ibench.protocol.decoding import parse_gen_kwargs

        overrides = parse_gen_kwargs(gen_kwargs)
        chosen = [replace(t, decoding_overrides=overrides) if t.generation else t
                  for t in chosen]
    from ibench.models.device import check_device

    check_device(device)  # before anything loads: one line, not a CUDA traceback
    _check_model_name(model)
    group = from_environment()
    hooks = RichHooks(quiet=group.rank != 0)
    if data_root is None:
        data_root = _default_data_root(model, hooks)
    options = EvalOptions(
        model=model, tasks=chosen, data_root=data_root, templates=templates, limit=limit,
        batch_size=batch_size, frames=frames, seed=seed, strict=strict,
        qformer_instruction=not no_qformer_instruction, dtype=dtype, device=device,
        output=output, run_name=run_name, workers=workers, group=group, resume=resume,
        hub_revision=hub_revision,
        whole_split=[t.id for t in select_tasks(load_tasks(), split)] if not task_names else [],
    )

    from ibench.models.loading import parse_model_args

    load_args = {"revision": revision, "published_as": published_as,
                 "model_args": parse_model_args(model_args) if model_args else None}

    def loader(name: str, **kwargs: object) -> object:
        return load_model(name, allow_pickle=allow_pickle, **load_args,  # type: ignore[arg-type]
                          **kwargs)

    try:
        run, metrics, outcomes = evaluate(options, hooks, loader)
    finally:
        shutdown(group)
    if group.rank == 0:
        print_metrics(run, metrics, outcomes)
        for board in boards_for([run.path]):  # the boards the run has tasks of
            print_board(board)
        from ibench.report.html import report_after_eval

        click.echo(report_after_eval(run.path))
        scored = [t for t, e in metrics.get("tasks", {}).items()
                  if "value" in e or e.get("status") == "submission"]
        if not scored:
            click.echo(f"error: no task was scored ({len(outcomes)} asked, "
                       f"{sum(o.status == 'skipped' for o in outcomes)} skipped for their data); "
                       f"see `ibench data check --data-root {data_root}`", err=True)
            sys.exit(1)
        failed = [o for o in outcomes if o.counts and not o.counts.get("ok")]
        for o in failed:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(o.counts.items()))
            click.echo(f"error: {o.task}: every request of this session failed ({kinds}); "
                       f"the reasons are in {run.predictions(o.task)}", err=True)
        if failed:
            sys.exit(1)


def _check_model_name(name: str) -> None:
    """A name that is no alias, no folder and no owner/name hub id is a typo: say which
    aliases it is close to (as a task name's typo is answered)."""
    from ibench.models.families import find_alias, list_aliases

    if find_alias(name) is not None or "/" in name or Path(name).expanduser().exists():
        return
    raise UnknownNameError("model", name, [a.alias for a in list_aliases()])


def _default_data_root(model: str, hooks: object) -> Path:
    import os

    from ibench.data.samplepack import default_sample_pack

    env = os.environ.get("IBENCH_DATA_ROOT")
    if env:
        return Path(env)
    pack = default_sample_pack()
    note = (f"no --data-root: using the synthetic sample pack at {pack} (its numbers mean "
            "nothing; pass --data-root for real datasets)")
    if not model.startswith("tiny-"):
        note = "WARNING: " + note
    hooks.message(note)  # type: ignore[attr-defined]
    return pack
