"""TaskSpec records and loading/validating tasks/*.yaml (one file per dataset).

Every error names the file and the field, so a user editing a task file knows what to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from ibench.records import Architecture, GenerationSettings
from ibench.resources import included, resource_dir

# "server": an evaluation split whose answers are not public (VizWiz test-dev): ibench writes
# the file its evaluation server takes; run it by name or with --split server.
SPLITS = ("held-in", "held-out", "server")
MODES = ("generate", "rank")
MEDIA_KINDS = ("image", "video")
CANDIDATE_SOURCES = ("choices", "options", "vocabulary", "verbalizers")
METRIC_NAMES = (
    "cider",
    "vqa_accuracy",
    "exact_match",
    "accuracy",
    "ivqa_accuracy",
    "mrr",
    "roc_auc",
    "aokvqa_da_accuracy",
    "submission",
)
# How an image becomes the vision encoder's square input (LAVIS's eval processors):
# blip_image_eval resizes to a square (the InstructBLIP default), clip_image_eval resizes the
# shorter side and center-crops (the InstructBLIP COCO and OK-VQA evaluation configs).
IMAGE_RESIZES = ("square", "shorter_side_center_crop")
SUBMISSION_FORMATS = ("vizwiz",)
# Table 1 of the paper, in its column order (protocol.md section 4 and 8).
HELD_OUT_ORDER = (
    "nocaps",
    "flickr30k",
    "gqa",
    "vsr",
    "iconqa",
    "textvqa",
    "visdial",
    "hateful_memes",
    "vizwiz",
    "scienceqa_img",
    "msvd_qa",
    "msrvtt_qa",
    "ivqa",
)


class TaskError(ValueError):
    """A task file is missing, malformed, or refers to something that does not exist."""


@dataclass(frozen=True)
class DataSpec:
    """Where a dataset lives under the data root and how to read it."""

    format: str
    files: dict[str, str]
    media_dir: str
    published_at: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RankSpec:
    """How candidates are found and turned into a prediction in rank mode."""

    candidates: str
    verbalizers: dict[str, tuple[str, ...]] | None = None
    aggregation: str = "argmax"
    vocabulary: dict[str, Any] | None = None


@dataclass(frozen=True)
class Decision:
    """A choice the paper leaves open, written out so users see it (protocol.md [decision])."""

    name: str
    value: str
    why: str


@dataclass(frozen=True)
class TaskSpec:
    """One dataset of the protocol: data, prompt, inference mode, metric and reference numbers."""

    id: str
    title: str
    category: str
    split: str
    media: str
    frames: int | None
    data: DataSpec
    eval_split: str
    eval_size: int | None
    mode: str
    prompt: str
    templates: str
    metric: str
    generation: dict[str, Any] | None = None
    rank: RankSpec | None = None
    metric_options: dict[str, Any] = field(default_factory=dict)
    image_resize: str = "square"
    reference: dict[str, float] = field(default_factory=dict)
    train_size: int | None = None
    decisions: tuple[Decision, ...] = ()
    hub: dict[str, Any] | None = None  # a hub parquet mirror of the split (ibench.data.hub)
    source: Path | None = None
    # --gen-kwargs: decoding values that replace the task's (GenerationSettings field names)
    decoding_overrides: dict[str, Any] = field(default_factory=dict)

    def generation_settings(self, architecture: Architecture) -> GenerationSettings:
        """LAVIS's decoding arguments resolved for one architecture, in new tokens.

        The task file holds LAVIS's numbers (protocol.md section 3), counted as transformers
        4.33 (the version LAVIS ran) counted them: `max_length` is new tokens for both
        architectures (FlanT5: LAVIS passes it as max_new_tokens; Vicuna: generation from
        inputs_embeds only, so nothing else is counted); `min_length` counts FlanT5's decoder
        start token (min_length=1 allows an empty answer, 10 means 9 new tokens) but only new
        tokens for Vicuna. The length penalty may differ per architecture.
        """
        if self.generation is None:
            raise TaskError(f"task {self.id} has no generation settings (mode {self.mode})")
        gen = self.generation
        penalty = gen["length_penalty"]
        if isinstance(penalty, dict):
            penalty = penalty[architecture]
        min_length = int(gen["min_length"])
        min_new = max(0, min_length - 1) if architecture == "encoder-decoder" else min_length
        settings = GenerationSettings(
            num_beams=int(gen["num_beams"]), max_new_tokens=int(gen["max_length"]),
            min_new_tokens=min_new, length_penalty=float(penalty),
            repetition_penalty=float(gen["repetition_penalty"]),
        )
        return replace(settings, **self.decoding_overrides)


# Sampling settings of other harnesses that LAVIS's beam search has no place for.
_NOT_DECODING = ("temperature", "do_sample", "top_p", "top_k", "until")


def parse_gen_kwargs(text: str) -> dict[str, Any]:
    """`--gen-kwargs num_beams=1,max_new_tokens=20` as GenerationSettings overrides: known
    names, values of the field's type; anything else a TaskError saying what is allowed."""
    types = {f.name: f.type for f in fields(GenerationSettings)}
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not value.strip():
            raise TaskError(f"--gen-kwargs: {part!r} is not name=value")
        if key in _NOT_DECODING:
            raise TaskError(f"--gen-kwargs: {key!r} has no meaning here: ibench decodes by beam "
                            f"search as LAVIS does (allowed: {', '.join(types)})")
        if key not in types:
            raise TaskError(f"--gen-kwargs: unknown setting {key!r} (allowed: "
                            f"{', '.join(types)})")
        kind = int if types[key] in (int, "int") else float
        try:
            number = kind(value.strip())
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise TaskError(f"--gen-kwargs: {key} must be {what}, got {value.strip()!r}"
                            ) from None
        if number < (1 if key in ("num_beams", "max_new_tokens") else 0):
            raise TaskError(f"--gen-kwargs: {key} must be at least "
                            f"{1 if key in ('num_beams', 'max_new_tokens') else 0}, got {number}")
        out[key] = number
    return out


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
    """vqa_accuracy names its dataset's evaluator (`variant`); submission names its format."""
    from ibench.metrics.vqa import VQA_VARIANTS

    options = {} if raw is None else dict(c.mapping(raw, "metric_options"))
    allowed = {"vqa_accuracy": {"variant"}, "submission": {"format", "server"}}.get(metric, set())
    for key in options:
        if key not in allowed:
            raise c.fail(f"metric_options.{key}", f"is not an option of {metric}")
    if metric == "vqa_accuracy":
        if "variant" not in options:
            raise c.fail("metric_options.variant", "a VQA-accuracy task names its dataset's "
                         f"evaluator: one of {', '.join(VQA_VARIANTS)}")
        c.choice(options["variant"], tuple(VQA_VARIANTS), "metric_options.variant")
    if metric == "submission":
        c.choice(options.get("format"), SUBMISSION_FORMATS, "metric_options.format")
        c.text(options.get("server"), "metric_options.server")
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
    if task_id != path.stem:
        raise c.fail("id", f"must equal the file name {path.stem!r}, got {task_id!r}")
    media, frames = _parse_media(c, raw["media"])
    eval_name, eval_size = _parse_eval_split(c, raw["eval_split"])
    data = _parse_data(c, raw["data"])
    mode = c.choice(raw["mode"], MODES, "mode")
    metric = c.choice(raw["metric"], METRIC_NAMES, "metric")
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


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping key given twice (plain PyYAML keeps the last)."""


def _unique_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    """SafeLoader's mapping constructor, after checking that no key is given twice."""
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = first_line.get(key)
        except TypeError:  # an unhashable key: SafeLoader's own error names it
            continue
        if seen is not None:
            raise ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {seen})",
                key_node.start_mark)
        first_line[key] = key_node.start_mark.line + 1
    yield from loader.construct_yaml_map(node)


UniqueKeyLoader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)


def read_yaml(path: Path, error: Callable[[str], Exception]) -> Any:
    """Parse a configuration file (UTF-8, safe YAML, no duplicate keys); any problem is one
    `error(message)` naming the file and the line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{path}: line {line}: not UTF-8 text (byte {data[exc.start]:#04x} at "
                    f"offset {exc.start}); save the file as UTF-8") from exc
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: no code execution
    except yaml.YAMLError as exc:
        raise error(f"{path}: {_yaml_problem(exc)}") from exc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error on one line: where, then what (PyYAML's own text spans several lines)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {what}"
        return f"not valid YAML: {what}"
    return f"not valid YAML: {' '.join(str(exc).split())}"


def load_task_file(path: Path) -> TaskSpec:
    """Read and validate one task YAML file."""
    return parse_task(read_yaml(path, TaskError), path)


def load_tasks(folder: Path | None = None) -> dict[str, TaskSpec]:
    """Load every task file of a folder (the shipped tasks/ by default), keyed by id."""
    if folder is None:
        return _with_included(dict(_shipped_tasks()), included("tasks"))
    return _load_folder(folder)


def _with_included(tasks: dict[str, TaskSpec], folders: list[Path]) -> dict[str, TaskSpec]:
    """The shipped tasks and those of the --include-path folders; an id given twice is an
    error naming both files."""
    for folder in folders:
        for spec in _load_folder(folder).values():
            if spec.id in tasks:
                raise TaskError(f"{spec.source}: task id {spec.id!r} is already defined in "
                                f"{tasks[spec.id].source}; give the task another id")
            tasks[spec.id] = spec
    return tasks


def _load_folder(folder: Path) -> dict[str, TaskSpec]:
    tasks = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = load_task_file(path)
        tasks[spec.id] = spec
    if not tasks:
        raise TaskError(f"{folder}: no task files (*.yaml) found")
    return tasks


@cache
def _shipped_tasks() -> dict[str, TaskSpec]:
    return _load_folder(resource_dir("tasks"))


def select_tasks(
    tasks: dict[str, TaskSpec], split: str = "all", names: list[str] | None = None
) -> list[TaskSpec]:
    """Tasks of a split (held-in, held-out, server; all = held-in and held-out) or by name, in
    the protocol's order."""
    if names:
        from ibench.names import resolve_name

        return [tasks[resolve_name(n, list(tasks), "task")] for n in names]
    if split not in (*SPLITS, "all"):
        raise TaskError(f"unknown split {split!r}: use held-in, held-out, server or all")
    chosen = [t for t in tasks.values()
              if t.split == split or (split == "all" and t.split != "server")]
    return sorted(chosen, key=_order_key)


def _order_key(task: TaskSpec) -> tuple[int, int, str]:
    if task.id in HELD_OUT_ORDER:
        return (1, HELD_OUT_ORDER.index(task.id), task.id)
    return (0, 0, task.id)


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
