"""Bootstrap intervals and paired comparisons: coverage of the estimate, shrinkage, p-values."""

import time

import numpy as np
import pytest

from ibench.metrics import (
    MetricError,
    MetricResult,
    bootstrap_ci,
    cider_tokenized,
    paired_bootstrap,
    roc_auc,
)
from ibench.metrics.base import mean_result


def _binary(name, values):
    ids = [f"s{i}" for i in range(len(values))]
    return mean_result(name, ids, [100.0 * v for v in values], failures=0)


def _coin_flips(n, p, seed):
    return (np.random.default_rng(seed).random(n) < p).astype(float).tolist()


def test_interval_contains_the_estimate_and_shrinks_with_more_samples():
    small = _binary("accuracy", _coin_flips(50, 0.6, 1))
    large = _binary("accuracy", _coin_flips(5000, 0.6, 2))
    ci_small = bootstrap_ci(small, n_resamples=500)
    ci_large = bootstrap_ci(large, n_resamples=500)
    for result, ci in ((small, ci_small), (large, ci_large)):
        assert ci.low <= result.value <= ci.high
    # the standard error falls like 1/sqrt(n): 100x the samples, about a tenth of the width
    assert (ci_large.high - ci_large.low) < 0.2 * (ci_small.high - ci_small.low)


def test_interval_is_seeded_and_deterministic():
    result = _binary("accuracy", _coin_flips(200, 0.5, 3))
    a = bootstrap_ci(result, n_resamples=200, seed=5)
    b = bootstrap_ci(result, n_resamples=200, seed=5)
    c = bootstrap_ci(result, n_resamples=200, seed=6)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    assert a.n_resamples == 200 and a.confidence == 0.95 and a.n == 200


def test_constant_scores_give_a_zero_width_interval():
    ci = bootstrap_ci(_binary("accuracy", [1.0] * 30), n_resamples=100)
    assert ci.low == ci.high == 100.0


def test_paired_identical_runs():
    run = _binary("accuracy", _coin_flips(300, 0.5, 4))
    cmp = paired_bootstrap(run, run, n_resamples=300)
    assert cmp.difference == 0.0
    assert cmp.low == cmp.high == 0.0
    assert cmp.p_value == 1.0
    assert (cmp.better_in_a, cmp.better_in_b, cmp.ties) == (0, 0, 300)


def test_paired_big_consistent_difference():
    a_vals = _coin_flips(400, 0.3, 5)
    b_vals = [1.0 if v == 1.0 or i % 2 == 0 else 0.0 for i, v in enumerate(a_vals)]  # B >= A
    cmp = paired_bootstrap(_binary("accuracy", a_vals), _binary("accuracy", b_vals), 999)
    assert cmp.difference > 20
    assert cmp.low > 0
    assert cmp.p_value == pytest.approx(2 / 1000)  # no resample reaches zero: the floor
    assert cmp.better_in_a == 0


def test_flip_counts_by_hand():
    a = _binary("accuracy", [1, 0, 1, 0, 1])
    b = _binary("accuracy", [1, 1, 0, 0, 0])
    cmp = paired_bootstrap(a, b, n_resamples=50)
    # sample 1 right only in B; samples 2 and 4 right only in A; 0 and 3 the same
    assert (cmp.better_in_a, cmp.better_in_b, cmp.ties) == (2, 1, 2)
    assert cmp.difference == pytest.approx(-20.0)


def test_paired_aligns_ids_and_refuses_different_sets():
    a = MetricResult("accuracy", 50.0, {"x": 100.0, "y": 0.0}, n=2)
    b_same = MetricResult("accuracy", 50.0, {"y": 0.0, "x": 100.0}, n=2)
    assert paired_bootstrap(a, b_same, n_resamples=50).p_value == 1.0
    b_other = MetricResult("accuracy", 50.0, {"x": 100.0, "z": 0.0}, n=2)
    with pytest.raises(MetricError, match="different samples"):
        paired_bootstrap(a, b_other)
    with pytest.raises(MetricError, match="compare"):
        paired_bootstrap(a, MetricResult("mrr", 50.0, {"x": 1.0, "y": 1.0}))


def test_auc_bootstrap_rescores_and_stratifies():
    rng = np.random.default_rng(8)
    labels = [1] + [0] * 59  # a single positive: unstratified resamples would often lose it
    scores = rng.normal(size=60).tolist()
    result = roc_auc([str(i) for i in range(60)], scores, labels)
    ci = bootstrap_ci(result, n_resamples=200)
    assert ci.low <= result.value <= ci.high
    flipped = roc_auc([str(i) for i in range(60)], [-s for s in scores], labels)
    cmp = paired_bootstrap(result, flipped, n_resamples=200)
    assert cmp.difference == pytest.approx(flipped.value - result.value)


def _random_corpus(rng, images, refs_per_image=5):
    vocab = "a the dog cat man woman on in with red blue sitting running grass table car".split()

    def sentence():
        return " ".join(rng.choice(vocab, size=rng.integers(1, 12)))

    return [sentence() for _ in range(images)], [
        [sentence() for _ in range(refs_per_image)] for _ in range(images)
    ]


def test_cider_bootstrap_is_fast_and_covers_the_estimate():
    rng = np.random.default_rng(9)
    cands, refs = _random_corpus(rng, 100)
    ids = [f"i{k}" for k in range(100)]
    result = cider_tokenized(ids, cands, refs)
    start = time.perf_counter()
    ci = bootstrap_ci(result, n_resamples=1000)
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0
    assert ci.low <= result.value <= ci.high
    other = cider_tokenized(ids, [refs[k][0] for k in range(100)], refs)
    cmp = paired_bootstrap(result, other, n_resamples=300)
    assert cmp.difference == pytest.approx(other.value - result.value)
    assert cmp.low > 0 and cmp.p_value < 0.05


def test_corpus_level_result_read_back_cannot_be_bootstrapped():
    result = roc_auc(["a", "b", "c"], [0.3, 0.2, 0.9], [1, 0, 1])
    restored = MetricResult.from_dict(result.to_dict())
    assert restored == result  # the rescorer is not part of equality
    with pytest.raises(MetricError, match="re-scored"):
        bootstrap_ci(restored)


def test_mean_result_read_back_can_be_bootstrapped():
    result = _binary("accuracy", [1, 0, 1, 1])
    restored = MetricResult.from_dict(result.to_dict())
    assert bootstrap_ci(restored, n_resamples=50) == bootstrap_ci(result, n_resamples=50)


def test_bad_settings_are_refused():
    result = _binary("accuracy", [1, 0])
    with pytest.raises(MetricError):
        bootstrap_ci(result, n_resamples=0)
    with pytest.raises(MetricError):
        bootstrap_ci(result, confidence=1.5)
