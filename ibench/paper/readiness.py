"""`ibench paper plan`: for the models and held-out datasets asked, what is ready and what is
missing (each missing item with the command that fixes it), the requests per dataset, and the
projected GPU time per model and in total."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibench.data import missing_files
from ibench.paper.models import UNPUBLISHED_NOTE, PaperModel, checkpoint_state
from ibench.paper.throughput import Throughput, workload
from ibench.protocol.taskspec import TaskSpec


@dataclass(frozen=True)
class PlanItem:
    """A dataset or a checkpoint: ready, or missing with the commands that fix it."""

    kind: str  # "dataset" | "checkpoint"
    name: str
    ready: bool
    detail: str
    fix: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "ready": self.ready,
                "detail": self.detail, "fix": list(self.fix)}


@dataclass
class PaperPlan:
    """What `paper run` would do with these models, datasets and data root."""

    models: list[PaperModel]
    tasks: list[TaskSpec]
    data_root: Path
    limit: int | None
    throughput: Throughput
    items: list[PlanItem] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # run name -> task -> s

    @property
    def ready(self) -> bool:
        return all(item.ready for item in self.items)

    def ready_tasks(self) -> list[TaskSpec]:
        ok = {i.name for i in self.items if i.kind == "dataset" and i.ready}
        return [t for t in self.tasks if t.id in ok]

    def ready_models(self) -> list[PaperModel]:
        ok = {i.name for i in self.items if i.kind == "checkpoint" and i.ready}
        return [m for m in self.models if m.alias in ok]

    def cheapest_first(self, model: PaperModel, tasks: list[TaskSpec]) -> list[TaskSpec]:
        """The tasks in order of projected time for this model (a table fills early)."""
        per = self.seconds.get(model.run_name, {})
        return sorted(tasks, key=lambda t: (per.get(t.id, 0.0), t.id))

    def hours(self, model: PaperModel, tasks: list[TaskSpec] | None = None) -> float:
        per = self.seconds.get(model.run_name, {})
        return sum(per.get(t.id, 0.0) for t in (tasks or self.tasks)) / 3600

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "data_root": str(self.data_root),
            "limit": self.limit,
            "models": [{"alias": m.alias, "run": m.run_name, "row": m.label,
                        "hub_id": m.hub_id, "local": str(m.local) if m.local else None,
                        "projected_hours": round(self.hours(m), 3)} for m in self.models],
            "datasets": [{"task": t.id, "requests": self.requests[t.id],
                          "workload": workload(t)} for t in self.tasks],
            "items": [i.as_dict() for i in self.items],
            "missing": [i.as_dict() for i in self.items if not i.ready],
            "projected_hours_total": round(sum(self.hours(m) for m in self.models), 3),
            "projected_seconds": {run: {t: round(s, 1) for t, s in per.items()}
                                  for run, per in self.seconds.items()},
            "throughput": self.throughput.source,
            "not_published": UNPUBLISHED_NOTE,
        }


def dataset_item(task: TaskSpec, root: Path) -> PlanItem:
    """A dataset's files under the root, or what to fetch and where to put it."""
    missing = missing_files(task, root)
    if not missing:
        return PlanItem("dataset", task.id, True, f"{task.id}: files present under {root}")
    layout = [f"{root / path} ({role})" for role, path in task.data.files.items()]
    if task.data.media_dir:
        layout.append(f"{root / task.data.media_dir}/ (media)")
    fix = []
    if task.hub is not None:
        fix.append(f"ibench data download {task.id} --data-root {root}")
    fix.append(("or from" if fix else "from") + f" the publisher, {task.data.published_at}; "
               f"laid out as: " + "; ".join(layout))
    return PlanItem("dataset", task.id, False,
                    f"{task.id}: missing {missing[0]}" + (
                        f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                    tuple(fix))


def requests_of(task: TaskSpec, limit: int | None) -> int:
    """A task's requests with the zero-shot template: its split's size, or --limit."""
    size = task.eval_size or 0
    return min(size, limit) if limit is not None and size else (limit or size)


def build_plan(models: list[PaperModel], tasks: list[TaskSpec], data_root: Path,
               limit: int | None, throughput: Throughput) -> PaperPlan:
    """The plan: one item per dataset and per distinct checkpoint, and the projection."""
    plan = PaperPlan(models, tasks, data_root, limit, throughput)
    plan.items = [dataset_item(t, data_root) for t in tasks]
    seen: set[str] = set()
    for model in models:
        if model.alias in seen:  # the ablation runs the FlanT5XL checkpoint again
            continue
        seen.add(model.alias)
        state = checkpoint_state(model)
        plan.items.append(PlanItem("checkpoint", model.alias, state.ready, state.where,
                                   state.fix))
    plan.requests = {t.id: requests_of(t, limit) for t in tasks}
    plan.seconds = {m.run_name: {t.id: plan.requests[t.id] * throughput.seconds(
        m.alias, workload(t)) for t in tasks} for m in models}
    return plan


def plan_lines(plan: PaperPlan) -> list[str]:
    """The plan for the terminal: missing items with their commands, then the projection."""
    lines = [f"Table 1 reproduction: {len(plan.models)} models x {len(plan.tasks)} datasets, "
             f"data root {plan.data_root}" + (f", --limit {plan.limit}" if plan.limit else "")]
    for kind, title in (("checkpoint", "Checkpoints"), ("dataset", "Datasets")):
        items = [i for i in plan.items if i.kind == kind]
        ready = sum(i.ready for i in items)
        lines.append(f"{title}: {ready} of {len(items)} ready")
        for item in items:
            lines.append(f"  {'ready  ' if item.ready else 'MISSING'} {item.detail}")
            lines += [f"          {command}" for command in item.fix]
    lines.append(f"  ({UNPUBLISHED_NOTE})")
    lines.append(f"Requests and projected GPU time (one GPU; {plan.throughput.source}):")
    width = max(len(t.id) for t in plan.tasks) if plan.tasks else 4
    for task in plan.tasks:
        lines.append(f"  {task.id:<{width}} {plan.requests[task.id]:>7,} requests  "
                     f"({workload(task)})")
    for model in plan.models:
        lines.append(f"  {model.run_name}: {plan.hours(model):.2f} h")
    total = sum(plan.hours(m) for m in plan.models)
    lines.append(f"  total: {total:.2f} GPU-hours")
    lines.append("ready: everything asked is here" if plan.ready else
                 "not ready: fix the MISSING items above (paper run runs what is ready)")
    return lines


def plan_for(models: str | None, task_names: list[str] | None, data_root: Path | None,
             limit: int | None, ablation: bool) -> PaperPlan:
    """The plan for `paper plan|run`'s options: `--models ALIAS[=DIR],...`, Table 1 datasets
    (default all 13, in its order), the data root, `--limit`, `--ablation`; a PaperError for an
    option that names nothing of Table 1."""
    from ibench.paper.models import PaperError, parse_models, with_ablation
    from ibench.paper.throughput import load_throughput
    from ibench.protocol.paper import held_out_order
    from ibench.protocol.suite import load_tasks

    if data_root is None:
        raise PaperError("--data-root: the folder that holds (or will hold) the datasets; "
                         "or set $IBENCH_DATA_ROOT")
    columns = held_out_order()
    names = task_names or list(columns)
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise PaperError(f"--tasks {', '.join(unknown)}: not a Table 1 dataset; its datasets: "
                         f"{', '.join(columns)}")
    chosen = parse_models(models)
    if ablation:
        chosen = with_ablation(chosen)
    tasks = load_tasks()
    return build_plan(chosen, [tasks[n] for n in columns if n in names], data_root, limit,
                      load_throughput())
