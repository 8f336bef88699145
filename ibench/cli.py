"""The ibench command line: Click commands only (parse, call the library, print)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from ibench import __version__
from ibench.display import console, print_json, print_table
from ibench.mixture import MixtureError, load_sizes, sqrt_mixture
from ibench.names import UnknownNameError, resolve_name
from ibench.prompts import task_family, zero_shot_template
from ibench.tasks import TaskError, load_tasks, select_tasks
from ibench.templates import TemplateError, load_families, render

EXIT_BAD_NAME = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ibench")
def cli() -> None:
    """ibench: faithful, fast and honest evaluation of InstructBLIP-family models."""


# ------------------------------------------------------------------------------------- tasks


@cli.group()
def tasks() -> None:
    """The 26 datasets of the protocol."""


@tasks.command("list")
@click.option("--split", type=click.Choice(["held-in", "held-out", "all"]), default="all")
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
    record["zero_shot_template"] = template.id
    if as_json:
        print_json(record)
        return
    out = console()
    out.print(f"[bold]{task.id}[/bold]: {task.title}  ({task.split}, {task.category})")
    media = task.media + (f", {task.frames} frames" if task.frames else "")
    lines = [
        ("media", media),
        ("data format", task.data.format),
        *[(f"file ({role})", path) for role, path in task.data.files.items()],
        ("media folder", task.data.media_dir),
        ("published at", task.data.published_at),
        ("eval split", f"{task.eval_split} ({task.eval_size or 'size not fixed'})"),
        ("mode", task.mode),
    ]
    if task.generation:
        lines.append(("decoding", ", ".join(f"{k}={v}" for k, v in task.generation.items())))
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
    ]
    print_table(None, ["setting", "value"], lines)
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
            raise UnknownNameError("task or template family", name, [*all_tasks, *families])
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
        chosen = select_tasks(load_tasks(), split, _split_names(task_names))
        missing = [t.id for t in chosen if t.train_size is None]
        if missing:
            raise MixtureError(
                f"no train size in the task files of {', '.join(missing)}; pass --sizes FILE"
            )
        sizes = {t.id: t.train_size for t in chosen if t.train_size is not None}
    probs = sqrt_mixture(sizes)
    if as_json:
        print_json({name: {"size": sizes[name], "probability": p} for name, p in probs.items()})
        return
    print_table("Square-root mixture: p_d = sqrt(S_d) / sum_i sqrt(S_i)",
                ["dataset", "size", "probability"],
                [[n, f"{sizes[n]:,}", f"{p:.4f}"] for n, p in probs.items()])


def _split_names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


# ------------------------------------------------------------------------------------ entry


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning the library's input errors into messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="ibench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UnknownNameError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_NAME)
    except (TaskError, TemplateError, MixtureError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
