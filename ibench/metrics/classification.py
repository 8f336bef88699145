"""ROC-AUC from continuous scores and 0/1 labels, ties counted 1/2 (the Mann-Whitney U statistic).

Per-sample meaning: a positive's score is the share of negatives it outranks, a negative's the
share of positives that outrank it (ties 1/2), x100. AUC is the mean of either group, hence the
mean over all samples too; but these contributions depend on the whole set, so the bootstrap
re-scores every resample as a whole (stratified by label).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ibench.metrics.base import MetricError, MetricResult, Rescorer, check_ids


def auc_contributions(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """AUC in [0, 1] and each sample's contribution in [0, 1] (see the module docstring)."""
    pos = np.sort(scores[labels == 1])
    neg = np.sort(scores[labels == 0])
    if len(pos) == 0 or len(neg) == 0:
        raise MetricError(
            f"ROC-AUC needs both classes; got {len(pos)} positive and {len(neg)} negative samples"
        )
    contrib = np.empty(len(scores), dtype=float)
    is_pos = labels == 1
    s_pos, s_neg = scores[is_pos], scores[~is_pos]
    below = np.searchsorted(neg, s_pos, side="left")
    tied = np.searchsorted(neg, s_pos, side="right") - below
    contrib[is_pos] = (below + 0.5 * tied) / len(neg)
    above = len(pos) - np.searchsorted(pos, s_neg, side="right")
    tied = np.searchsorted(pos, s_neg, side="right") - np.searchsorted(pos, s_neg, side="left")
    contrib[~is_pos] = (above + 0.5 * tied) / len(pos)
    return float(contrib[is_pos].mean()), contrib


def roc_auc(
    ids: Sequence[str], scores: Sequence[float | None], labels: Sequence[int]
) -> MetricResult:
    """ROC-AUC x100 of continuous scores (higher = more positive) against 0/1 labels.

    A failure (None or NaN score) gets the worst score for its label (-inf for a positive,
    +inf for a negative), so it ranks wrong against every valid sample of the other class.
    A set with a single class has no AUC: MetricError.
    """
    ids = check_ids(ids, scores, labels)
    y = np.asarray([int(v) for v in labels], dtype=np.int64)
    if not np.isin(y, (0, 1)).all():
        raise MetricError("ROC-AUC labels must be 0 or 1")
    failed = np.asarray([s is None or math.isnan(float(s)) for s in scores])
    s = np.asarray(
        [0.0 if f else float(v) for v, f in zip(scores, failed, strict=True)], dtype=float
    )
    s[failed] = np.where(y[failed] == 1, -np.inf, np.inf)
    auc, contrib = auc_contributions(s, y)

    def rescore(indices: np.ndarray) -> float:
        return 100.0 * auc_contributions(s[indices], y[indices])[0]

    return MetricResult(
        name="roc_auc",
        value=100.0 * auc,
        per_sample={sid: float(100.0 * c) for sid, c in zip(ids, contrib, strict=True)},
        extra={"positives": float((y == 1).sum()), "negatives": float((y == 0).sum())},
        n=len(ids),
        failures=int(failed.sum()),
        corpus_level=True,
        rescorer=Rescorer(score=rescore, strata=y.copy()),
    )
