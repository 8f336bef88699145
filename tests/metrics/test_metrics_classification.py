"""ROC-AUC against a brute-force count of (positive, negative) pairs, ties counting 1/2."""

import itertools

import numpy as np
import pytest

from ibench.metrics import MetricError, roc_auc


def _brute_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return 100.0 * wins / (len(pos) * len(neg))


def test_auc_hand_case_with_a_tie():
    # pairs: 0.9>0.8, 0.9>0.1, 0.8=0.8 (1/2), 0.8>0.1 -> 3.5 / 4
    result = roc_auc(["a", "b", "c", "d"], [0.9, 0.8, 0.8, 0.1], [1, 1, 0, 0])
    assert result.value == pytest.approx(87.5)
    # per sample: a beats both negatives (100), b beats one and ties one (75);
    # c is outscored by a and tied with b (75), d is outscored by both (100)
    assert result.per_sample == pytest.approx({"a": 100.0, "b": 75.0, "c": 75.0, "d": 100.0})
    assert result.extra == {"positives": 2.0, "negatives": 2.0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=60).tolist()
    scores = np.round(rng.normal(size=60) + np.asarray(labels) * 0.7, 1).tolist()  # many ties
    result = roc_auc([str(i) for i in range(60)], scores, labels)
    assert result.value == pytest.approx(_brute_auc(scores, labels), rel=1e-12)
    assert np.mean(list(result.per_sample.values())) == pytest.approx(result.value, rel=1e-12)


def test_failures_get_the_score_that_ranks_them_wrong():
    # positive "p2" failed: ranked below every negative; negative "n2" failed: above every positive
    result = roc_auc(["p1", "p2", "n1", "n2"], [0.9, None, 0.1, float("nan")], [1, 1, 0, 0])
    # pairs: p1>n1 (1), p1 vs n2 (0), p2 vs n1 (0), p2 vs n2 (0) -> 1/4
    assert result.value == pytest.approx(25.0)
    assert result.failures == 2


def test_single_class_is_an_error():
    with pytest.raises(MetricError, match="both classes"):
        roc_auc(["a", "b"], [0.1, 0.2], [1, 1])
    with pytest.raises(MetricError, match="0 or 1"):
        roc_auc(["a", "b"], [0.1, 0.2], [1, 2])
