"""What `ibench tasks show` and `templates list` print about a task, as rows (the CLI only prints
them)."""

from __future__ import annotations

from ibench.protocol.taskfile import GENERATION_VALUES
from ibench.protocol.taskspec import TaskSpec


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
