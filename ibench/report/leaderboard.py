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
from ibench.run.folder import RunDir, load_predictions, load_references, open_run, read_json
from ibench.run.score import REFERENCE_FIELDS, SCORED_FIELDS, TEXT_FIELDS, clusters_of
from ibench.safetext import latex_cell, md_cell
from ibench.spec.taskfile import HELD_OUT_ORDER

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
    title: str = "Zero-shot held-out leaderboard (paper's Table 1 rows, then runs)"


# The 13 held-in datasets (protocol.md section 4), in the order of its table.
HELD_IN_ORDER = ("coco_caption", "web_capfilt", "textcaps", "vqav2", "okvqa", "aokvqa",
                 "ocrvqa", "vqg_vqav2", "vqg_okvqa", "vqg_aokvqa", "llava_conv",
                 "llava_detail", "llava_reasoning")
# Table 3's columns: models fine-tuned on each of these datasets.
FINETUNED_ORDER = ("scienceqa_img", "ocrvqa", "okvqa", "aokvqa")
BOARDS = ("held-out", "held-in", "finetuned")


def _csv_rows(name: str) -> list[dict[str, str]]:
    with (resource_dir("reference") / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> float | None:
    return float(text) if text else None


def build_held_in_board(run_paths: list[Path], include_reference: bool = True) -> Board:
    """The held-in datasets per run, beside the only held-in number the paper gives: the
    average of Table 2 (InstructBLIP FlanT5XL, and its two ablations)."""
    board = Board(columns=[*HELD_IN_ORDER, "average"],
                  title="Held-in datasets (the paper publishes only their average, Table 2)")
    if include_reference:
        for row in _csv_rows("table2.csv"):
            board.rows.append((f"{row['model']} (Table 2)",
                               {"average": _number(row["held_in_avg"])}))
        board.notes.append("the paper's held-in average is its mean over the held-in "
                           "datasets' validation scores; it publishes no per-dataset number")
    for path in run_paths:
        run, manifest = open_run(path)
        tasks = (read_json(run.metrics) if run.metrics.exists() else {"tasks": {}})["tasks"]
        values: dict[str, float | None] = {t: tasks.get(t, {}).get("value")
                                           for t in HELD_IN_ORDER}
        present = [values[t] for t in HELD_IN_ORDER]
        values["average"] = (sum(present) / len(present)  # type: ignore[arg-type]
                             if all(v is not None for v in present) else None)
        name = run_row_name(run.path.name, manifest)
        board.rows.append((name, values))
        board.notes += run_notes(name, manifest, tasks, HELD_IN_ORDER, "held-in")
    return board


def build_finetuned_board(run_paths: list[Path], include_reference: bool = True) -> Board:
    """Table 3's columns: the paper's fine-tuned rows (as summarised) beside each run."""
    board = Board(columns=list(FINETUNED_ORDER),
                  title="Fine-tuned evaluation (paper's Table 3 rows, as summarised, then runs)")
    if include_reference:
        for row in _csv_rows("table3.csv"):
            board.rows.append((f"{row['model']} (fine-tuned, as summarised)",
                               {t: _number(row[t]) for t in FINETUNED_ORDER}))
        board.notes.append("Table 3's models are fine-tuned on each dataset and its OK-VQA and "
                           "A-OKVQA numbers are test-split ones; ibench scores the val splits, "
                           "so only a model fine-tuned the same way compares with these rows")
    for path in run_paths:
        run, manifest = open_run(path)
        tasks = (read_json(run.metrics) if run.metrics.exists() else {"tasks": {}})["tasks"]
        name = run_row_name(run.path.name, manifest)
        board.rows.append((name, {t: tasks.get(t, {}).get("value") for t in FINETUNED_ORDER}))
        board.notes += run_notes(name, manifest, tasks, FINETUNED_ORDER, "Table 3")
    return board


def boards_for(run_paths: list[Path], which: str = "auto", include_reference: bool = True
               ) -> list[Board]:
    """The leaderboards asked for, or ("auto") those the runs have tasks of: held-out
    (Table 1), held-in (Table 2's average), fine-tuned (Table 3)."""
    tasks: set[str] = set()
    for path in run_paths:
        tasks |= set(open_run(path)[1]["settings"].get("tasks", []))
    chosen = [which] if which != "auto" else [
        name for name, order in (("held-out", HELD_OUT_ORDER), ("held-in", HELD_IN_ORDER),
                                 ("finetuned", FINETUNED_ORDER[1:]))
        if tasks & set(order)] or ["held-out"]
    build = {"held-out": build_leaderboard, "held-in": build_held_in_board,
             "finetuned": build_finetuned_board}
    return [build[name](run_paths, include_reference) for name in chosen]


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
        name = run_row_name(run.path.name, manifest)
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
    task_sets = [set(s.get("tasks", [])) for _, s in settings]
    shared = set.intersection(*task_sets) if task_sets else set()
    known = set.union(*task_sets) if task_sets else set()
    for key in PROTOCOL_KEYS:
        if len({json.dumps(for_tasks(s.get(key), shared, known), sort_keys=True)
                for _, s in settings}) > 1:
            board.notes.append(f"the runs differ in {key}: their rows are not directly comparable")
    return board


def for_tasks(value: Any, tasks: set[str], known: set[str]) -> Any:
    """A per-task setting ({task: ...}, its keys among the `known` task ids) restricted to
    `tasks`; other settings as they are. Runs of different task sets are compared on the
    tasks they share."""
    if isinstance(value, dict) and value and all(k in known for k in value):
        return {k: v for k, v in value.items() if k in tasks}
    return value


def demo_reasons(manifest: dict[str, Any]) -> list[str]:
    """Why a run is a demo whose numbers mean nothing (recorded by eval; older runs: a tiny-*
    model), [] for a real run."""
    recorded = manifest.get("demo")
    if isinstance(recorded, list):
        return [str(r) for r in recorded]
    settings = manifest.get("settings", {})
    tiny = str(settings.get("model_alias", "")).startswith("tiny-") or str(
        settings.get("model", "")).startswith("ibench/tiny")
    return ["a tiny random-weight model"] if tiny else []


def run_row_name(run_name: str, manifest: dict[str, Any]) -> str:
    """A run's row label in every table: the run, its model alias, and DEMO for a demo run."""
    demo = ", DEMO" if demo_reasons(manifest) else ""
    return f"{run_name} ({manifest['settings'].get('model_alias')}{demo})"


def run_notes(name: str, manifest: dict[str, Any], tasks: dict[str, Any],
              order: tuple[str, ...] = HELD_OUT_ORDER, label: str = "held-out") -> list[str]:
    """What a reader must know before comparing a run's row with the paper's (for the tasks
    of one board: `order`, called `label`)."""
    notes = []
    demo = demo_reasons(manifest)
    if demo:
        notes.append(f"{name}: a DEMO run ({' and '.join(demo)}): its numbers mean nothing "
                     "and compare with nothing")
    gen = manifest["settings"].get("gen_kwargs")
    if gen:
        notes.append(f"{name}: decoding overridden with --gen-kwargs ({json.dumps(gen)}): not "
                     "comparable to the paper")
    info = manifest.get("model_info") if isinstance(manifest.get("model_info"), dict) else {}
    if info.get("protocol_differences"):  # another vision-language model (models/vlm.py)
        notes.append(f"{name}: {info.get('family')}, not InstructBLIP (no paper row); its "
                     f"protocol differs: {'; '.join(map(str, info['protocol_differences']))}")
    scored = [t for t in order if tasks.get(t, {}).get("value") is not None]
    if len(scored) < len(order) and label != "Table 3":
        notes.append(f"{name}: {len(scored)} of {len(order)} {label} tasks scored, so no "
                     "average")
    if manifest.get("status") not in (None, "complete"):
        notes.append(f"{name}: the run is {manifest['status']}")
    limit = manifest["settings"].get("limit")
    if limit is not None:
        notes.append(f"{name}: --limit {limit}: a seeded subset, not the full split")
    for task_id in order:
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
        if task_id not in order or not isinstance(source, dict) or source.get(
                "layout") != "hub":
            continue
        if not source.get("revision"):
            notes.append(f"{name}: {task_id} read a hub mirror of {source.get('repo')} of "
                         "unknown revision (a copy without download metadata)")
        elif source.get("pinned") and source["revision"] != source["pinned"]:
            notes.append(f"{name}: {task_id} read {source.get('repo')} at revision "
                         f"{source['revision']}, not the pinned {source['pinned']}")
    if "vizwiz" in order and tasks.get("vizwiz", {}).get("value") is not None:
        notes.append(f"{name}: vizwiz is the val split scored locally; the paper's VizWiz number "
                     "is test-dev, which only the VizWiz server scores")
    for task_id, entry in tasks.items():
        if label == "held-out" and entry.get("status") == "submission":
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
    raw = [[name, *["" if values.get(c) is None else values[c] for c in board.columns]]
           for name, values in board.rows]
    return render_cells(header, cells, fmt, board.notes, raw)


def render_cells(header: list[str], cells: list[list[str]], fmt: str, notes: list[str],
                 raw: list[list[Any]] | None = None) -> str:
    """A table of text cells as md, csv or latex (csv writes `raw`, the unrounded values,
    when given)."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(raw if raw is not None else cells)
        return out.getvalue()
    if fmt == "md":  # every cell and note escaped: it stays in its cell of its row
        lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in cells]
        return "\n".join(lines + [""] + [f"- {md_cell(n)}" for n in notes]) + "\n"
    if fmt == "latex":
        lines = ["\\begin{tabular}{l" + "r" * (len(header) - 1) + "}", "\\toprule",
                 " & ".join(latex_cell(h) for h in header) + " \\\\", "\\midrule"]
        lines += [" & ".join(latex_cell(c) for c in row) + " \\\\" for row in cells]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


COMPARE_HEADER = ["task", "metric", "templates A/B", "n", "A", "B", "B - A", "95% interval", "p",
                  "better in A", "better in B"]


def comparison_cells(result: Comparison) -> list[list[str]]:
    """The compare table's rows as text (the terminal and md/latex show these)."""
    return [[r.task, c.metric, f"{r.template_a}/{r.template_b}", str(c.n), f"{c.value_a:.2f}",
             f"{c.value_b:.2f}", f"{c.difference:+.2f}", f"[{c.low:+.2f}, {c.high:+.2f}]",
             f"{c.p_value:.3f}", str(c.better_in_a), str(c.better_in_b)]
            for r in result.rows for c in [r.result]]


def render_comparison(result: Comparison, fmt: str) -> str:
    """`ibench compare` as md, csv, json or latex, like the leaderboard's formats; the notes
    are its warnings and the settings that differ."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, default=str) + "\n"
    notes = [*result.warnings, *(f"setting {k} differs: A {a}, B {b}"
                                 for k, a, b in result.manifest_diff)]
    raw = [[r.task, r.result.metric, f"{r.template_a}/{r.template_b}", r.result.n,
            r.result.value_a, r.result.value_b, r.result.difference, r.result.low,
            r.result.high, r.result.p_value, r.result.better_in_a, r.result.better_in_b]
           for r in result.rows]
    if fmt == "csv":
        header = [*COMPARE_HEADER[:7], "low", "high", *COMPARE_HEADER[8:]]
        return render_cells(header, [], fmt, notes, raw)
    return render_cells(COMPARE_HEADER, comparison_cells(result), fmt, notes)


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


def _model_protocol_warnings(man_a: dict[str, Any], man_b: dict[str, Any]) -> list[str]:
    """For a run of another vision-language model (models/vlm.py): how its protocol differs,
    since a difference to an InstructBLIP run (or to another such model) then also measures
    the prompt format and the image preprocessing, not the model alone."""
    infos = [m.get("model_info") if isinstance(m.get("model_info"), dict) else {}
             for m in (man_a, man_b)]
    out = []
    for label, info in zip("AB", infos, strict=True):
        differences = info.get("protocol_differences")
        if differences:
            out.append(f"run {label} is {info.get('family')}, not InstructBLIP; its protocol "
                       f"differs: {'; '.join(map(str, differences))}")
    a, b = ((i.get("protocol_differences") or None, i.get("family")) for i in infos)
    if out and a != b:
        out.append("the difference mixes the model change with a change of prompt format and "
                   "image preprocessing")
    return out


def compare_runs(path_a: Path, path_b: Path, n_resamples: int = 1000, seed: int = 0) -> Comparison:
    """Per task: A, B, B - A with a paired-bootstrap 95% interval and p-value, and flips."""
    run_a, man_a = open_run(path_a)
    run_b, man_b = open_run(path_b)
    out = Comparison(str(path_a), str(path_b))
    sa, sb = man_a["settings"], man_b["settings"]
    both, known = set(sa["tasks"]) & set(sb["tasks"]), set(sa["tasks"]) | set(sb["tasks"])
    for key in MANIFEST_KEYS:  # per-task settings compared on the tasks both runs have
        a, b = for_tasks(sa.get(key), both, known), for_tasks(sb.get(key), both, known)
        if a != b:
            out.manifest_diff.append((key, a, b))
    protocol = [k for k in PROTOCOL_KEYS
                if for_tasks(sa.get(k), both, known) != for_tasks(sb.get(k), both, known)]
    for label, manifest in (("A", man_a), ("B", man_b)):
        demo = demo_reasons(manifest)
        if demo:
            out.warnings.append(f"run {label} is a DEMO run ({' and '.join(demo)}): its numbers "
                                f"mean nothing")
    if protocol:
        out.warnings.append(
            "the runs differ in protocol settings (" + ", ".join(protocol) + "): the "
            "difference mixes the model change with a protocol change")
    out.warnings.extend(_model_protocol_warnings(man_a, man_b))
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
