"""`ibench paper table`: Table 1 replicated cell by cell from a paper folder's runs: for each
model row and dataset column, the paper's number, ours with its 95% interval, the difference
and a verdict (within the interval, off by more, not run, not comparable, with why), and the
averages the paper computes (a row's mean over the 13 datasets, when all 13 are there)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ibench.paper.models import ABLATION, UNPUBLISHED_NOTE, PaperError, PaperModel, published_models
from ibench.protocol.paper import held_out_order, reference_rows
from ibench.run.folder import RunDir, RunError
from ibench.run.schema import Manifest, TaskMetrics, open_run, read_metrics

VERDICTS = ("within", "off", "not run", "not comparable", "no paper number")
VERDICT_TEXT = {
    "within": "the paper's number is inside our 95% interval",
    "off": "the paper's number is outside our 95% interval",
    "not run": "no score for this cell",
    "not comparable": "scored, but not under the paper's conditions",
    "no paper number": "the paper publishes no number for this cell",
}


@dataclass(frozen=True)
class Cell:
    """One model x dataset cell."""

    model: str  # the row's run name (alias, or alias-no-qformer-instruction)
    row: str  # the paper's row name
    task: str
    paper: float | None
    ours: float | None
    low: float | None
    high: float | None
    verdict: str
    why: list[str]
    run: str  # the run folder

    @property
    def diff(self) -> float | None:
        return None if self.ours is None or self.paper is None else self.ours - self.paper

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "diff": self.diff}


@dataclass
class PaperTable:
    """The replicated table: its rows (one per run), cells in Table 1's column order."""

    folder: Path
    rows: list[tuple[PaperModel, Path, Manifest]] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> tuple[str, ...]:
        return held_out_order()

    def row_cells(self, model: str) -> list[Cell]:
        return [c for c in self.cells if c.model == model]

    def row_average(self, model: str) -> dict[str, float | None]:
        """The paper's way: a row's mean over all 13 datasets, only when all 13 are there."""
        cells = self.row_cells(model)
        ours = [c.ours for c in cells]
        paper = [c.paper for c in cells]
        mean_ours = sum(ours) / len(ours) if ours and None not in ours else None  # type: ignore[arg-type]
        mean_paper = (sum(paper) / len(paper)  # type: ignore[arg-type]
                      if paper and None not in paper else None)
        diff = None if mean_ours is None or mean_paper is None else mean_ours - mean_paper
        return {"ours": mean_ours, "paper": mean_paper, "diff": diff}

    def column_average(self, task: str) -> float | None:
        """The mean difference (ours - paper) over the rows that have both numbers."""
        diffs = [c.diff for c in self.cells if c.task == task and c.diff is not None]
        return sum(diffs) / len(diffs) if diffs else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "columns": list(self.columns),
            "rows": [{"model": m.run_name, "row": m.label, "run": str(path),
                      "average": self.row_average(m.run_name)} for m, path, _ in self.rows],
            "cells": [c.as_dict() for c in self.cells],
            "column_average_difference": {t: self.column_average(t) for t in self.columns},
            "verdicts": VERDICT_TEXT,
            "notes": self.notes,
        }


def row_model(manifest: Manifest) -> PaperModel | None:
    """The Table 1 row a run is: its --published-as alias, or the alias it was run by."""
    settings = manifest.settings
    known = {m.alias: m for m in published_models()}
    name = settings.get("published_as") or settings.get("model_alias")
    from ibench.models.families import find_alias

    alias = find_alias(str(name)) if name else None
    if alias is None:  # a hub id, as the model was given
        alias = next((a for a in known.values() if a.hub_id == name), None)
    model = known.get(alias.alias) if alias is not None else None
    if model is None:
        return None
    ablation = settings.get("qformer_instruction") is False
    return PaperModel(model.alias, model.hub_id, model.row, ablation=ablation)


def comparability(manifest: Manifest, task: str, metrics: TaskMetrics | None,
                  model: PaperModel) -> list[str]:
    """Why a scored cell is not under the paper's conditions (empty: it is)."""
    settings = manifest.settings
    why = []
    if settings.get("stand_in"):
        why.append(f"a stand-in model: {settings['stand_in']}")
    elif str(settings.get("model", "")).startswith("ibench/tiny"):
        why.append("a stand-in model: an ibench tiny random-weight checkpoint")
    if "the synthetic sample pack" in (manifest.demo or []):
        why.append("the synthetic sample pack, not the dataset")
    if settings.get("limit") is not None:
        why.append(f"a subset (--limit {settings['limit']}), not the whole split")
    if task in (settings.get("gen_kwargs") or {}):
        why.append("decoding changed (--gen-kwargs)")
    if task == "vizwiz":
        why.append("VizWiz val; the paper's number is test-dev (ibench eval --split server "
                   "writes the file the VizWiz server scores)")
    source = (settings.get("data_sources") or {}).get(task) or {}
    layout = source.get("layout")
    if layout not in (None, "official"):
        where = f", {source['repo']}" if source.get("repo") else ""
        why.append(f"data read from the {layout} layout{where}, not the publisher's files")
    if metrics is not None and metrics.headline_is_zero_shot is False:
        why.append(f"template {metrics.headline_template}, not the zero-shot prompt")
    if model.ablation:
        why.append("the Q-Former given no instruction at inference: an approximation of the "
                   "paper's retrained ablation model")
    return why


def cell_for(model: PaperModel, run: Path, manifest: Manifest, task: str,
             scores: dict[str, TaskMetrics], paper: dict[str, float | None]) -> Cell:
    """One cell: the numbers and the verdict."""
    entry = scores.get(task)
    number = None if model.ablation else paper.get(task)
    if entry is None or entry.value is None:
        reason = ("not in this run" if entry is None
                  else entry.reason or f"status {entry.status}")
        return Cell(model.run_name, model.label, task, number, None, None, None, "not run",
                    [reason], str(run))
    why = comparability(manifest, task, entry, model)
    if why:
        verdict = "not comparable"
    elif number is None:
        verdict = "no paper number"
        why = ["the paper publishes no number for this row"]
    elif entry.low is not None and entry.high is not None and entry.low <= number <= entry.high:
        verdict = "within"
    else:
        verdict = "off"
    return Cell(model.run_name, model.label, task, number, entry.value, entry.low, entry.high,
                verdict, why, str(run))


def build_table(folder: Path) -> PaperTable:
    """The table of a paper folder (`paper run --output`): every run in it that is a Table 1
    row, in the paper's row order (the ablation last)."""
    from ibench.api import find_runs

    folder = Path(folder)
    if not folder.is_dir():
        raise PaperError(f"{folder}: no paper folder there (paper run --output writes one)")
    try:
        paths, skipped = find_runs([folder])
    except RunError as exc:
        raise PaperError(f"{folder}: no runs in it yet; start with `ibench paper run "
                         f"--output {folder}`") from exc
    table = PaperTable(folder, notes=[*skipped, UNPUBLISHED_NOTE])
    published = dict(reference_rows())
    order = [m.alias for m in published_models()]
    for path in paths:
        _, manifest = open_run(path)
        model = row_model(manifest)
        if model is None:
            table.notes.append(f"skipped {path}: not a run of a published Table 1 checkpoint")
            continue
        table.rows.append((model, path, manifest))
    table.rows.sort(key=lambda r: (r[0].ablation, order.index(r[0].alias)))
    names = [m.run_name for m, _, _ in table.rows]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PaperError(f"{folder}: two runs are the row {twice[0]}; keep one per model")
    for model, path, manifest in table.rows:
        run = RunDir(path)
        scores = read_metrics(run.metrics)[1] if run.metrics.exists() else {}
        paper = published.get(model.row, {})
        table.cells += [cell_for(model, path, manifest, task, scores, paper)
                        for task in table.columns]
    if any(m.ablation for m, _, _ in table.rows):
        table.notes.append(f"the {ABLATION} row (Table 2's ablation) has no per-dataset paper "
                           "numbers in ibench's reference tables")
    return table
