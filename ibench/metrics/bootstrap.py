"""Seeded percentile-bootstrap intervals for one run, and paired bootstrap comparisons of two.

Resampling unit: the sample (the ids of a MetricResult), drawn with replacement. Mean-type
metrics average the resampled per-sample scores; corpus-level ones (CIDEr, ROC-AUC) re-score
each resample as a whole through the result's rescorer (ROC-AUC resamples within each label).

Paired comparison of runs A and B on the same samples: both are scored on the same resampled
ids; the difference is B - A. Its interval is the percentile interval of the resampled
differences, and the two-sided p-value is the bootstrap percentile test:
p = min(1, 2 * (min(#{d* <= 0}, #{d* >= 0}) + 1) / (R + 1)) over the R resampled differences
d*, i.e. twice the share of resamples on the far side of zero (never below 2 / (R + 1)); it is
below 1 - confidence about when the interval excludes zero. Identical runs give p = 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ibench.metrics.base import MetricError, MetricResult

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_SEED = 0
_CHUNK_CELLS = 2_000_000  # resampled indices held in memory at once


@dataclass(frozen=True)
class Interval:
    """A bootstrap confidence interval around one metric value."""

    metric: str
    value: float
    low: float
    high: float
    confidence: float
    n: int
    n_resamples: int
    seed: int


@dataclass(frozen=True)
class PairedComparison:
    """Run B against run A on the same samples: difference B - A, its interval and p-value.

    `better_in_a` / `better_in_b` count samples whose per-sample score is higher in that run
    (for accuracy: right in one run, wrong in the other); `ties` the rest.
    """

    metric: str
    value_a: float
    value_b: float
    difference: float
    low: float
    high: float
    p_value: float
    better_in_a: int
    better_in_b: int
    ties: int
    confidence: float
    n: int
    n_resamples: int
    seed: int


def _check(n_resamples: int, confidence: float) -> None:
    """Refuse settings that have no meaning."""
    if n_resamples < 1:
        raise MetricError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise MetricError(f"confidence must be between 0 and 1, got {confidence}")


def _draw(rng: np.random.Generator, n: int, rows: int, strata: np.ndarray | None) -> np.ndarray:
    """`rows` resamples of positions 0..n-1 with replacement, within each stratum if given."""
    if strata is None:
        return rng.integers(0, n, size=(rows, n))
    parts = []
    for level in np.unique(strata):
        members = np.flatnonzero(strata == level)
        parts.append(members[rng.integers(0, len(members), size=(rows, len(members)))])
    return np.concatenate(parts, axis=1)


def _statistic(result: MetricResult) -> Callable[[np.ndarray], np.ndarray]:
    """Map a (rows, n) block of resampled positions to the metric of each row."""
    if result.corpus_level:
        if result.rescorer is None:
            raise MetricError(
                f"{result.name} must be re-scored as a whole on each resample: compute it with "
                "ibench.metrics.score() from the predictions (a result read back from disk "
                "cannot be bootstrapped)"
            )
        rescore = result.rescorer.score
        return lambda block: np.array([rescore(row) for row in block], dtype=float)
    values = np.fromiter(result.per_sample.values(), dtype=float, count=len(result.per_sample))
    return lambda block: values[block].mean(axis=1)


def _cluster_codes(result: MetricResult, clusters: Sequence[str]) -> tuple[np.ndarray, int]:
    """Cluster index of each sample (in the result's order) and the number of clusters."""
    if result.corpus_level:
        raise MetricError(f"{result.name}: a cluster bootstrap needs a mean-type metric")
    if len(clusters) != len(result.per_sample):
        raise MetricError(f"{len(clusters)} cluster labels for {len(result.per_sample)} samples")
    names, codes = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    return codes, len(names)


def _cluster_statistic(values: np.ndarray, codes: np.ndarray, n_clusters: int
                       ) -> Callable[[np.ndarray], np.ndarray]:
    """Map a (rows, clusters) block of resampled clusters to the mean over their samples."""
    sums = np.bincount(codes, weights=values, minlength=n_clusters)
    sizes = np.bincount(codes, minlength=n_clusters).astype(float)
    return lambda block: sums[block].sum(axis=1) / sizes[block].sum(axis=1)


def _strata(result: MetricResult) -> np.ndarray | None:
    """The resampling strata of a result (labels for ROC-AUC), or None."""
    return result.rescorer.strata if result.corpus_level and result.rescorer else None


def _resampled(
    n: int,
    stats: list[Callable[[np.ndarray], np.ndarray]],
    strata: np.ndarray | None,
    n_resamples: int,
    seed: int,
) -> list[np.ndarray]:
    """Each statistic over the same seeded resamples, drawn in memory-bounded chunks."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_CELLS // max(n, 1)))
    out: list[list[np.ndarray]] = [[] for _ in stats]
    done = 0
    while done < n_resamples:
        rows = min(chunk, n_resamples - done)
        block = _draw(rng, n, rows, strata)
        for acc, stat in zip(out, stats, strict=True):
            acc.append(stat(block))
        done += rows
    return [np.concatenate(acc) for acc in out]


def _bounds(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The percentile interval of resampled values."""
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_ci(
    result: MetricResult,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
    clusters: Sequence[str] | None = None,
) -> Interval:
    """Percentile-bootstrap interval of a metric over its samples (seeded, deterministic).

    With `clusters` (a label per sample, in the result's order), whole clusters are resampled:
    the honest interval when samples come in correlated groups, such as the 10 rounds of a
    Visual Dialog dialog (mean-type metrics only).
    """
    _check(n_resamples, confidence)
    n = len(result.per_sample)
    if clusters is not None:
        codes, n_clusters = _cluster_codes(result, clusters)
        own = np.fromiter(result.per_sample.values(), dtype=float, count=n)
        (values,) = _resampled(n_clusters, [_cluster_statistic(own, codes, n_clusters)], None,
                               n_resamples, seed)
    else:
        (values,) = _resampled(n, [_statistic(result)], _strata(result), n_resamples, seed)
    low, high = _bounds(values, confidence)
    return Interval(result.name, result.value, low, high, confidence, n, n_resamples, seed)


def paired_bootstrap(
    result_a: MetricResult,
    result_b: MetricResult,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
    clusters: Sequence[str] | None = None,
) -> PairedComparison:
    """Compare run B with run A on the same samples: B - A, its interval, p-value and flips.

    `clusters` (a label per sample, in A's order) resamples whole clusters, as bootstrap_ci.
    """
    _check(n_resamples, confidence)
    if result_a.name != result_b.name:
        raise MetricError(f"cannot compare {result_a.name} with {result_b.name}")
    ids = list(result_a.per_sample)
    if set(ids) != set(result_b.per_sample):
        only_a = len(set(ids) - set(result_b.per_sample))
        only_b = len(set(result_b.per_sample) - set(ids))
        raise MetricError(
            f"runs cover different samples ({only_a} only in A, {only_b} only in B); "
            "a paired comparison needs the same sample ids"
        )
    position_b = {sid: i for i, sid in enumerate(result_b.per_sample)}
    to_b = np.asarray([position_b[sid] for sid in ids], dtype=np.int64)
    strata = _strata(result_a)
    strata_b = _strata(result_b)
    if (strata is None) != (strata_b is None) or (
        strata is not None and not np.array_equal(strata, strata_b[to_b])
    ):
        raise MetricError("runs A and B disagree on the sample labels")
    if clusters is not None:
        codes, n_clusters = _cluster_codes(result_a, clusters)
        _cluster_codes(result_b, clusters)  # same checks for B
        own_a = np.asarray([result_a.per_sample[sid] for sid in ids], dtype=float)
        own_b = np.asarray([result_b.per_sample[sid] for sid in ids], dtype=float)
        diffs_a, diffs_b = _resampled(
            n_clusters,
            [_cluster_statistic(own_a, codes, n_clusters),
             _cluster_statistic(own_b, codes, n_clusters)],
            None, n_resamples, seed,
        )
    else:
        stat_a = _statistic(result_a)
        stat_b_own = _statistic(result_b)
        diffs_a, diffs_b = _resampled(
            len(ids), [stat_a, lambda block: stat_b_own(to_b[block])], strata, n_resamples, seed
        )
    diffs = diffs_b - diffs_a
    low, high = _bounds(diffs, confidence)
    far_side = min(int(np.sum(diffs <= 0)), int(np.sum(diffs >= 0)))
    p_value = min(1.0, 2.0 * (far_side + 1) / (n_resamples + 1))
    a = np.asarray([result_a.per_sample[sid] for sid in ids], dtype=float)
    b = np.asarray([result_b.per_sample[sid] for sid in ids], dtype=float)
    better_a, better_b = int(np.sum(a > b)), int(np.sum(b > a))
    return PairedComparison(
        metric=result_a.name,
        value_a=result_a.value,
        value_b=result_b.value,
        difference=result_b.value - result_a.value,
        low=low,
        high=high,
        p_value=p_value,
        better_in_a=better_a,
        better_in_b=better_b,
        ties=len(ids) - better_a - better_b,
        confidence=confidence,
        n=len(ids),
        n_resamples=n_resamples,
        seed=seed,
    )
