"""What `ibench tasks list|show` and `templates list` say about a task, as records and rows (the
command line only prints them)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ibench.protocol.candidate_text import CANDIDATE_TEXT
from ibench.protocol.prompts import task_family, zero_shot_template
from ibench.protocol.taskfile import GENERATION_VALUES
from ibench.protocol.taskspec import TaskSpec
from ibench.protocol.templates import TemplateFamily


def layout_rows(task: TaskSpec) -> list[tuple[str, str]]:
    """The other layouts a task reads (data.options.alternative), for `ibench tasks show`:
    (name, its format and files)."""
    raw = task.data.options.get("alternative")
    items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    rows = []
    for item in items:
        if not isinstance(item, dict):
            continue
        files = ", ".join(str(v) for v in (item.get("files") or {}).values())
        media = item.get("media_dir", task.data.media_dir)
        rows.append((f"layout {item.get('name', item.get('format'))}",
                     f"{item.get('format')}: {files}; media {media}"))
    return rows


def decoding_rows(task: TaskSpec) -> list[list[str]]:
    """Per LAVIS decoding argument: its value, what it means for each architecture (new
    tokens), and where it comes from (`ibench tasks show`)."""
    if task.generation is None:
        return []
    gen = task.generation
    eff = {arch: task.generation_settings(arch) for arch in ("encoder-decoder", "decoder-only")}

    def effective(key: str, arch: str) -> str:
        settings = eff[arch]
        return {
            "num_beams": f"{settings.num_beams} beams",
            "max_length": f"max {settings.max_new_tokens} new tokens",
            "min_length": f"min {settings.min_new_tokens} new tokens",
            "length_penalty": f"{settings.length_penalty:g}",
            "repetition_penalty": f"{settings.repetition_penalty:g} (generated tokens)",
        }[key]

    rows = []
    for key in GENERATION_VALUES:
        value = gen[key]
        shown = (", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict)
                 else str(value))
        rows.append([key, shown, effective(key, "encoder-decoder"),
                     effective(key, "decoder-only"), gen["sources"][key]])
    return rows


def task_summary(task: TaskSpec) -> dict[str, Any]:
    """A task in one record (`ibench tasks list`)."""
    return {"id": task.id, "title": task.title, "category": task.category, "split": task.split,
            "media": task.media, "mode": task.mode, "metric": task.metric,
            "eval_split": task.eval_split, "eval_size": task.eval_size,
            "templates": task.templates}


def task_record(task: TaskSpec, families: dict[str, TemplateFamily]) -> dict[str, Any]:
    """Everything about a task as one JSON-ready record (`ibench tasks show --json`): the task
    file's content, its metric's definition, its zero-shot template and its decoding
    resolved for each architecture."""
    from ibench.metrics import METRICS

    metric = METRICS[task.metric]
    record = asdict(task)
    record["source"] = str(task.source)
    record["metric_definition"] = metric.definition
    record["metric_on_failure"] = metric.on_failure
    record["zero_shot_template"] = zero_shot_template(task, families).id
    if task.generation:
        record["generation_effective"] = {
            arch: asdict(task.generation_settings(arch))
            for arch in ("encoder-decoder", "decoder-only")}
    return record


def setting_rows(task: TaskSpec, families: dict[str, TemplateFamily]) -> list[tuple[str, str]]:
    """(setting, value) rows of `ibench tasks show`: media, data, split, mode, prompt, metric."""
    from ibench.metrics import METRICS

    metric = METRICS[task.metric]
    template = zero_shot_template(task, families)
    media = task.media + (f", {task.frames} frames" if task.frames else "")
    rows = [
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
        rows.append(("decoding", "LAVIS's generate arguments, see the table below"))
    if task.rank:
        detail = (f"candidates: {task.rank.candidates} ({CANDIDATE_TEXT}), "
                  f"aggregation: {task.rank.aggregation}")
        if task.rank.verbalizers:
            detail += f", verbalizers: {task.rank.verbalizers}"
        if task.rank.vocabulary:
            detail += f", vocabulary: {task.rank.vocabulary}"
        rows.append(("ranking", detail))
    options = ", ".join(f"{k}: {v}" for k, v in task.metric_options.items())
    rows += [
        ("zero-shot prompt", f"{task.prompt!r} ({template.id})"),
        ("templates", task.templates),
        ("metric", f"{metric.title} ({task.metric})" + (f"; {options}" if options else "")),
        ("definition", metric.definition),
        ("per-sample score", metric.per_sample),
        ("failed samples", metric.on_failure),
    ]
    return rows


def template_summary(task: TaskSpec, families: dict[str, TemplateFamily]) -> dict[str, Any]:
    """A task's template family in one record (`ibench templates list`)."""
    family = task_family(task, families)
    return {"task": task.id, "family": family.name, "count": len(family.templates),
            "sources": family.sources(), "zero_shot": zero_shot_template(task, families).id}
