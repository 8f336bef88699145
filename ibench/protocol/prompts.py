"""Which templates a task runs with, and the checks that tie task files to template families."""

from __future__ import annotations

from ibench.protocol.taskspec import TaskSpec
from ibench.protocol.templates import Template, TemplateError, TemplateFamily


def zero_shot_template(task: TaskSpec, families: dict[str, TemplateFamily]) -> Template:
    """The template of the task's family whose text is the task's zero-shot prompt."""
    family = task_family(task, families)
    template = family.find_text(task.prompt)
    if template is None:
        raise TemplateError(
            f"{task.source}: field 'prompt': {task.prompt!r} is not a template of family "
            f"{family.name} ({family.source})"
        )
    return template


def task_family(task: TaskSpec, families: dict[str, TemplateFamily]) -> TemplateFamily:
    """The template family a task names (TemplateError naming the task file when missing)."""
    if task.templates not in families:
        raise TemplateError(
            f"{task.source}: field 'templates': no family {task.templates!r}; "
            f"known: {', '.join(sorted(families))}"
        )
    return families[task.templates]


def select_templates(task: TaskSpec, families: dict[str, TemplateFamily], which: str
                     ) -> list[Template]:
    """Templates to run: `eval` (the zero-shot prompt), `all`, an id, or a count K (first K)."""
    family = task_family(task, families)
    if which == "eval":
        return [zero_shot_template(task, families)]
    if which == "all":
        return list(family.templates)
    if which.isdigit():
        k = int(which)
        if k < 1:
            raise TemplateError("--templates K needs K >= 1")
        return list(family.templates[:k])
    return [family.get(which)]


def check_catalog(tasks: dict[str, TaskSpec], families: dict[str, TemplateFamily]) -> None:
    """Every task names an existing family that holds its prompt (TemplateError otherwise)."""
    for task in tasks.values():
        zero_shot_template(task, families)
