"""Ranking metrics: top-1 accuracy over candidates, and Visual Dialog MRR, R@k and mean rank.

Visual Dialog ties: the rank of the ground-truth option is the number of options whose score is
at least its own (itself included), so options tied with the ground truth all rank ahead of it.
Ties therefore count against the model, and the rank does not depend on the option order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ibench.metrics.base import MetricError, MetricResult, check_ids, mean_result
from ibench.metrics.vqa import normalize_answer

VISDIAL_OPTIONS = 100
RECALL_AT = (1, 5, 10)


def accuracy(
    ids: Sequence[str],
    predicted: Sequence[int | str | None],
    targets: Sequence[int | str],
) -> MetricResult:
    """Top-1 accuracy x100: chosen index == target index, or normalised text == target text.

    An int target is compared with an int choice (a candidate index, or 1/0 for a binary task);
    a str target with the chosen candidate's text after the VQA normalisation, so an answer
    outside a ranked vocabulary is always wrong. A None prediction is a failure scoring 0.
    """
    ids = check_ids(ids, predicted, targets)
    scores = []
    for sid, pred, target in zip(ids, predicted, targets, strict=True):
        if pred is None:
            scores.append(0.0)
        elif isinstance(target, str):
            if not isinstance(pred, str):
                raise MetricError(f"sample {sid!r}: text target but a non-text prediction {pred!r}")
            scores.append(100.0 * (normalize_answer(pred) == normalize_answer(target)))
        else:
            if isinstance(pred, str) or int(pred) != pred:
                raise MetricError(f"sample {sid!r}: index target but prediction {pred!r}")
            scores.append(100.0 * (int(pred) == int(target)))
    return mean_result("accuracy", ids, scores, sum(p is None for p in predicted))


def gt_rank(scores: Sequence[float], gt_index: int) -> int:
    """Rank (1 = best) of option `gt_index`: how many options score at least as high as it.

    NaN option scores never rank ahead; a NaN ground-truth score ranks last (len(scores)).
    """
    s = np.asarray(scores, dtype=float)
    if not 0 <= gt_index < len(s):
        raise MetricError(f"ground-truth index {gt_index} outside the {len(s)} option scores")
    if math.isnan(s[gt_index]):
        return len(s)
    return int(np.sum(s >= s[gt_index]))


def visdial(
    ids: Sequence[str],
    scores: Sequence[Sequence[float] | None],
    gt_indices: Sequence[int],
    num_options: int = VISDIAL_OPTIONS,
) -> MetricResult:
    """Visual Dialog MRR x100 (per sample 100 / rank), with R@1/5/10 x100 and mean rank in extra.

    A failure (None scores, or a NaN score for the ground truth) gets the worst rank,
    `num_options` (100): it counts in MRR as 1/100, never in R@k, and as 100 in the mean rank.
    """
    ids = check_ids(ids, scores, gt_indices)
    ranks = []
    failures = 0
    for sid, option_scores, gt in zip(ids, scores, gt_indices, strict=True):
        if option_scores is None:
            failures += 1
            ranks.append(num_options)
            continue
        if len(option_scores) != num_options:
            raise MetricError(
                f"sample {sid!r}: {len(option_scores)} option scores, expected {num_options}"
            )
        try:
            rank = gt_rank(option_scores, int(gt))
        except MetricError as err:
            raise MetricError(f"sample {sid!r}: {err}") from err
        if math.isnan(float(option_scores[int(gt)])):
            failures += 1
        ranks.append(rank)
    r = np.asarray(ranks, dtype=float)
    extra = {f"r@{k}": float(100.0 * np.mean(r <= k)) for k in RECALL_AT}
    extra["mean_rank"] = float(r.mean())
    return mean_result("mrr", ids, list(100.0 / r), failures, extra)
