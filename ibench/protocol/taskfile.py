"""TaskSpec records and loading/validating tasks/*.yaml (one file per dataset).

Every error names the file and the field, so a user editing a task file knows what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ibench.protocol.taskspec import (
    CANDIDATE_SOURCES,
    IMAGE_RESIZES,
    MEDIA_KINDS,
    MODES,
    NAME,
    NAME_RULE,
    SPLITS,
    DataSpec,
    Decision,
    RankSpec,
    TaskError,
    TaskSpec,
)
from ibench.protocol.yamlfile import read_yaml

# Table 1 of the paper, in its column order (protocol.md section 4 and 8).


# ---------------------------------------------------------------------------- validation helpers

_TOP_KEYS = {
    "id": True,
    "title": True,
    "category": True,
    "split": True,
    "media": True,
    "data": True,
    "eval_split": True,
    "mode": True,
    "prompt": True,
    "templates": True,
    "metric": True,
    "metric_options": False,
    "image_resize": False,
    "generation": False,
    "rank": False,
    "reference": False,
    "train_size": False,
    "decisions": False,
    "hub": False,
}
# LAVIS's own argument names (its generate / predict_answers), each with a written source.
_GENERATION_KEYS = {
    "num_beams": int,
    "max_length": int,
    "min_length": int,
    "length_penalty": (int, float, dict),
    "repetition_penalty": (int, float),
    "sources": dict,
}
GENERATION_VALUES = ("num_beams", "max_length", "min_length", "length_penalty",
                     "repetition_penalty")


class _Checker:
    """Accessor that turns a schema violation into a TaskError naming file and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> TaskError:
        return TaskError(f"{self.path}: field '{where}': {message}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a mapping, got {type(value).__name__}")
        return value

    def keys(self, value: dict[str, Any], allowed: dict[str, bool], where: str) -> None:
        for key in value:
            if key not in allowed:
                raise self.fail(f"{where}{key}", f"unknown field; allowed: {', '.join(allowed)}")
        for key, required in allowed.items():
            if required and key not in value:
                raise self.fail(f"{where}{key}", "is required")

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"must be a non-empty string, got {value!r}")
        return value

    def choice(self, value: Any, options: tuple[str, ...], where: str) -> str:
        if value not in options:
            raise self.fail(where, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def positive_int(self, value: Any, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.fail(where, f"must be a positive integer, got {value!r}")
        return value


def _parse_media(c: _Checker, raw: Any) -> tuple[str, int | None]:
    media = c.mapping(raw, "media")
    c.keys(media, {"kind": True, "frames": False}, "media.")
    kind = c.choice(media["kind"], MEDIA_KINDS, "media.kind")
    frames = media.get("frames")
    if kind == "video":
        frames = c.positive_int(frames if frames is not None else 4, "media.frames")
    elif frames is not None:
        raise c.fail("media.frames", "only video tasks have a frame count")
    return kind, frames


def _parse_data(c: _Checker, raw: Any) -> DataSpec:
    data = c.mapping(raw, "data")
    c.keys(
        data,
        {"format": True, "files": True, "media_dir": True, "published_at": True, "options": False},
        "data.",
    )
    files = c.mapping(data["files"], "data.files")
    if not files:
        raise c.fail("data.files", "must name at least one annotation file")
    for role, rel in files.items():
        _relative_path(c, rel, f"data.files.{role}")
    _relative_path(c, data["media_dir"], "data.media_dir")
    return DataSpec(
        format=c.text(data["format"], "data.format"),
        files={str(k): str(v) for k, v in files.items()},
        media_dir=str(data["media_dir"]),
        published_at=c.text(data["published_at"], "data.published_at"),
        options=dict(c.mapping(data.get("options") or {}, "data.options")),
    )


def _relative_path(c: _Checker, value: Any, where: str) -> str:
    text = c.text(value, where)
    parts = Path(text).parts
    if Path(text).is_absolute() or ".." in parts:
        raise c.fail(where, f"must be a path inside the data root, got {text!r}")
    return text


def _parse_eval_split(c: _Checker, raw: Any) -> tuple[str, int | None]:
    split = c.mapping(raw, "eval_split")
    c.keys(split, {"name": True, "size": True}, "eval_split.")
    size = split["size"]
    if size is not None:
        size = c.positive_int(size, "eval_split.size")
    return c.text(split["name"], "eval_split.name"), size


def _parse_generation(c: _Checker, raw: Any) -> dict[str, Any]:
    gen = c.mapping(raw, "generation")
    for key, value in gen.items():
        if key not in _GENERATION_KEYS:
            raise c.fail(f"generation.{key}", f"unknown; allowed: {', '.join(_GENERATION_KEYS)}")
        expected = _GENERATION_KEYS[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise c.fail(f"generation.{key}", f"has the wrong type ({value!r})")
    for key in (*GENERATION_VALUES, "sources"):
        if key not in gen:
            raise c.fail(f"generation.{key}", "is missing (every decoding value and its source)")
    sources = gen["sources"]
    if set(sources) != set(GENERATION_VALUES):
        raise c.fail("generation.sources",
                     f"must name the source of exactly {', '.join(GENERATION_VALUES)}")
    for key, text in sources.items():
        c.text(text, f"generation.sources.{key}")
    if gen["num_beams"] < 1 or gen["max_length"] < 1 or gen["min_length"] < 0:
        raise c.fail("generation", "num_beams and max_length must be >= 1, min_length >= 0")
    penalty = gen.get("length_penalty")
    if isinstance(penalty, dict):
        if set(penalty) != {"encoder-decoder", "decoder-only"}:
            raise c.fail(
                "generation.length_penalty",
                "a per-architecture value needs exactly the keys encoder-decoder and decoder-only",
            )
    return dict(gen)


def _parse_hub(c: _Checker, raw: Any, data_files: dict[str, str]) -> dict[str, Any] | None:
    """repos (any one will do), the split's files (a glob from the card's configs block), the
    pinned revision (null: none known), the format that reads its rows, what it holds, and
    `data_files`: roles of data.files the mirror lacks, read from the data root beside it."""
    if raw is None:
        return None
    hub = c.mapping(raw, "hub")
    c.keys(hub, {"repos": True, "files": True, "revision": True, "format": True, "note": False,
                 "data_files": False}, "hub.")
    extra = hub.get("data_files", [])
    if not isinstance(extra, list) or not all(r in data_files for r in extra):
        raise c.fail("hub.data_files",
                     f"must be a list of roles of data.files ({', '.join(data_files)}), "
                     f"got {extra!r}")
    repos = hub["repos"]
    if not isinstance(repos, list) or not repos or not all(
            isinstance(r, str) and r.count("/") == 1 for r in repos):
        raise c.fail("hub.repos", f"must be a list of owner/name repo ids, got {repos!r}")
    if hub["revision"] is not None:
        c.text(hub["revision"], "hub.revision")
    files = hub["files"]
    globs = files.items() if isinstance(files, dict) else [("", files)]
    for role, glob in globs:
        where = f"hub.files.{role}" if role else "hub.files"
        glob = c.text(glob, where)
        if glob.startswith("/") or ".." in glob.split("/"):
            raise c.fail(where, f"must be a path inside the repo, got {glob!r}")
    c.text(hub["format"], "hub.format")
    return dict(hub)


def _parse_metric_options(c: _Checker, metric: str, raw: Any) -> dict[str, Any]:
    """The task's metric options, checked against what the metric registry says the metric
    takes (vqa_accuracy's evaluator variant, mrr's option count, a submission's format)."""
    from ibench.metrics import METRICS

    options = {} if raw is None else dict(c.mapping(raw, "metric_options"))
    for key, problem in METRICS[metric].option_problems(options).items():
        raise c.fail(f"metric_options.{key}", problem)
    return options


def _parse_rank(c: _Checker, raw: Any) -> RankSpec:
    rank = c.mapping(raw, "rank")
    c.keys(
        rank,
        {"candidates": True, "verbalizers": False, "aggregation": False, "vocabulary": False},
        "rank.",
    )
    source = c.choice(rank["candidates"], CANDIDATE_SOURCES, "rank.candidates")
    verbalizers = None
    if source == "verbalizers":
        raw_v = c.mapping(rank.get("verbalizers"), "rank.verbalizers")
        c.keys(raw_v, {"positive": True, "negative": True}, "rank.verbalizers.")
        verbalizers = {}
        for side in ("positive", "negative"):
            words = raw_v[side]
            if not isinstance(words, list) or not words:
                raise c.fail(f"rank.verbalizers.{side}", "must be a non-empty list of words")
            verbalizers[side] = tuple(c.text(w, f"rank.verbalizers.{side}") for w in words)
    aggregation = c.choice(
        rank.get("aggregation", "logsumexp" if verbalizers else "argmax"),
        ("argmax", "logsumexp"),
        "rank.aggregation",
    )
    vocabulary = None
    if source == "vocabulary":
        vocabulary = dict(c.mapping(rank.get("vocabulary"), "rank.vocabulary"))
    return RankSpec(source, verbalizers, aggregation, vocabulary)


def _parse_decisions(c: _Checker, raw: Any) -> tuple[Decision, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise c.fail("decisions", "must be a list of {name, value, why}")
    out = []
    for i, item in enumerate(raw):
        item = c.mapping(item, f"decisions[{i}]")
        c.keys(item, {"name": True, "value": True, "why": True}, f"decisions[{i}].")
        out.append(
            Decision(
                c.text(item["name"], f"decisions[{i}].name"),
                c.text(str(item["value"]), f"decisions[{i}].value"),
                c.text(item["why"], f"decisions[{i}].why"),
            )
        )
    return tuple(out)


def _parse_reference(c: _Checker, raw: Any) -> dict[str, float]:
    if raw is None:
        return {}
    ref = c.mapping(raw, "reference")
    for model, value in ref.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise c.fail(f"reference.{model}", f"must be a number, got {value!r}")
    return {str(k): float(v) for k, v in ref.items()}


def parse_task(raw: Any, path: Path) -> TaskSpec:
    """Validate one task file's content and build its TaskSpec."""
    c = _Checker(path)
    if not isinstance(raw, dict):
        raise TaskError(f"{path}: must be a YAML mapping at the top level")
    c.keys(raw, _TOP_KEYS, "")
    task_id = c.text(raw["id"], "id")
    if not NAME.fullmatch(task_id):
        raise c.fail("id", f"must be {NAME_RULE}, got {task_id[:80]!r}")
    if task_id != path.stem:
        raise c.fail("id", f"must equal the file name {path.stem!r}, got {task_id!r}")
    media, frames = _parse_media(c, raw["media"])
    eval_name, eval_size = _parse_eval_split(c, raw["eval_split"])
    data = _parse_data(c, raw["data"])
    mode = c.choice(raw["mode"], MODES, "mode")
    metric = c.choice(raw["metric"], metric_names(), "metric")
    generation = rank = None
    if mode == "generate":
        if "rank" in raw:
            raise c.fail("rank", "only rank-mode tasks have rank settings")
        generation = _parse_generation(c, raw.get("generation") or {})
    else:
        if "generation" in raw:
            raise c.fail("generation", "only generate-mode tasks have decoding settings")
        rank = _parse_rank(c, raw.get("rank"))
    return TaskSpec(
        id=task_id,
        title=c.text(raw["title"], "title"),
        category=c.text(raw["category"], "category"),
        split=c.choice(raw["split"], SPLITS, "split"),
        media=media,
        frames=frames,
        data=data,
        eval_split=eval_name,
        eval_size=eval_size,
        mode=mode,
        prompt=c.text(raw["prompt"], "prompt"),
        templates=c.text(raw["templates"], "templates"),
        metric=metric,
        metric_options=_parse_metric_options(c, metric, raw.get("metric_options")),
        image_resize=c.choice(raw.get("image_resize", "square"), IMAGE_RESIZES, "image_resize"),
        generation=generation,
        rank=rank,
        reference=_parse_reference(c, raw.get("reference")),
        train_size=(
            c.positive_int(raw["train_size"], "train_size") if "train_size" in raw else None
        ),
        decisions=_parse_decisions(c, raw.get("decisions")),
        hub=_parse_hub(c, raw.get("hub"), data.files),
        source=path,
    )


def load_task_file(path: Path) -> TaskSpec:
    """Read and validate one task YAML file."""
    return parse_task(read_yaml(path, TaskError), path)


def metric_names() -> tuple[str, ...]:
    """The metrics a task file may name: the registry's."""
    from ibench.metrics import METRICS

    return tuple(METRICS)
