"""`ibench compare`: per task, run B - run A with a paired-bootstrap interval and p-value, samples
that flip, and what differs in the runs' settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibench.metrics import METRICS, MetricError, PairedComparison, paired_bootstrap, score
from ibench.protocol.suite import in_table_order
from ibench.report.differences import protocol_differences, setting_differences
from ibench.run.folder import load_references
from ibench.run.predictions import lost_lines
from ibench.run.schema import Manifest, open_run, read_metrics
from ibench.run.score import REFERENCE_FIELDS, clusters_of, lines_by_template

if TYPE_CHECKING:
    import pandas as pd


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

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame: task, templates, n, A, B, B - A with its 95% interval
        (ci_low, ci_high), p-value, and the samples better in each run."""
        import pandas as pd

        columns = ["task", "metric", "template_a", "template_b", "n", "value_a", "value_b",
                   "difference", "ci_low", "ci_high", "p_value", "better_in_a", "better_in_b"]
        return pd.DataFrame([
            [r.task, r.result.metric, r.template_a, r.template_b, r.result.n, r.result.value_a,
             r.result.value_b, r.result.difference, r.result.low, r.result.high,
             r.result.p_value, r.result.better_in_a, r.result.better_in_b]
            for r in self.rows], columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"run_a": self.run_a, "run_b": self.run_b,
                "rows": [r.to_dict() for r in self.rows], "warnings": self.warnings,
                "manifest_diff": [{"setting": k, "a": a, "b": b}
                                  for k, a, b in self.manifest_diff]}


def _template_pairs(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    """Which templates to pair: the single ones with each other, else the shared ids."""
    if len(a) == 1 and len(b) == 1:
        return [(a[0], b[0])]
    return [(t, t) for t in a if t in b]


def _model_protocol_warnings(man_a: Manifest, man_b: Manifest) -> list[str]:
    """For a run of another vision-language model (models/vlm.py): how its protocol differs,
    since a difference to an InstructBLIP run (or to another such model) then also measures
    the prompt format and the image preprocessing, not the model alone."""
    infos = [m.model_info for m in (man_a, man_b)]
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
    sa, sb = man_a.settings, man_b.settings
    out.manifest_diff = setting_differences(sa, sb)  # on the tasks both runs have
    protocol = protocol_differences(sa, sb)
    for label, manifest in (("A", man_a), ("B", man_b)):
        demo = manifest.demo_reasons()
        if demo:
            out.warnings.append(f"run {label} is a DEMO run ({' and '.join(demo)}): its numbers "
                                f"mean nothing")
    if protocol:
        out.warnings.append(
            "the runs differ in protocol settings (" + ", ".join(protocol) + "): a run departs "
            "from its architecture's protocol, so the difference mixes the model change with a "
            "protocol change")
    out.warnings.extend(_model_protocol_warnings(man_a, man_b))
    for label, run, manifest in (("A", run_a, man_a), ("B", run_b, man_b)):
        out.warnings += [f"run {label} is damaged: {lost} (run its eval command again to "
                         f"repair it)" for _, lost in lost_lines(run, manifest.tasks)]
    met_a = read_metrics(run_a.metrics)[1] if run_a.metrics.exists() else {}
    met_b = read_metrics(run_b.metrics)[1] if run_b.metrics.exists() else {}
    shared_tasks = in_table_order([t for t in sa["tasks"] if t in sb["tasks"]])
    for only, name in ((set(sa["tasks"]) - set(sb["tasks"]), "A"),
                       (set(sb["tasks"]) - set(sa["tasks"]), "B")):
        if only:
            listed = ", ".join(sorted(only))
            out.warnings.append(f"tasks only in run {name}, not compared: {listed}")
    for task in shared_tasks:
        if task not in met_a or task not in met_b or met_a[task].metric is None:
            out.warnings.append(f"{task}: not scored in both runs, not compared")
            continue
        metric = str(met_a[task].metric)
        if METRICS.get(metric) is None or METRICS[metric].scorer is None:
            out.warnings.append(f"{task}: scored only by its server, not compared")
            continue
        options = met_a[task].entry.get("metric_options", {})
        if options != met_b[task].entry.get("metric_options", {}):
            out.warnings.append(
                f"{task}: the runs were scored with different metric options (A {options}, B "
                f"{met_b[task].entry.get('metric_options', {})}); both are rescored with A's")
        refs_a = load_references(run_a, task, REFERENCE_FIELDS)
        refs_b = load_references(run_b, task, REFERENCE_FIELDS)
        shared = [sid for sid in refs_a if sid in refs_b]
        if len(shared) != len(refs_a) or len(shared) != len(refs_b):
            out.warnings.append(
                f"{task}: run A scored {len(refs_a)} samples, run B {len(refs_b)}; compared on "
                f"the {len(shared)} both scored")
        if not shared:
            continue
        pred_a = lines_by_template(run_a, task)
        pred_b = lines_by_template(run_b, task)
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
