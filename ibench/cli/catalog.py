"""`ibench tasks`, `ibench templates`, `ibench models`: what the suite holds."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.text import Text

from ibench.cli.display import console, print_json, print_table
from ibench.models.families import tiny_kinds
from ibench.names import UnknownNameError, resolve_name
from ibench.protocol.describe import (
    decoding_rows,
    setting_rows,
    task_record,
    task_summary,
    template_summary,
)
from ibench.protocol.prompts import task_family
from ibench.protocol.suite import load_tasks, select_tasks
from ibench.protocol.taskspec import SPLIT_CHOICES
from ibench.protocol.templates import load_families, render


@click.group()
def tasks() -> None:
    """The protocol's 26 datasets as 28 tasks (A-OKVQA's direct answers and VizWiz test-dev
    are tasks of their own)."""


@tasks.command("list")
@click.option("--split", type=click.Choice(SPLIT_CHOICES), default="all")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tasks_list(split: str, as_json: bool) -> None:
    """List tasks with their mode and metric."""
    rows = [task_summary(t) for t in select_tasks(load_tasks(), split)]
    if as_json:
        print_json(rows)
        return
    scope = {"all": "held-in and held-out; --split server: VizWiz test-dev"}.get(split, split)
    print_table(f"{len(rows)} tasks ({scope})",
                ["id", "title", "split", "media", "mode", "metric", "eval split (n)"],
                [[r["id"], r["title"], r["split"], r["media"], r["mode"], r["metric"],
                  f"{r['eval_split']} ({r['eval_size'] or '-'})"] for r in rows])


@tasks.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tasks_show(name: str, as_json: bool) -> None:
    """Everything about one task: data, prompt, mode, metric, reference numbers, decisions."""
    all_tasks, families = load_tasks(), load_families()
    task = all_tasks[resolve_name(name, all_tasks, "task")]
    if as_json:
        print_json(task_record(task, families))
        return
    console().print(Text.assemble((task.id, "bold"), f": {task.title}  ({task.split}, "
                                                    f"{task.category})"))
    print_table(None, ["setting", "value"], setting_rows(task, families))
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


@click.group()
def templates() -> None:
    """The instruction template library."""


@templates.command("list")
@click.option("--task", "task_name", default=None, help="Only this task.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def templates_list(task_name: str | None, as_json: bool) -> None:
    """For every dataset: its template family, template count and their sources."""
    families = load_families()
    chosen = select_tasks(load_tasks(), "all", [task_name] if task_name else None)
    rows = [template_summary(task, families) for task in chosen]
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


@click.group()
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
@click.argument("kind", type=click.Choice(tiny_kinds()))
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True)
def models_make_tiny(kind: str, directory: Path, seed: int) -> None:
    """Build a tiny random-weight checkpoint (real architecture) in DIRECTORY: InstructBLIP
    (t5, vicuna), InstructBLIP-Video (vicuna-video), LLaVA-style or Qwen2-VL-style."""
    from ibench.models.loading import quiet_transformers
    from ibench.models.tiny.checkpoints import make_tiny

    quiet_transformers()
    path = make_tiny(kind, directory, seed=seed)
    click.echo(f"tiny-{kind} checkpoint written to {path} (random weights: numbers mean nothing)")
