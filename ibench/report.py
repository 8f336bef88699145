"""Leaderboard and comparison tables, and their renderers (terminal, md, csv, json, latex)."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ibench.metrics import MetricError, PairedComparison, paired_bootstrap, score
from ibench.resources import resource_dir
from ibench.results import RunDir, load_predictions, load_references, open_run, read_json
from ibench.scoring import REFERENCE_FIELDS, SCORED_FIELDS, TEXT_FIELDS, clusters_of
from ibench.tasks import HELD_OUT_ORDER

# Hub checkpoints that have a row in the paper's Table 1.
PAPER_ROWS = {
    "Salesforce/instructblip-flan-t5-xl": "InstructBLIP (FlanT5XL)",
    "Salesforce/instructblip-flan-t5-xxl": "InstructBLIP (FlanT5XXL)",
    "Salesforce/instructblip-vicuna-7b": "InstructBLIP (Vicuna-7B)",
    "Salesforce/instructblip-vicuna-13b": "InstructBLIP (Vicuna-13B)",
    "Salesforce/blip2-flan-t5-xl": "BLIP-2 (FlanT5XL)",
    "Salesforce/blip2-flan-t5-xxl": "BLIP-2 (FlanT5XXL)",
}
FORMATS = ("table", "md", "csv", "json", "latex")


@dataclass
class Board:
    """A leaderboard: named rows of values per held-out task (None where there is none)."""

    columns: list[str]
    rows: list[tuple[str, dict[str, float | None]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def reference_rows(path: Path | None = None) -> list[tuple[str, dict[str, float | None]]]:
    """The paper's Table 1 rows from results/reference/table1.csv."""
    path = path or resource_dir("reference") / "table1.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row["model"], {t: float(row[t]) if row[t] else None for t in HELD_OUT_ORDER})
            for row in csv.DictReader(handle)
        ]


def with_average(values: dict[str, float | None]) -> dict[str, float | None]:
    """Add the mean over the 13 held-out columns ("average"); none unless all 13 are there,
    since a mean over different subsets of tasks does not compare."""
    present = [values.get(t) for t in HELD_OUT_ORDER]
    complete = all(v is not None for v in present)
    return {**values, "average": sum(present) / len(present) if complete else None}  # type: ignore[arg-type]


def build_leaderboard(run_paths: list[Path], include_reference: bool = True) -> Board:
    """Rows for the paper's models and for each run; a run with a paper row gets its difference."""
    board = Board(columns=[*HELD_OUT_ORDER, "average"])
    reference = dict(reference_rows())
    if include_reference:
        board.rows += [(name, with_average(values)) for name, values in reference.items()]
    settings = []
    for path in run_paths:
        run, manifest = open_run(path)
        settings.append((run.path.name, manifest["settings"]))
        metrics = read_json(run.metrics) if run.metrics.exists() else {"tasks": {}}
        values = {t: metrics["tasks"].get(t, {}).get("value") for t in HELD_OUT_ORDER}
        name = f"{run.path.name} ({manifest['settings'].get('model_alias')})"
        board.rows.append((name, with_average(values)))
        board.notes += run_notes(name, manifest, metrics["tasks"])
        own = manifest["settings"]  # a local copy says which checkpoint it is
        paper = PAPER_ROWS.get(str(own.get("published_as") or own.get("model")))
        if paper and paper in reference:
            diff = {
                t: values[t] - reference[paper][t]  # type: ignore[operator]
                if values[t] is not None and reference[paper][t] is not None else None
                for t in HELD_OUT_ORDER
            }
            board.rows.append((f"  difference to {paper}", with_average(diff)))
    for key in PROTOCOL_KEYS:
        if len({json.dumps(s.get(key), sort_keys=True) for _, s in settings}) > 1:
            board.notes.append(f"the runs differ in {key}: their rows are not directly comparable")
    return board


def run_notes(name: str, manifest: dict[str, Any], tasks: dict[str, Any]) -> list[str]:
    """What a reader must know before comparing a run's row with the paper's."""
    notes = []
    held_out = [t for t in HELD_OUT_ORDER if tasks.get(t, {}).get("value") is not None]
    if len(held_out) < len(HELD_OUT_ORDER):
        notes.append(f"{name}: {len(held_out)} of 13 held-out tasks scored, so no average")
    if manifest.get("status") not in (None, "complete"):
        notes.append(f"{name}: the run is {manifest['status']}")
    limit = manifest["settings"].get("limit")
    if limit is not None:
        notes.append(f"{name}: --limit {limit}: a seeded subset, not the full split")
    for task_id in HELD_OUT_ORDER:
        entry = tasks.get(task_id, {})
        if entry.get("status") == "not scored":
            notes.append(f"{name}: {task_id} not scored: {entry.get('reason')}")
        elif entry and entry.get("headline_is_zero_shot") is False:
            notes.append(f"{name}: {task_id} is scored with template "
                         f"{entry['headline_template']}, not the zero-shot prompt")
        failures = dict(entry.get("failures", {}))
        bad = failures.pop("bad_record", 0)
        if bad:
            notes.append(f"{name}: {task_id}: {bad} bad records in the data, left out of the "
                         "metric (see the predictions' reasons): not comparable to the paper")
        failed = sum(failures.values())
        if failed:
            notes.append(f"{name}: {task_id}: {failed} failed requests scored as wrong")
        variant = entry.get("metric_options", {}).get("variant")
        if variant:
            notes.append(f"{name}: {task_id}: VQA accuracy by its dataset's evaluator "
                         f"(variant {variant}; metrics.json says what it does)")
    for task_id, source in manifest["settings"].get("data_sources", {}).items():
        if not isinstance(source, dict) or source.get("layout") != "hub":
            continue
        if not source.get("revision"):
            notes.append(f"{name}: {task_id} read a hub mirror of {source.get('repo')} of "
                         "unknown revision (a copy without download metadata)")
        elif source.get("pinned") and source["revision"] != source["pinned"]:
            notes.append(f"{name}: {task_id} read {source.get('repo')} at revision "
                         f"{source['revision']}, not the pinned {source['pinned']}")
    if tasks.get("vizwiz", {}).get("value") is not None:
        notes.append(f"{name}: vizwiz is the val split scored locally; the paper's VizWiz number "
                     "is test-dev, which only the VizWiz server scores")
    for task_id, entry in tasks.items():
        if entry.get("status") == "submission":
            notes.append(f"{name}: {task_id}: its number comes from the {entry['format']} "
                         f"server: upload {entry['file']} ({entry['n']} answers) to "
                         f"{entry['server']}")
    return notes


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{value:.{digits}f}")


def render_board(board: Board, fmt: str) -> str:
    """Render a leaderboard as md, csv, json or latex text."""
    header = ["model", *board.columns]
    cells = [[name, *[_fmt(values.get(c)) for c in board.columns]] for name, values in board.rows]
    if fmt == "json":
        return json.dumps({"columns": board.columns, "notes": board.notes, "rows": [
            {"model": name, **{c: values.get(c) for c in board.columns}}
            for name, values in board.rows]}, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for name, values in board.rows:
            writer.writerow([name, *["" if values.get(c) is None else values[c]
                                     for c in board.columns]])
        return out.getvalue()
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines + [""] + [f"- {n}" for n in board.notes]) + "\n"
    if fmt == "latex":
        def esc(text: str) -> str:
            return text.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace(
                "&", "\\&").replace("%", "\\%").replace("#", "\\#")

        lines = ["\\begin{tabular}{l" + "r" * len(board.columns) + "}", "\\toprule",
                 " & ".join(esc(h) for h in header) + " \\\\", "\\midrule"]
        lines += [" & ".join(esc(c) for c in row) + " \\\\" for row in cells]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


# ------------------------------------------------------------------------------------- compare


@dataclass
class CompareRow:
    """One task (and template pairing) compared between run A and run B."""

    task: str
    template_a: str
    template_b: str
    result: PairedComparison

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready form."""
        return {"task": self.task, "template_a": self.template_a,
                "template_b": self.template_b, **asdict(self.result)}


@dataclass
class Comparison:
    """Everything `ibench compare` prints."""

    run_a: str
    run_b: str
    rows: list[CompareRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    manifest_diff: list[tuple[str, Any, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"run_a": self.run_a, "run_b": self.run_b,
                "rows": [r.to_dict() for r in self.rows], "warnings": self.warnings,
                "manifest_diff": [{"setting": k, "a": a, "b": b}
                                  for k, a, b in self.manifest_diff]}


MANIFEST_KEYS = ("model", "dtype", "device", "qformer_instruction", "templates", "limit", "seed",
                 "frames", "data_root", "task_hashes", "template_hashes", "decoding", "ranking")
PROTOCOL_KEYS = ("limit", "seed", "frames", "data_root", "task_hashes", "decoding", "ranking")


def _template_pairs(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    """Which templates to pair: the single ones with each other, else the shared ids."""
    if len(a) == 1 and len(b) == 1:
        return [(a[0], b[0])]
    return [(t, t) for t in a if t in b]


def _split_predictions(run: RunDir, task: str, metric: str
                       ) -> dict[str, dict[str, dict[str, Any]]]:
    by_template: dict[str, dict[str, dict[str, Any]]] = {}
    fields = SCORED_FIELDS.get(metric, TEXT_FIELDS)
    for (sid, tid), record in load_predictions(run, task, fields).items():
        by_template.setdefault(tid, {})[sid] = record
    return by_template


def compare_runs(path_a: Path, path_b: Path, n_resamples: int = 1000, seed: int = 0) -> Comparison:
    """Per task: A, B, B - A with a paired-bootstrap 95% interval and p-value, and flips."""
    run_a, man_a = open_run(path_a)
    run_b, man_b = open_run(path_b)
    out = Comparison(str(path_a), str(path_b))
    sa, sb = man_a["settings"], man_b["settings"]
    for key in MANIFEST_KEYS:
        if sa.get(key) != sb.get(key):
            out.manifest_diff.append((key, sa.get(key), sb.get(key)))
    protocol = [k for k in PROTOCOL_KEYS if sa.get(k) != sb.get(k)]
    if protocol:
        out.warnings.append(
            "the runs differ in protocol settings (" + ", ".join(protocol) + "): the "
            "difference mixes the model change with a protocol change")
    met_a = read_json(run_a.metrics)["tasks"] if run_a.metrics.exists() else {}
    met_b = read_json(run_b.metrics)["tasks"] if run_b.metrics.exists() else {}
    shared_tasks = [t for t in sa["tasks"] if t in sb["tasks"]]
    for only, name in ((set(sa["tasks"]) - set(sb["tasks"]), "A"),
                       (set(sb["tasks"]) - set(sa["tasks"]), "B")):
        if only:
            listed = ", ".join(sorted(only))
            out.warnings.append(f"tasks only in run {name}, not compared: {listed}")
    for task in shared_tasks:
        if task not in met_a or task not in met_b or "metric" not in met_a[task]:
            out.warnings.append(f"{task}: not scored in both runs, not compared")
            continue
        metric = met_a[task]["metric"]
        if metric == "submission":
            out.warnings.append(f"{task}: scored only by its server, not compared")
            continue
        options = met_a[task].get("metric_options", {})
        if options != met_b[task].get("metric_options", {}):
            out.warnings.append(
                f"{task}: the runs were scored with different metric options (A {options}, B "
                f"{met_b[task].get('metric_options', {})}); both are rescored with A's")
        refs_a = load_references(run_a, task, REFERENCE_FIELDS)
        refs_b = load_references(run_b, task, REFERENCE_FIELDS)
        shared = [sid for sid in refs_a if sid in refs_b]
        if len(shared) != len(refs_a) or len(shared) != len(refs_b):
            out.warnings.append(
                f"{task}: run A scored {len(refs_a)} samples, run B {len(refs_b)}; compared on "
                f"the {len(shared)} both scored")
        if not shared:
            continue
        pred_a = _split_predictions(run_a, task, metric)
        pred_b = _split_predictions(run_b, task, metric)
        pairs = _template_pairs(sorted(pred_a), sorted(pred_b))
        if not pairs:
            listed = f"A: {', '.join(sorted(pred_a))}; B: {', '.join(sorted(pred_b))}"
            out.warnings.append(f"{task}: the runs share no template ({listed}), not compared")
        for ta, tb in pairs:
            if ta != tb:
                out.warnings.append(f"{task}: A's template {ta} compared with B's {tb}")
            try:
                res_a = score(metric, [(s, refs_a[s]) for s in shared], pred_a[ta], **options)
                res_b = score(metric, [(s, refs_b[s]) for s in shared], pred_b[tb], **options)
                cmp = paired_bootstrap(res_a, res_b, n_resamples=n_resamples, seed=seed,
                                       clusters=clusters_of(refs_a, list(res_a.per_sample)))
            except MetricError as exc:
                out.warnings.append(f"{task}: cannot compare: {exc}")
                continue
            out.rows.append(CompareRow(task, ta, tb, cmp))
    return out
