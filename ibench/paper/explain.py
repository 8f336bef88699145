"""`ibench paper explain MODEL TASK`: one cell's provenance: its numbers and verdict, the
template, the decoding arguments with their LAVIS sources (or the ranking), the metric and its
variant, the data files and revision, the checkpoint, the run folder."""

from __future__ import annotations

from typing import Any

from ibench.paper.models import PaperError
from ibench.paper.table import PaperTable
from ibench.run.folder import RunDir, read_json


def explain(table: PaperTable, model: str, task: str) -> dict[str, Any]:
    """The provenance record of one cell (model: a run name or alias; task: a column)."""
    from ibench.protocol.describe import decoding_rows
    from ibench.protocol.suite import load_tasks
    from ibench.protocol.templates import load_families

    rows = {m.run_name: (m, path, manifest) for m, path, manifest in table.rows}
    if model not in rows:
        raise PaperError(f"no run of {model!r} in {table.folder}; its rows: "
                         f"{', '.join(rows) or 'none'}")
    if task not in table.columns:
        raise PaperError(f"{task!r} is not a column of Table 1: {', '.join(table.columns)}")
    paper_model, path, manifest = rows[model]
    cell = next(c for c in table.cells if c.model == model and c.task == task)
    run = RunDir(path)
    metrics = read_json(run.metrics) if run.metrics.exists() else {}
    entry = (metrics.get("tasks") or {}).get(task) or {}
    spec = load_tasks()[task]
    template_id = entry.get("headline_template")
    template = None
    family = load_families().get(spec.templates)
    if family is not None and template_id:
        template = next((t.text for t in family.templates if t.id == template_id), None)
    settings = manifest.settings
    info = manifest.model_info
    architecture = info.get("architecture")
    if spec.generation:
        decoding: Any = [{"argument": r[0], "lavis": r[1], "encoder_decoder": r[2],
                          "decoder_only": r[3], "source": r[4]} for r in decoding_rows(spec)]
        effective = (settings.get("decoding") or {}).get(task, {}).get("effective")
    else:
        decoding = (settings.get("ranking") or {}).get(task)
        effective = None
    return {
        "model": paper_model.label,
        "task": task,
        "cell": cell.as_dict(),
        "template": {"id": template_id, "text": template,
                     "zero_shot": entry.get("headline_is_zero_shot")},
        "decoding": decoding,
        "decoding_effective": effective,
        "architecture": architecture,
        "metric": {"name": entry.get("metric"), "variant": entry.get("metric_variant"),
                   "options": entry.get("metric_options"), "n": entry.get("n"),
                   "failures": entry.get("failures")},
        "data": {"root": settings.get("data_root"),
                 "source": (settings.get("data_sources") or {}).get(task),
                 "fingerprint": (settings.get("data_fingerprints") or {}).get(task),
                 "hub_revision": settings.get("hub_revision"),
                 "limit": settings.get("limit"), "seed": settings.get("seed")},
        "checkpoint": {"model": settings.get("model"),
                       "revision": settings.get("model_revision"),
                       "published_as": settings.get("published_as"),
                       "stand_in": settings.get("stand_in"), "dtype": settings.get("dtype"),
                       "lm_tokenizer": (info.get("lm_tokenizer") or {}).get("reproduces")},
        "run": {"folder": str(path), "predictions": str(run.predictions(task)),
                "references": str(run.references(task)), "metrics": str(run.metrics),
                "manifest": str(run.manifest), "status": manifest.status,
                "ibench_version": manifest.ibench_version},
    }


def explain_lines(record: dict[str, Any]) -> list[str]:
    """The provenance for the terminal."""
    cell = record["cell"]

    def num(v: Any) -> str:
        return "-" if v is None else f"{v:.2f}"

    out = [f"{record['model']} / {record['task']}",
           f"  paper {num(cell['paper'])}, ours {num(cell['ours'])} "
           f"[{num(cell['low'])}, {num(cell['high'])}], diff {num(cell['diff'])}: "
           f"{cell['verdict']}"]
    out += [f"    {why}" for why in cell["why"]]
    template = record["template"]
    out.append(f"  template {template['id']}" + (" (zero-shot prompt)" if template["zero_shot"]
                                                  else "") + f": {template['text']!r}")
    if isinstance(record["decoding"], list):
        out.append(f"  decoding (LAVIS's arguments; this run's architecture: "
                   f"{record['architecture']}):")
        for row in record["decoding"]:
            out.append(f"    {row['argument']} = {row['lavis']} -> encoder-decoder "
                       f"{row['encoder_decoder']}, decoder-only {row['decoder_only']} "
                       f"({row['source']})")
        if record["decoding_effective"]:
            out.append(f"    effective here: {record['decoding_effective']}")
    else:
        out.append(f"  ranking: {record['decoding']}")
    metric = record["metric"]
    out.append(f"  metric {metric['name']}" + (f", variant {metric['variant']}"
                                               if metric["variant"] else "")
               + (f", options {metric['options']}" if metric["options"] else "")
               + f"; n {metric['n']}, failures {metric['failures'] or 'none'}")
    data = record["data"]
    out.append(f"  data: {data['root']}, {data['source']}")
    out.append(f"    fingerprint {data['fingerprint']}; hub revision "
               f"{data['hub_revision'] or 'as pinned'}; limit {data['limit']}, seed "
               f"{data['seed']}")
    ckpt = record["checkpoint"]
    out.append(f"  checkpoint: {ckpt['model']} (revision {ckpt['revision']}, published as "
               f"{ckpt['published_as']}, {ckpt['dtype']})"
               + (f"; stand-in: {ckpt['stand_in']}" if ckpt["stand_in"] else ""))
    out.append(f"    tokenizer: {ckpt['lm_tokenizer']}")
    run = record["run"]
    out.append(f"  run: {run['folder']} ({run['status']}, ibench {run['ibench_version']})")
    out.append(f"    predictions {run['predictions']}")
    return out
