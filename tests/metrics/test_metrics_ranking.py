"""Top-1 accuracy and Visual Dialog ranks on hand-ranked lists."""

import pytest

from ibench.metrics import MetricError, accuracy, gt_rank, visdial


def test_accuracy_by_index_label_and_text():
    result = accuracy(
        ["a", "b", "c", "d", "e", "f"],
        [2, 0, 1, "The Dog.", "cat", None],
        [2, 1, 1, "dog", "kitten", 0],
    )
    assert result.per_sample == {"a": 100.0, "b": 0.0, "c": 100.0, "d": 100.0, "e": 0.0, "f": 0.0}
    assert result.value == pytest.approx(50.0)
    assert result.failures == 1


def test_accuracy_refuses_mixed_kinds():
    with pytest.raises(MetricError):
        accuracy(["a"], ["yes"], [1])
    with pytest.raises(MetricError):
        accuracy(["a"], [1], ["yes"])


@pytest.mark.parametrize(
    ("scores", "gt", "rank"),
    [
        ([0.1, 0.5, 0.3], 1, 1),
        ([0.1, 0.5, 0.3], 2, 2),
        ([0.1, 0.5, 0.3], 0, 3),
        ([1.0, 1.0, 1.0], 0, 3),  # ties count against the model, whatever the position
        ([1.0, 1.0, 1.0], 2, 3),
        ([2.0, 1.0, 1.0, 0.0], 2, 3),
        ([float("nan"), 1.0, 0.5], 2, 2),  # a NaN option never ranks ahead
        ([0.1, float("nan"), 0.5], 1, 3),  # a NaN ground truth ranks last
    ],
)
def test_gt_rank(scores, gt, rank):
    assert gt_rank(scores, gt) == rank


def _options_with_rank(rank, gt, n=100):
    """100 scores where the option `gt` has exactly `rank - 1` options above it."""
    scores = [0.0] * n
    others = [i for i in range(n) if i != gt]
    for i in others[: rank - 1]:
        scores[i] = 10.0
    scores[gt] = 5.0
    return scores


def test_visdial_mrr_recall_and_mean_rank():
    ids = ["d1_r1", "d1_r2", "d2_r1"]
    scores = [_options_with_rank(1, 3), _options_with_rank(4, 0), _options_with_rank(20, 99)]
    result = visdial(ids, scores, [3, 0, 99])
    # ranks 1, 4, 20: MRR = (1 + 1/4 + 1/20) / 3 = 1.3 / 3
    assert result.value == pytest.approx(100 * 1.3 / 3)
    assert result.per_sample == pytest.approx({"d1_r1": 100.0, "d1_r2": 25.0, "d2_r1": 5.0})
    assert result.extra["r@1"] == pytest.approx(100 / 3)
    assert result.extra["r@5"] == pytest.approx(200 / 3)
    assert result.extra["r@10"] == pytest.approx(200 / 3)
    assert result.extra["mean_rank"] == pytest.approx(25 / 3)


def test_visdial_failure_gets_the_worst_rank():
    result = visdial(["a", "b"], [_options_with_rank(2, 5), None], [5, 7])
    assert result.per_sample == pytest.approx({"a": 50.0, "b": 1.0})
    assert result.extra["mean_rank"] == pytest.approx(51.0)
    assert result.extra["r@10"] == pytest.approx(50.0)
    assert result.failures == 1


def test_visdial_refuses_wrong_option_count_and_index():
    with pytest.raises(MetricError, match="option scores"):
        visdial(["a"], [[0.0] * 99], [0])
    with pytest.raises(MetricError, match="outside"):
        visdial(["a"], [[0.0] * 100], [100])
