"""The ibench command line: Click commands only (parse, call the library, print)."""

from __future__ import annotations

import signal
import sys
from dataclasses import asdict
from pathlib import Path

import click
from rich.text import Text

from ibench import __version__
from ibench.cli.display import console, print_json, print_table
from ibench.names import UnknownNameError, resolve_name
from ibench.report.leaderboard import Board, boards_for, render_board
from ibench.safetext import terminal, visible
from ibench.spec.mixture import load_sizes, sqrt_mixture, task_sizes
from ibench.spec.prompts import task_family, zero_shot_template
from ibench.spec.taskfile import decoding_rows, layout_rows, load_tasks, select_tasks
from ibench.spec.templates import load_families, render

EXIT_BAD_NAME = 2


def _include(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]) -> None:
    from ibench.resources import include_path

    for folder in value:
        try:
            include_path(folder)
        except FileNotFoundError as exc:
            raise click.BadParameter(str(exc).split(": ", 1)[-1], ctx, param) from None


_INCLUDE = click.option(
    "--include-path", type=click.Path(path_type=Path), multiple=True, expose_value=False,
    callback=_include, is_eager=True, envvar="IBENCH_INCLUDE_PATH",
    help="A folder with your own tasks/*.yaml and templates/*.yaml (repeatable).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ibench")
@_INCLUDE
def cli() -> None:
    """ibench: faithful, fast and honest evaluation of InstructBLIP-family models."""


# ------------------------------------------------------------------------------------- tasks


@cli.group()
def tasks() -> None:
    """The 26 datasets of the protocol."""


@tasks.command("list")
@click.option("--split", type=click.Choice(["held-in", "held-out", "server", "all"]),
              default="all")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tasks_list(split: str, as_json: bool) -> None:
    """List tasks with their mode and metric."""
    chosen = select_tasks(load_tasks(), split)
    rows = [
        {
            "id": t.id,
            "title": t.title,
            "category": t.category,
            "split": t.split,
            "media": t.media,
            "mode": t.mode,
            "metric": t.metric,
            "eval_split": t.eval_split,
            "eval_size": t.eval_size,
            "templates": t.templates,
        }
        for t in chosen
    ]
    if as_json:
        print_json(rows)
        return
    print_table(
        f"{len(rows)} tasks ({split})",
        ["id", "title", "split", "media", "mode", "metric", "eval split (n)"],
        [
            [r["id"], r["title"], r["split"], r["media"], r["mode"], r["metric"],
             f"{r['eval_split']} ({r['eval_size'] or '-'})"]
            for r in rows
        ],
    )


@tasks.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tasks_show(name: str, as_json: bool) -> None:
    """Everything about one task: data, prompt, mode, metric, reference numbers, decisions."""
    all_tasks = load_tasks()
    task = all_tasks[resolve_name(name, all_tasks, "task")]
    from ibench.metrics import METRICS

    metric = METRICS[task.metric]
    template = zero_shot_template(task, load_families())
    record = asdict(task)
    record["source"] = str(task.source)
    record["metric_definition"] = metric.definition
    record["metric_on_failure"] = metric.on_failure
    record["zero_shot_template"] = template.id
    if task.generation:
        record["generation_effective"] = {
            arch: asdict(task.generation_settings(arch))
            for arch in ("encoder-decoder", "decoder-only")}
    if as_json:
        print_json(record)
        return
    out = console()
    out.print(Text.assemble((task.id, "bold"), f": {task.title}  ({task.split}, "
                                              f"{task.category})"))
    media = task.media + (f", {task.frames} frames" if task.frames else "")
    lines = [
        ("media", media),
        ("data format", task.data.format),
        *[(f"file ({role})", path) for role, path in task.data.files.items()],
        ("media folder", task.data.media_dir),
        *layout_rows(task),
        ("published at", task.data.published_at),
        ("eval split", f"{task.eval_split} ({task.eval_size or 'size not fixed'})"),
        ("mode", task.mode),
    ]
    if task.generation:
        lines.append(("decoding", "LAVIS's generate arguments, see the table below"))
    if task.rank:
        detail = f"candidates: {task.rank.candidates}, aggregation: {task.rank.aggregation}"
        if task.rank.verbalizers:
            detail += f", verbalizers: {task.rank.verbalizers}"
        if task.rank.vocabulary:
            detail += f", vocabulary: {task.rank.vocabulary}"
        lines.append(("ranking", detail))
    lines += [
        ("zero-shot prompt", f"{task.prompt!r} ({template.id})"),
        ("templates", task.templates),
        ("metric", f"{metric.title} ({task.metric})"),
        ("definition", metric.definition),
        ("per-sample score", metric.per_sample),
        ("failed samples", metric.on_failure),
    ]
    print_table(None, ["setting", "value"], lines)
    if task.generation:
        print_table("Decoding (LAVIS's arguments; new tokens as transformers 4.33 counted them)",
                    ["argument", "value", "FlanT5 (enc-dec)", "Vicuna (dec-only)", "source"],
                    decoding_rows(task))
    if task.reference:
        print_table("Paper's published numbers", ["model", task.metric],
                    [[m, f"{v:.1f}"] for m, v in task.reference.items()])
    if task.decisions:
        print_table("Decisions (not published; ibench's choice)", ["decision", "value", "why"],
                    [[d.name, d.value, d.why] for d in task.decisions])


# --------------------------------------------------------------------------------- templates


@cli.group()
def templates() -> None:
    """The instruction template library."""


@templates.command("list")
@click.option("--task", "task_name", default=None, help="Only this task.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def templates_list(task_name: str | None, as_json: bool) -> None:
    """For every dataset: its template family, template count and their sources."""
    all_tasks = load_tasks()
    families = load_families()
    chosen = select_tasks(all_tasks, "all", [task_name] if task_name else None)
    rows = []
    for task in chosen:
        family = task_family(task, families)
        rows.append(
            {
                "task": task.id,
                "family": family.name,
                "count": len(family.templates),
                "sources": family.sources(),
                "zero_shot": zero_shot_template(task, families).id,
            }
        )
    if as_json:
        print_json({"tasks": rows, "families": {
            f.name: {"count": len(f.templates), "sources": f.sources(), "fields": list(f.fields)}
            for f in families.values()
        }})
        return
    print_table(
        "Templates per dataset",
        ["task", "family", "templates", "sources", "zero-shot"],
        [[r["task"], r["family"], r["count"],
          ", ".join(f"{k} {v}" for k, v in r["sources"].items()), r["zero_shot"]] for r in rows],
    )


@templates.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def templates_show(name: str, as_json: bool) -> None:
    """Every template of a family, or of a dataset's family, with ids."""
    families = load_families()
    all_tasks = load_tasks()
    if name in families or name not in all_tasks and name.replace("-", "_") in families:
        family = families[resolve_name(name, families, "family")]
    else:
        try:
            task = all_tasks[resolve_name(name, all_tasks, "task")]
        except UnknownNameError:
            raise UnknownNameError(
                "task or template family", name, [*all_tasks, *families]
            ) from None
        family = task_family(task, families)
    if as_json:
        print_json({"family": family.name, "title": family.title, "fields": list(family.fields),
                    "templates": [asdict(t) for t in family.templates]})
        return
    print_table(f"{family.name}: {family.title}", ["id", "source", "text"],
                [[t.id, t.source, t.text] for t in family.templates], caption=family.description)


@templates.command("render")
@click.argument("name")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="A template field, repeatable.")
@click.option("--template", "template_id", default=None, help="A template id (default: all).")
def templates_render(name: str, fields: tuple[str, ...], template_id: str | None) -> None:
    """Render a dataset's (or family's) templates with the given fields."""
    values = {}
    for item in fields:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--field")
        key, value = item.split("=", 1)
        values[key] = value
    families = load_families()
    all_tasks = load_tasks()
    if name in families:
        family = families[name]
    else:
        family = task_family(all_tasks[resolve_name(name, all_tasks, "task")], families)
    chosen = [family.get(template_id)] if template_id else family.templates
    for template in chosen:
        click.echo(f"{template.id}\t{render(template, values)!r}")


# -------------------------------------------------------------------------------------- data


@cli.group()
def data() -> None:
    """Datasets on disk: mixture, checks, the synthetic sample pack."""


@data.command("mixture")
@click.option("--split", type=click.Choice(["held-in", "held-out", "all"]), default="held-in")
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
        sizes = task_sizes(select_tasks(load_tasks(), split, _split_names(task_names)))
    probs = sqrt_mixture(sizes)
    if as_json:
        print_json({name: {"size": sizes[name], "probability": p} for name, p in probs.items()})
        return
    print_table("Square-root mixture: p_d = sqrt(S_d) / sum_i sqrt(S_i)",
                ["dataset", "size", "probability"],
                [[n, f"{sizes[n]:,}", f"{p:.4f}"] for n, p in probs.items()])


def _split_names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


@data.command("download")
@click.argument("task_names", nargs=-1)
@click.option("--split", type=click.Choice(["held-in", "held-out", "server", "all"]),
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
@click.option("--split", type=click.Choice(["held-in", "held-out", "server", "all"]),
              default="all")
@click.option("--full", is_flag=True, help="Check every media file, not a sample.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_check(data_root: Path, task_names: str | None, split: str, full: bool,
               as_json: bool) -> None:
    """For each task: found or missing (with the exact path), sample count, media problems."""
    from ibench.data.check import check_task

    chosen = select_tasks(load_tasks(), split, _split_names(task_names))
    checks = [check_task(t, data_root, full=full) for t in chosen]
    if as_json:
        print_json([asdict(c) for c in checks])
    else:
        _print_checks(checks, data_root)
        _print_hub_routes(chosen, checks, data_root)
    if any(not c.usable for c in checks):
        sys.exit(1)


def _print_hub_routes(tasks: list, checks: list, data_root: Path) -> None:
    """Per task with a hub mirror: the copy in use (repo, revision, rows), or what to run."""
    from ibench.run.evaluate import data_source

    out = console()
    for task, check in zip(tasks, checks, strict=True):
        if task.hub is None:
            continue
        if check.variant == "hub":
            source = data_source(task, data_root)
            out.print(f"{task.id}: hub copy {source.get('repo')} at revision "
                      f"{source.get('revision') or 'unknown'} ({check.n_samples} rows, "
                      f"{source.get('found_in')})", markup=False, highlight=False)
        elif not check.usable:
            repo = task.hub["repos"][0]
            beside = [task.data.files[role] for role in task.hub.get("data_files", [])]
            also = f", with {', '.join(beside)} under the data root" if beside else ""
            out.print(f"{task.id}: or its hub mirror: hf download {repo} --repo-type dataset "
                      f"--local-dir {data_root / 'hub' / repo}{also}", markup=False,
                      highlight=False)


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
            out.print(f"{c.task}: missing {path}\n    published at {c.published_at}")
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
    click.echo(f"wrote the data of {len(counts)} tasks ({sum(counts.values())} samples) to "
               f"{directory}")


# ------------------------------------------------------------------------------------ models


@cli.group()
def models() -> None:
    """Model aliases and tiny random-weight checkpoints."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models_list(as_json: bool) -> None:
    """The model aliases and what they resolve to."""
    from ibench.models.families import list_aliases

    aliases = list_aliases()
    if as_json:
        print_json([asdict(a) for a in aliases])
        return
    print_table("Model aliases", list(asdict(aliases[0])),
                [list(asdict(a).values()) for a in aliases])


@models.command("make-tiny")
@click.argument("kind", type=click.Choice(["t5", "vicuna", "vicuna-video", "llava", "qwen2vl"]))
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True)
def models_make_tiny(kind: str, directory: Path, seed: int) -> None:
    """Build a tiny random-weight checkpoint (real architecture) in DIRECTORY: InstructBLIP
    (t5, vicuna), InstructBLIP-Video (vicuna-video), LLaVA-style or Qwen2-VL-style."""
    from ibench.models.loading import quiet_transformers
    from ibench.models.tiny.blip import make_tiny

    quiet_transformers()
    path = make_tiny(kind, directory, seed=seed)  # type: ignore[arg-type]
    click.echo(f"tiny-{kind} checkpoint written to {path} (random weights: numbers mean nothing)")


# -------------------------------------------------------------------------------------- eval


class BatchSize(click.ParamType):
    """A positive integer, or `auto` (None)."""

    name = "N|auto"

    def convert(self, value: object, param: object, ctx: object) -> int | None:
        if value is None or value == "auto":
            return None
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            if int(value) >= 1:
                return int(value)
        self.fail(f"{value!r} is not a positive integer or auto", param, ctx)  # type: ignore




@cli.command("eval")
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
@_INCLUDE
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
    from ibench.run.evaluate import EvalOptions, evaluate

    chosen = select_tasks(load_tasks(), split, _split_names(task_names))
    if gen_kwargs:
        from dataclasses import replace

        from ibench.spec.taskfile import parse_gen_kwargs

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
            _print_board(board)
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

    from ibench.cache import default_sample_pack

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


@cli.command("leaderboard")
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "json", "latex"]),
              default="table", show_default=True)
@click.option("--no-reference", is_flag=True, help="Leave out the paper's published rows.")
@click.option("--table", "which", type=click.Choice(["held-out", "held-in", "finetuned"]),
              default="held-out", show_default=True,
              help="Table 1 (held-out), the held-in datasets beside Table 2's average, or "
                   "Table 3's fine-tuned rows.")
def leaderboard_cmd(runs: tuple[Path, ...], fmt: str, no_reference: bool, which: str) -> None:
    """Runs beside the paper's Table 1 (held-out datasets in the paper's order, and average)."""
    [board] = boards_for(list(runs), which, include_reference=not no_reference)
    if fmt != "table":
        _write_data(render_board(board, fmt))
        return
    _print_board(board)


def _write_data(text: str) -> None:
    """md/csv/json/latex output: exactly as rendered for a program reading it (csv and json
    round-trip), with control characters made visible when a person's terminal shows it."""
    from ibench.safetext import visible

    if sys.stdout.isatty():
        text = "\n".join(visible(line) for line in text.split("\n"))
    sys.stdout.write(text)


def _print_board(board: Board) -> None:
    print_table(board.title, ["model", *board.columns],
                [[name, *[_num(values.get(c)) for c in board.columns]]
                 for name, values in board.rows], caption="; ".join(board.notes))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@cli.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--resamples", type=click.IntRange(100), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "json", "latex"]),
              default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def compare_cmd(run_a: Path, run_b: Path, resamples: int, seed: int, fmt: str,
                as_json: bool) -> None:
    """What changed from run A to run B, per task, and whether it is significant."""
    from ibench.report.leaderboard import (
        COMPARE_HEADER,
        compare_runs,
        comparison_cells,
        render_comparison,
    )

    result = compare_runs(run_a, run_b, n_resamples=resamples, seed=seed)
    if as_json:
        fmt = "json"
    if fmt != "table":
        _write_data(render_comparison(result, fmt))
        return
    print_table(
        f"B - A  (A = {run_a}, B = {run_b}); paired bootstrap, {resamples} resamples",
        COMPARE_HEADER, comparison_cells(result))
    if result.manifest_diff:
        print_table("Settings that differ", ["setting", "A", "B"],
                    [[k, str(a), str(b)] for k, a, b in result.manifest_diff])
    for warning in result.warnings:
        console(stderr=True).print(Text.assemble(("warning:", "yellow"), " ",
                                                 terminal(warning)))


@cli.command("report")
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
    from ibench.report.html import file_size, write_report

    path, report = write_report(run, run_b, output, samples=samples, seed=seed)
    for problem in report.problems:
        click.echo(f"warning: {visible(problem)}", err=True)  # run folder text, as data
    click.echo(f"wrote {path} ({file_size(path)})")


# ------------------------------------------------------------------------------------ entry


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning the library's input errors into messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="ibench", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        # click turns the KeyboardInterrupt into Abort: the signal rides on the original
        cause = exc.__context__ if isinstance(exc, click.exceptions.Abort) else exc
        _stopped(getattr(cause, "signum", signal.SIGINT))
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UnknownNameError as exc:
        click.echo(f"error: {visible(exc)}", err=True)
        sys.exit(EXIT_BAD_NAME)
    except Exception as exc:
        if type(exc).__name__ == "SignalException":  # torchrun's, for a signal to a worker
            _stopped(getattr(exc, "sigval", signal.SIGTERM))
        if not _is_input_error(exc):
            raise
        click.echo(f"error: {visible(exc)}", err=True)  # may quote a run folder
        sys.exit(1)


def _stopped(signum: int) -> None:
    """The one line for a run stopped by a signal, and the shell's exit status for it
    (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
    what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    click.echo(f"{what}: finished batches are saved; run the same command to resume", err=True)
    sys.exit(128 + int(signum))


# Errors that describe bad input or a missing resource: a message and exit 1, no traceback.
_INPUT_ERRORS = {
    "ibench.spec.taskfile": "TaskError",
    "ibench.spec.templates": "TemplateError",
    "ibench.spec.mixture": "MixtureError",
    "ibench.run.folder": "RunError",
    "ibench.run.execute": "StrictStop",
    "ibench.data.errors": "DataError",
    "ibench.media": "MediaError",
    "ibench.metrics.base": "MetricError",
    "ibench.models.base": "ModelLoadError",
}


def _is_input_error(exc: BaseException) -> bool:
    """True for ibench's own input errors (checked only in modules already imported)."""
    for module, name in _INPUT_ERRORS.items():
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False
