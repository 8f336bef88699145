"""`ibench paper run`: every ready (model, dataset) pair into one paper folder, one run folder
per model named after it, each an ordinary `eval` run (resumable, recorded the same way); the
cheapest datasets first, so that the table fills early."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibench.paper.readiness import PaperPlan
from ibench.run.hooks import EvalHooks


@dataclass
class PaperRun:
    """What `paper run` did: per model run name, its run (or why it did not run)."""

    runs: dict[str, Any] = field(default_factory=dict)  # run name -> ibench.api.Run
    skipped: dict[str, str] = field(default_factory=dict)  # run name -> why


def run_paper(plan: PaperPlan, output: Path, hooks: EvalHooks, *, shard: str | None = None,
              **options: Any) -> PaperRun:
    """Run each ready model on the ready datasets (api.evaluate: same checks, records and
    resume), into output/RUN_NAME. `options` are eval's (batch_size, device, dtype, ...)."""
    from ibench.api import evaluate

    done = PaperRun()
    tasks = plan.ready_tasks()
    ready = {m.alias for m in plan.ready_models()}
    for index, model in enumerate(plan.models, 1):
        if model.alias not in ready:
            done.skipped[model.run_name] = "its checkpoint is missing (see paper plan)"
            continue
        if not tasks:
            done.skipped[model.run_name] = "no dataset is ready (see paper plan)"
            continue
        ordered = plan.cheapest_first(model, tasks)
        hooks.message(f"model {index} of {len(plan.models)}: {model.label} "
                      f"({model.model_arg}), {len(ordered)} datasets, cheapest first")
        done.runs[model.run_name] = evaluate(
            model.model_arg, [t.id for t in ordered], data_root=plan.data_root,
            limit=plan.limit, output=output, run_name=model.run_name,
            published_as=model.alias if model.local is not None else None,
            qformer_instruction=not model.ablation, shard=shard, hooks=hooks, **options)
    return done
