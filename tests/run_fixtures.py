"""Hand-made run folders (manifest, references, predictions) for report and compare tests."""

from __future__ import annotations

from pathlib import Path

from ibench.run.folder import RunDir, append_lines, write_json
from ibench.run.score import score_run


def make_run(root: Path, name: str, correct: list[int], labels: list[int],
             model: str = "tiny-vicuna", template: str = "true_false-01",
             settings: dict | None = None) -> Path:
    """A run of one binary task ("vsr") whose sample i is right when correct[i] is 1."""
    run = RunDir(root / name)
    base = {"model": model, "model_alias": model, "tasks": ["vsr"], "templates": "eval",
            "limit": None, "seed": 0, "frames": {}, "data_root": "/data",
            "task_hashes": {"vsr": "x"}, "template_hashes": {"vsr": "y"}, "dtype": "fp32"}
    write_json(run.manifest, {"settings": {**base, **(settings or {})}, "sessions": []})
    append_lines(run.references("vsr"), (
        {"sample_id": f"s{i}", "references": {"label": label}} for i, label in enumerate(labels)))
    append_lines(run.predictions("vsr"), (
        {"task": "vsr", "sample_id": f"s{i}", "template_id": template, "status": "ok",
         "choice": label if ok else 1 - label,
         "score": 1.0 if (label if ok else 1 - label) else -1.0}
        for i, (label, ok) in enumerate(zip(labels, correct, strict=True))))
    score_run(run, {"vsr": ("accuracy", template, {})}, n_resamples=200)
    return run.path
