"""The run folder's records, typed, each read and written here: a prediction line
(predictions/TASK.jsonl), a task's entry of metrics.json, and the manifest. The manifest
carries the schema version of the whole folder; a folder written by a newer schema is refused
in one line rather than misread.

Reading is lenient about what older runs lack (a field added later reads as None) and strict
about what it needs (a missing field is a RunError naming the file, the line and the field).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ibench.run.folder import RunDir, RunError, read_json, required_field, write_json

SCHEMA_VERSION = 1

# The fields every prediction line has (the others are written only when set).
_LINE_REQUIRED = ("task", "sample_id", "template_id", "prompt", "prediction", "status", "reason")


@dataclass(kw_only=True)
class PredictionLine:
    """One request's outcome: what was asked (task, sample, template, prompt), the answer
    (generated text, or the chosen candidate with its scores), and how it went (`status`
    "ok" or a failure kind, with its `reason`).

    Rank lines carry `choice` and `scores` (every candidate's, up to 100 of them) or `top` (the
    ten best of a larger vocabulary); verbalizer tasks their class `score`. Video lines carry
    the sampled `frames`, their `frame_window` and the sample's `clip`. `model_prompt` is the
    exact text a chat-templated model was given; `seconds` the model time per request. Fields
    are written in this order, the optional ones only when set.
    """

    task: str | None
    sample_id: str
    template_id: str
    prompt: str | None
    prediction: Any
    choice: int | None = None
    score: float | None = None
    scores: list[float] | None = None
    top: list[list[Any]] | None = None
    status: str
    reason: str | None
    model_prompt: str | None = None
    frames: list[int] | None = None
    frame_window: str | None = None
    clip: list[float] | None = None
    seconds: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(sample id, template id): what identifies the request within its task."""
        return self.sample_id, self.template_id

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the line: the required fields, then the optional ones set."""
        return {f.name: _finite(getattr(self, f.name)) for f in fields(self)
                if f.name in _LINE_REQUIRED or getattr(self, f.name) is not None}

    @classmethod
    def from_json(cls, record: dict[str, Any], path: Path, number: int,
                  light: bool = False) -> PredictionLine:
        """A stored line; sample_id, template_id and status are required (a RunError naming
        the file, line and field otherwise). `light` leaves out the prompts and the reason
        (what scoring does not read) to keep memory small on large tasks."""
        values = {f.name: record.get(f.name) for f in fields(cls)}
        for name in ("sample_id", "template_id", "status"):
            values[name] = str(required_field(record, name, path, number))
        if light:
            values.update(prompt=None, model_prompt=None, reason=None)
        return cls(**values)


@dataclass(frozen=True)
class TaskMetrics:
    """A task's entry of metrics.json, as readers use it: the headline value with its 95%
    interval, or why there is none (`status`: "scored", "not scored", "no predictions",
    "submission", "skipped"), and the whole entry as written (`entry`)."""

    task: str
    status: str
    metric: str | None = None
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    failures: dict[str, int] = field(default_factory=dict)
    headline_template: str | None = None
    headline_is_zero_shot: bool | None = None
    reason: str | None = None
    entry: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, task: str, entry: Any) -> TaskMetrics:
        """One task's entry (an entry that is not a JSON object reads as not scored)."""
        if not isinstance(entry, dict):
            return cls(task, "not scored", reason=f"malformed entry: {entry!r}")
        ci = entry.get("ci95")
        low, high = (ci if isinstance(ci, list) and len(ci) == 2 else (None, None))
        value = entry.get("value")
        status = entry.get("status") or ("scored" if isinstance(value, (int, float))
                                          else "not scored")
        failures = entry.get("failures")
        return cls(task, str(status), entry.get("metric"),
                   float(value) if isinstance(value, (int, float)) else None,
                   _number(low), _number(high), entry.get("n"),
                   dict(failures) if isinstance(failures, dict) else {},
                   entry.get("headline_template"), entry.get("headline_is_zero_shot"),
                   entry.get("reason"), entry)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _finite(value: Any) -> Any:
    """A score of -inf (a candidate the model gives no probability, in fp16/bf16) as the lowest
    float, which JSON can hold and which ranks the same; lists walked. (NaN and +inf never get
    here: a rank line with one is a nan_score failure.)"""
    if isinstance(value, float) and value == -math.inf:
        return -sys.float_info.max
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def read_metrics(path: Path) -> tuple[dict[str, Any], dict[str, TaskMetrics]]:
    """metrics.json: (its bootstrap settings, {task: TaskMetrics}); a RunError naming the file
    when it is not the expected shape."""
    data = read_json(path)
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict):
        raise RunError(f"{path}: field 'tasks' must be a JSON object of task entries")
    return (dict(data.get("bootstrap") or {}),
            {task: TaskMetrics.from_json(task, entry) for task, entry in tasks.items()})


def write_metrics(path: Path, bootstrap: dict[str, Any], entries: dict[str, dict[str, Any]]
                  ) -> dict[str, Any]:
    """Write metrics.json (atomically): the bootstrap settings and one entry per task."""
    metrics = {"bootstrap": bootstrap, "tasks": entries}
    write_json(path, metrics)
    return metrics


# The manifest fields reading a run relies on, with their JSON types ("a.b": inside a);
# resuming also appends a session and records each task.
_READ_FIELDS: dict[str, type] = {"settings": dict, "settings.tasks": list}
_RESUME_FIELDS: dict[str, type] = {**_READ_FIELDS, "sessions": list, "tasks": dict}
_JSON_TYPES = {dict: "a JSON object", list: "a JSON list"}


@dataclass
class Manifest:
    """A run's manifest.json: everything needed to redo the run and judge comparability (the
    settings, the model as loaded, packages, host), how each session and task went, and why
    its numbers mean nothing when it is a demo. Keys this version does not know are kept."""

    settings: dict[str, Any]
    ibench_version: str | None = None
    git_commit: str | None = None
    run_name: str | None = None
    created: str | None = None
    status: str | None = None
    model_info: dict[str, Any] = field(default_factory=dict)
    packages: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    demo: list[str] | None = None
    ended: str | None = None
    schema: int = SCHEMA_VERSION
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, resuming: bool = False) -> Manifest:
        """A manifest.json, checked to be an object holding what readers (or, `resuming`, a
        resume) rely on: a RunError naming the file and the field otherwise, so a damaged
        manifest never surfaces as a TypeError."""
        raw = read_json(path)
        if not isinstance(raw, dict):
            raise RunError(f"{path}: must be a JSON object (the run's manifest), got "
                           f"{_json_type(raw)}")
        for name, kind in (_RESUME_FIELDS if resuming else _READ_FIELDS).items():
            value: Any = raw
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if not isinstance(value, kind):
                got = "missing" if value is None else _json_type(value)
                raise RunError(f"{path}: field '{name}': must be {_JSON_TYPES[kind]}, got {got}")
        schema = raw.get("schema", 1)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise RunError(f"{path}: written by a newer ibench (run folder schema {schema!r}; "
                           f"this one reads {SCHEMA_VERSION}): upgrade ibench to read it")
        known = {f.name for f in fields(cls)} - {"other"}
        values = {k: v for k, v in raw.items() if k in known}
        for name in ("model_info", "packages", "host"):
            if not isinstance(values.get(name, {}), dict):
                values[name] = {}
        if not isinstance(values.get("demo", []), list):
            values["demo"] = None
        return cls(**values, other={k: v for k, v in raw.items() if k not in known})

    def to_json(self) -> dict[str, Any]:
        """The manifest as written: the schema version first, then the fields in order."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "other"}
        return {"schema": out.pop("schema"), **out, **self.other}

    def write(self, path: Path) -> None:
        """Write manifest.json atomically."""
        write_json(path, self.to_json())

    @property
    def model_alias(self) -> str:
        """The model as the user named it."""
        return str(self.settings.get("model_alias") or self.settings.get("model") or "")

    def demo_reasons(self) -> list[str]:
        """Why the run's numbers mean nothing (a random-weight tiny model, the synthetic
        sample pack); [] for a real run. What eval recorded; for an older run without the
        record, judged from its settings."""
        if self.demo is not None:
            return [str(r) for r in self.demo]
        return demo_reasons(self.settings)

    def close_session(self, status: str, session: str | None = None, **details: Any) -> None:
        """End a session (now; the one with this id, else the last) with a run status and what
        to record of it."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.status = status
        mine = [s for s in self.sessions if session is not None and s.get("id") == session]
        if mine or self.sessions:
            (mine or self.sessions)[-1].update(ended=now, **details)
        if status in ("complete", "partial"):
            self.ended = now


def demo_reasons(settings: dict[str, Any]) -> list[str]:
    """Why a run of these settings is a demo: a tiny random-weight model (ibench's tiny-*
    stand-ins), or the synthetic sample pack as its data root."""
    from ibench.data.samplepack import is_sample_pack

    reasons = []
    if str(settings.get("model", "")).startswith("ibench/tiny") or str(
            settings.get("model_alias", "")).startswith("tiny-") or settings.get("stand_in"):
        reasons.append("a tiny random-weight model")
    root = settings.get("data_root")
    if isinstance(root, str) and root and is_sample_pack(Path(root)):
        reasons.append("the synthetic sample pack")
    return reasons


def _json_type(value: Any) -> str:
    """A JSON value's kind, in JSON's words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "a JSON object", list: "a JSON list", str: "a string"}.get(type(value), "null")


def open_run(path: Path) -> tuple[RunDir, Manifest]:
    """A finished or partial run folder and its manifest (a RunError when it is none)."""
    run = RunDir(Path(path))
    if not run.manifest.exists() and not run.manifest.is_symlink():
        raise RunError(f"{path}: not an ibench run (no manifest.json)")
    run.check()
    return run, Manifest.read(run.manifest)
