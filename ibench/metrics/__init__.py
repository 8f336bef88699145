"""Metrics: pure functions returning the aggregate and per-sample scores, plus bootstrap intervals.

Use `score(metric, samples, predictions)` to score a task, `bootstrap_ci(result)` for an
interval, `paired_bootstrap(result_a, result_b)` to compare two runs, and `METRICS` to describe
a metric to users.
"""

from ibench.metrics.base import MetricError, MetricResult, Rescorer
from ibench.metrics.bootstrap import Interval, PairedComparison, bootstrap_ci, paired_bootstrap
from ibench.metrics.caption import CiderCorpus, cider, cider_tokenized, ptb_tokenize
from ibench.metrics.classification import roc_auc
from ibench.metrics.ranking import accuracy, gt_rank, visdial
from ibench.metrics.registry import METRICS, MetricInfo, score
from ibench.metrics.vqa import (
    exact_match,
    ivqa_accuracy,
    ivqa_score,
    normalize_answer,
    vqa_accuracy,
    vqa_score,
)

__all__ = [
    "METRICS",
    "CiderCorpus",
    "Interval",
    "MetricError",
    "MetricInfo",
    "MetricResult",
    "PairedComparison",
    "Rescorer",
    "accuracy",
    "bootstrap_ci",
    "cider",
    "cider_tokenized",
    "exact_match",
    "gt_rank",
    "ivqa_accuracy",
    "ivqa_score",
    "normalize_answer",
    "paired_bootstrap",
    "ptb_tokenize",
    "roc_auc",
    "score",
    "visdial",
    "vqa_accuracy",
    "vqa_score",
]
