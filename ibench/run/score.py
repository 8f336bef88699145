"""Scoring a run from its stored predictions and references (no data root, no model needed)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from ibench.metrics import METRICS, MetricError, MetricResult, bootstrap_ci, score
from ibench.run.folder import RunDir, load_references, write_json
from ibench.run.predictions import load_predictions

N_RESAMPLES = 1000
# The reference fields that metrics read (ibench.metrics.registry's conventions).
REFERENCE_FIELDS = ("captions", "answers", "answer", "answer_index", "label", "cluster", "image")


def lines_by_template(run: RunDir, task_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{template: {sample id: prediction line}} of a task, each line as the metrics read it
    (a JSON object)."""
    by_template: dict[str, dict[str, dict[str, Any]]] = {}
    for (sid, tid), line in load_predictions(run, task_id, light=True).items():
        by_template.setdefault(tid, {})[sid] = line.to_json()
    return by_template


def clusters_of(references: dict[str, dict[str, Any]], ids: list[str]) -> list[str] | None:
    """The cluster label of each sample (a reader sets `cluster` on correlated samples, e.g.
    the rounds of one Visual Dialog dialog), or None when the task has none."""
    labels = [references[sid].get("cluster") for sid in ids]
    return None if any(label is None for label in labels) else [str(x) for x in labels]


def template_results(run: RunDir, task_id: str, metric: str,
                     options: dict[str, Any] | None = None
                     ) -> dict[str, MetricResult | MetricError]:
    """One MetricResult per template the run has predictions for (in template id order), or
    the MetricError that says why that template cannot be scored. `options` go to the metric
    (the VQA evaluator variant)."""
    samples = list(load_references(run, task_id, REFERENCE_FIELDS).items())
    by_template = lines_by_template(run, task_id)
    out: dict[str, MetricResult | MetricError] = {}
    for template in sorted(by_template):
        try:
            out[template] = score(metric, samples, by_template[template], **(options or {}))
        except MetricError as exc:  # e.g. AUC over a subset with a single class
            out[template] = exc
    return out


def failure_counts(run: RunDir, task_id: str) -> dict[str, dict[str, int]]:
    """Per template: how many of the evaluated samples' requests failed, by failure kind, and
    the bad records of the data (`bad_record`: records that could not become samples, left
    out of the metric)."""
    evaluated = set(load_references(run, task_id, ()))
    counts: dict[str, Counter[str]] = {}
    for (sid, tid), line in load_predictions(run, task_id, light=True).items():
        status = line.status
        if status != "ok" and (sid in evaluated or status == "bad_record"):
            counts.setdefault(tid, Counter())[status] += 1
    return {tid: dict(sorted(c.items())) for tid, c in counts.items()}


def coverage(run: RunDir, task_id: str) -> float | None:
    """Share of the evaluated samples whose answer is among the candidates (vocabulary tasks)."""
    flags = [
        refs["in_candidates"]
        for refs in load_references(run, task_id, ("in_candidates",)).values()
        if "in_candidates" in refs
    ]
    return sum(flags) / len(flags) if flags else None


def summarise_task(run: RunDir, task_id: str, metric: str, headline: str | None,
                   n_resamples: int = N_RESAMPLES, seed: int = 0,
                   options: dict[str, Any] | None = None) -> dict[str, Any]:
    """metrics.json entry of one task: headline value with its interval, per template stats.

    The headline is the zero-shot template when the run has it, else the first template, and
    `headline_is_zero_shot` says which. A `submission` task (a split only a server scores)
    gets its submission file instead of a value.
    """
    options = dict(options or {})
    if METRICS[metric].scorer is None:  # a split only its server scores
        return write_submission(run, task_id, headline, options)
    metric_options = {k: v for k, v in options.items() if k != "server"}
    results = template_results(run, task_id, metric, metric_options)
    if not results:
        return {"metric": metric, "status": "no predictions"}
    failures = failure_counts(run, task_id)
    references = load_references(run, task_id, ("cluster",))
    per_template: dict[str, dict[str, Any]] = {}
    for template, result in results.items():
        if isinstance(result, MetricError):
            per_template[template] = {"status": "not scored", "reason": str(result),
                                      "failures": failures.get(template, {})}
            continue
        clusters = clusters_of(references, list(result.per_sample))
        interval = bootstrap_ci(result, n_resamples=n_resamples, seed=seed, clusters=clusters)
        per_template[template] = {
            "value": result.value,
            "ci95": [interval.low, interval.high],
            "n": result.n,
            "failures": failures.get(template, {}),
            "failed_samples": result.failures,
            "interval_resamples": "clusters" if clusters else "samples",
            "extra": result.extra,
        }
        write_json(run.path / "scores" / f"{task_id}.{template}.json", result.to_dict())
    chosen = headline if headline in per_template else next(iter(per_template))
    entry: dict[str, Any] = {
        "metric": metric,
        "metric_title": METRICS[metric].title,
        **({"metric_options": metric_options} if metric_options else {}),
        **METRICS[metric].described_options(metric_options),
        "headline_template": chosen,
        "headline_is_zero_shot": chosen == headline,
        **per_template[chosen],
        "templates": per_template,
    }
    values = [t["value"] for t in per_template.values() if "value" in t]
    if len(values) > 1:
        entry["across_templates"] = {
            "count": len(values),
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values),
            "min": min(values),
            "max": max(values),
        }
    share = coverage(run, task_id)
    if share is not None:
        entry["candidate_coverage"] = share
    return entry


def write_submission(run: RunDir, task_id: str, template: str | None,
                     options: dict[str, Any]) -> dict[str, Any]:
    """The file a server scores (VizWiz: a JSON list of {"image", "answer"}, one per question,
    in reference order) from the headline template's predictions; failed requests are written
    with an empty answer and counted."""
    references = load_references(run, task_id, ("image",))
    predictions = load_predictions(run, task_id, light=True)
    templates = sorted({tid for _, tid in predictions})
    if not templates:
        return {"metric": "submission", "status": "no predictions"}
    chosen = template if template in templates else templates[0]
    rows, failures = [], Counter()
    for sid, refs in references.items():
        if "image" not in refs:
            raise MetricError(f"{task_id}: sample {sid!r} has no image name for the submission")
        line = predictions.get((sid, chosen))
        if line is None or not line.ok:
            failures[line.status if line else "missing"] += 1
            answer = ""
        else:
            answer = str(line.prediction if line.prediction is not None else "")
        rows.append({"image": refs["image"], "answer": answer})
    path = run.path / "submissions" / f"{task_id}.json"
    write_json(path, rows)
    return {
        "metric": "submission",
        "status": "submission",
        "format": options.get("format"),
        "server": options.get("server"),
        "file": str(path.relative_to(run.path)),
        "n": len(rows),
        "headline_template": chosen,
        "headline_is_zero_shot": chosen == template,
        "failures": dict(sorted(failures.items())),
        "note": "scored only by the server: upload the file; failed requests are written with "
                "an empty answer",
    }


def score_run(run: RunDir, tasks: dict[str, tuple[str, str | None, dict[str, Any]]],
              n_resamples: int = N_RESAMPLES, seed: int = 0,
              skipped: dict[str, tuple[str, str]] | None = None,
              order: list[str] | None = None) -> dict[str, Any]:
    """Score every task of a run ({task: (metric, headline template, metric options)}) and
    write metrics.json; a task skipped whole ({task: (metric, why)}) gets an entry saying so,
    so that no asked task vanishes from the results. Entries follow `order` (the tasks as
    asked), else scored then skipped."""
    skipped = skipped or {}
    entries: dict[str, Any] = {}
    for task_id in order or [*tasks, *skipped]:
        if task_id in skipped:
            metric, reason = skipped[task_id]
            entries[task_id] = {"metric": metric, "status": "skipped", "reason": reason}
        elif task_id in tasks and run.references(task_id).exists():
            metric, headline, options = tasks[task_id]
            entries[task_id] = summarise_task(run, task_id, metric, headline, n_resamples, seed,
                                              options)
    metrics = {"bootstrap": {"resamples": n_resamples, "seed": seed, "confidence": 0.95},
               "tasks": entries}
    write_json(run.metrics, metrics)
    return metrics
