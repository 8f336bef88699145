"""Cluster bootstrap (whole Visual Dialog dialogs resampled): hand-worked cases."""

import pytest

from ibench.metrics import MetricResult, bootstrap_ci, paired_bootstrap


def _result(values: list[float]) -> MetricResult:
    per_sample = {f"s{i:02d}": v for i, v in enumerate(values)}
    return MetricResult("accuracy", sum(values) / len(values), per_sample, n=len(values))


def test_two_clusters_give_the_full_range():
    # cluster a: 10 samples right, cluster b: 10 samples wrong. A resample of 2 clusters is
    # (a, a) = 100, (a, b) = 50 or (b, b) = 0 with probabilities 1/4, 1/2, 1/4, so the 95%
    # interval is [0, 100]; resampling the 20 samples as if independent is far narrower.
    result = _result([100.0] * 10 + [0.0] * 10)
    clusters = ["a"] * 10 + ["b"] * 10
    by_cluster = bootstrap_ci(result, n_resamples=2000, clusters=clusters)
    assert (by_cluster.low, by_cluster.high) == (0.0, 100.0)
    by_sample = bootstrap_ci(result, n_resamples=2000)
    assert 0.0 < by_sample.low < 50.0 < by_sample.high < 100.0


def test_singleton_clusters_equal_the_plain_bootstrap():
    result = _result([float(i % 3 == 0) * 100 for i in range(20)])
    plain = bootstrap_ci(result, n_resamples=500, seed=7)
    single = bootstrap_ci(result, n_resamples=500, seed=7, clusters=list(result.per_sample))
    assert (single.low, single.high) == pytest.approx((plain.low, plain.high))


def test_paired_cluster_bootstrap():
    a = _result([100.0] * 10 + [0.0] * 10)
    same = paired_bootstrap(a, a, n_resamples=300, clusters=["a"] * 10 + ["b"] * 10)
    assert same.difference == 0 and same.p_value == 1.0
    b = _result([100.0] * 20)
    better = paired_bootstrap(a, b, n_resamples=300, clusters=["a"] * 10 + ["b"] * 10)
    # B - A is 0 on cluster a and 100 on cluster b: resampled differences 0, 50 or 100
    assert (better.low, better.high) == (0.0, 100.0) and better.difference == 50.0
