"""The metric registry and `score()`, which reads references and prediction records.

References per metric: cider `{"captions": [str, ...]}`; vqa_accuracy `{"answers": [str x10]}`;
exact_match `{"answer": str}`; aokvqa_da_accuracy `{"answers": [str x10]}`; accuracy
`{"answer_index": int}` (choices; `answer` may come along), `{"label": 0|1}` (binary) or
`{"answer": str}` (vocabulary ranking); ivqa_accuracy `{"answers": [str x5]}`; mrr
`{"answer_index": int}`; roc_auc `{"label": 0|1}`.
Prediction record keys read: `prediction` (text), `choice` (int), `scores` (list[float]),
`score` (float), `status` ("ok" or a failure kind; a record without one counts as ok).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ibench.metrics.base import MetricError, MetricResult
from ibench.metrics.caption import cider
from ibench.metrics.classification import roc_auc
from ibench.metrics.ranking import VISDIAL_OPTIONS, accuracy, visdial
from ibench.metrics.vqa import (
    VQA_VARIANTS,
    aokvqa_da_accuracy,
    exact_match,
    ivqa_accuracy,
    vqa_accuracy,
)

# The file formats of servers that score a split whose answers are not public.
SUBMISSION_FORMATS = {"vizwiz": "VizWiz-VQA: a JSON list of {\"image\", \"answer\"}"}
_FAIL_ZERO = "A sample without a usable prediction (missing, or status not ok) scores 0."


@dataclass(frozen=True)
class MetricOption:
    """An option a task file may give its metric (`metric_options`): its kind ("choice",
    "positive_int" or "text"), the choices (each with what it means, recorded in metrics.json
    when `described`), and whether every task of the metric must give it."""

    kind: str
    required: bool = False
    choices: Mapping[str, str] | None = None
    described: bool = False
    help: str = ""

    def problem(self, value: Any) -> str:
        """Why a value is refused ("" when it is accepted)."""
        if self.kind == "choice" and value not in (self.choices or {}):
            return f"must be one of {', '.join(self.choices or {})}, got {value!r}"
        if self.kind == "positive_int" and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1):
            return f"must be a positive integer, got {value!r}"
        if self.kind == "text" and (not isinstance(value, str) or not value.strip()):
            return f"must be a non-empty string, got {value!r}"
        return ""


@dataclass(frozen=True)
class MetricInfo:
    """One metric: what it is in words a user reads (`ibench tasks show`), the function that
    scores it (None: a server scores it), the options a task file may give it, the fields of a
    prediction line it reads, and what its official implementation needs (`java`)."""

    name: str
    title: str
    definition: str
    scale: str
    per_sample: str
    on_failure: str
    higher_is_better: bool = True
    scorer: Callable[..., MetricResult] | None = None
    options: Mapping[str, MetricOption] = field(default_factory=dict)
    reads: tuple[str, ...] = ("prediction", "status")
    needs: tuple[str, ...] = ()

    def option_problems(self, options: Mapping[str, Any]) -> dict[str, str]:
        """{option: why it is refused} for a task's `metric_options` (unknown, missing or
        invalid); empty when they are all accepted."""
        out = {key: f"is not an option of {self.name}" for key in options
               if key not in self.options}
        for key, spec in self.options.items():
            if key not in options:
                if spec.required:
                    out[key] = f"is required ({spec.help})" if spec.help else "is required"
            elif spec.problem(options[key]):
                out[key] = spec.problem(options[key])
        return out

    def described_options(self, options: Mapping[str, Any]) -> dict[str, str]:
        """{metric_<option>: what the chosen value means} for the described options given."""
        return {f"metric_{key}": str((spec.choices or {})[options[key]])
                for key, spec in self.options.items() if spec.described and key in options}




def _record(predictions: Mapping[str, Mapping[str, Any]], sid: str) -> Mapping[str, Any] | None:
    """The usable prediction record of a sample, or None when it failed or is missing."""
    rec = predictions.get(sid)
    if rec is None or rec.get("status", "ok") != "ok":
        return None
    return rec


def _field(rec: Mapping[str, Any], key: str, sid: str, what: str) -> Any:
    """A required key of a reference or prediction record, or a MetricError naming it."""
    if key not in rec or rec[key] is None:
        raise MetricError(f"sample {sid!r}: {what} has no {key!r}")
    return rec[key]


def _text(rec: Mapping[str, Any] | None, sid: str) -> str | None:
    """The `prediction` text of a usable record (None for a failure)."""
    if rec is None:
        return None
    text = _field(rec, "prediction", sid, "the prediction")
    if not isinstance(text, str):
        raise MetricError(f"sample {sid!r}: prediction must be text, got {type(text).__name__}")
    return text


def _texts(
    samples: Sequence[tuple[str, Mapping[str, Any]]],
    predictions: Mapping[str, Mapping[str, Any]],
    ref_key: str,
) -> tuple[list[str], list[str | None], list[Any]]:
    """Ids, prediction texts and one reference field, for the text-matching metrics."""
    ids = [sid for sid, _ in samples]
    preds = [_text(_record(predictions, sid), sid) for sid in ids]
    refs = [_field(ref, ref_key, sid, "the reference") for sid, ref in samples]
    return ids, preds, refs


def _score_accuracy(samples, predictions) -> MetricResult:
    """Accuracy: choice vs answer_index, else choice vs label, else text vs answer."""
    ids, predicted, targets = [], [], []
    for sid, ref in samples:
        rec = _record(predictions, sid)
        if "answer_index" in ref:
            key, target = "choice", int(ref["answer_index"])
        elif "label" in ref:
            key, target = "choice", int(ref["label"])
        else:
            key, target = "prediction", str(_field(ref, "answer", sid, "the reference"))
        ids.append(sid)
        predicted.append(None if rec is None else _field(rec, key, sid, "the prediction"))
        targets.append(target)
    return accuracy(ids, predicted, targets)


def _score_mrr(samples, predictions, num_options: int = VISDIAL_OPTIONS) -> MetricResult:
    """MRR: the `scores` of the 100 options against `answer_index`."""
    ids, scores, gts = [], [], []
    for sid, ref in samples:
        rec = _record(predictions, sid)
        ids.append(sid)
        scores.append(None if rec is None else list(_field(rec, "scores", sid, "the prediction")))
        gts.append(int(_field(ref, "answer_index", sid, "the reference")))
    return visdial(ids, scores, gts, num_options=num_options)


def _score_auc(samples, predictions) -> MetricResult:
    """ROC-AUC: the continuous `score` against `label`."""
    ids, scores, labels = [], [], []
    for sid, ref in samples:
        rec = _record(predictions, sid)
        ids.append(sid)
        scores.append(None if rec is None else float(_field(rec, "score", sid, "the prediction")))
        labels.append(int(_field(ref, "label", sid, "the reference")))
    return roc_auc(ids, scores, labels)





METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo(
            "cider",
            "CIDEr",
            "CIDEr-D as in pycocoevalcap: candidate and reference captions are PTB-tokenised, "
            "then each caption's TF-IDF weighted 1-4-gram similarity to its references (with a "
            "length penalty) is averaged over images; the IDF comes from the evaluated set's "
            "references. Reported x100.",
            "x100 (0-1000; good captioners score about 80-140)",
            "the image's own CIDEr-D x100 (depends on the whole set through the IDF)",
            "A failed image is scored as an empty caption (0); its references stay in the IDF.",
            scorer=lambda s, p: cider(*_texts(s, p, "captions")),
            needs=("java",),
        ),
        MetricInfo(
            "vqa_accuracy",
            "VQA accuracy",
            "The prediction and the human answers are normalised as the task's own evaluator "
            "does (its variant: lavis_vqav2 for VQAv2/OK-VQA, textvqa, vizwiz, or "
            "normalise_both); a question scores the mean over the leave-one-out subsets of 9 of "
            "its 10 answers of min(1, matching answers / 3). Mean over questions x100.",
            "x100 (0-100)",
            "the question's VQA accuracy x100 (0, 30, 60, 90 or 100 with 10 answers)",
            _FAIL_ZERO,
            scorer=lambda s, p, **kw: vqa_accuracy(*_texts(s, p, "answers"), **kw),
            options={"variant": MetricOption(
                "choice", required=True, choices=VQA_VARIANTS, described=True,
                help="a VQA-accuracy task names its dataset's evaluator")},
        ),
        MetricInfo(
            "aokvqa_da_accuracy",
            "A-OKVQA direct-answer accuracy",
            "min(1, n/3) with n the number of the 10 direct answers equal to the generated "
            "answer as a string (no normalisation, no leave-one-out), as LAVIS's AOKVQATask "
            "and the A-OKVQA evaluation compute it. Mean over questions x100.",
            "x100 (0-100)",
            "the question's score x100 (0, 33.3, 66.7 or 100)",
            _FAIL_ZERO,
            scorer=lambda s, p: aokvqa_da_accuracy(*_texts(s, p, "answers")),
        ),
        MetricInfo(
            "submission",
            "Server submission",
            "Not scored here: the split's answers are not public, so the answers are written "
            "as the file the dataset's evaluation server takes (metrics.json names it).",
            "set by the server",
            "none (the server scores the whole file)",
            "A failed request is written with an empty answer and counted in metrics.json.",
            options={
                "format": MetricOption("choice", required=True, choices=SUBMISSION_FORMATS,
                                       help="the file format its server takes"),
                "server": MetricOption("text", required=True, help="where to upload it")},
        ),
        MetricInfo(
            "exact_match",
            "Exact-match accuracy",
            "Share of questions whose prediction equals the answer after the official VQA "
            "normalisation of both, x100.",
            "x100 (0-100)",
            "100 if the normalised prediction equals the answer, else 0",
            _FAIL_ZERO,
            scorer=lambda s, p: exact_match(*_texts(s, p, "answer")),
        ),
        MetricInfo(
            "accuracy",
            "Accuracy",
            "Share of samples whose chosen candidate is the ground truth: by index for choice "
            "questions, the chosen class against the label for binary tasks, or by normalised "
            "text for vocabulary ranking (an answer outside the vocabulary counts as wrong). "
            "Reported x100.",
            "x100 (0-100)",
            "100 if the chosen candidate is right, else 0",
            _FAIL_ZERO,
            scorer=_score_accuracy,
            reads=("prediction", "choice", "status"),
        ),
        MetricInfo(
            "ivqa_accuracy",
            "iVQA accuracy",
            "With n the number of the 5 annotator answers equal to the prediction (both "
            "normalised as in VQA), a question scores min(1, n/2). Mean over questions x100.",
            "x100 (0-100)",
            "the question's score x100 (0, 50 or 100)",
            _FAIL_ZERO,
            scorer=lambda s, p: ivqa_accuracy(*_texts(s, p, "answers")),
        ),
        MetricInfo(
            "mrr",
            "MRR",
            "Mean reciprocal rank of the ground-truth answer among the 100 options ranked by "
            "the model's score (rank 1 = best; options tied with it rank ahead of it), x100. "
            "R@1, R@5, R@10 (x100) and the mean rank are reported alongside.",
            "x100 (1-100)",
            "100 / rank of the ground-truth option",
            "A failed question (no scores, or a NaN score for the ground truth) gets the worst "
            "rank, 100.",
            scorer=_score_mrr,
            options={"num_options": MetricOption(
                "positive_int", help=f"options per question (default {VISDIAL_OPTIONS})")},
            reads=("scores", "status"),
        ),
        MetricInfo(
            "roc_auc",
            "ROC-AUC",
            "Area under the ROC curve of the continuous score (positive minus negative class "
            "score) against the 0/1 labels: the chance that a random positive outscores a "
            "random negative, ties counting 1/2. Reported x100.",
            "x100 (0-100; 50 = chance)",
            "a positive's share of negatives it outscores (a negative's share of positives "
            "outscoring it), ties 1/2, x100; their mean is the AUC",
            "A failed sample (no score, or NaN) gets the worst score for its label, so it ranks "
            "wrong against every sample of the other class.",
            scorer=_score_auc,
            reads=("score", "status"),
        ),
    )
}


def score(
    metric: str,
    samples: Sequence[tuple[str, Mapping[str, Any]]],
    predictions: Mapping[str, Mapping[str, Any]],
    **options: Any,
) -> MetricResult:
    """Score one task: `samples` are (sample id, references), `predictions` id -> record.

    Every sample counts in `n`; one with no record, or a status other than "ok", is a failure
    (see `METRICS[metric].on_failure`). Records for ids not in `samples` are ignored. Options go
    to the metric (vqa_accuracy: `variant`; mrr: `num_options`).
    """
    if metric not in METRICS:
        raise MetricError(f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")
    info = METRICS[metric]
    if info.scorer is None:
        raise MetricError(f"a {metric} task is scored by its server, not here")
    unknown = set(options) - set(info.options)
    if unknown:
        raise MetricError(f"{metric} takes no option {', '.join(sorted(unknown))}")
    return info.scorer(list(samples), predictions, **options)
