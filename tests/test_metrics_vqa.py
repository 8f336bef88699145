"""VQA normalisation, VQA accuracy, exact match and iVQA, against hand-worked official cases."""

import pytest

from ibench.metrics import (
    MetricError,
    exact_match,
    ivqa_accuracy,
    ivqa_score,
    normalize_answer,
    vqa_accuracy,
    vqa_score,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("two", "2"),  # number words to digits
        ("Two", "2"),  # lower-cased before the number map
        ("none", "0"),  # the official map sends "none" to "0"
        ("ten", "10"),
        ("a dog.", "dog"),  # period not followed by a digit removed, article dropped
        ("The Dog", "dog"),
        ("an apple", "apple"),
        ("dont", "don't"),  # contractions restored
        ("Dont", "don't"),
        ("isnt", "isn't"),
        ("it's", "it's"),  # the apostrophe is not in the punctuation list
        ("yes.", "yes"),
        ("yes!", "yes"),  # "!" with no space around it becomes a space, then split away
        ("1,000", "1000"),  # a digit-comma-digit makes every mark vanish, not become a space
        ("3.5", "3.5"),  # period followed by a digit stays
        ("5.", "5"),  # upstream's look-behind typo: a period before no digit always goes
        ("red-blue", "red blue"),  # no space next to "-": replaced by a space
        ("red - blue", "red blue"),  # a space next to "-": deleted
        ("hello, world", "hello world"),
        ("1,5 red-blue", "15 redblue"),  # digit comma anywhere: "-" deleted too
        ("  yes\n", "yes"),  # outer whitespace stripped, newline to space
        ("(left)", "left"),
        ("mr. smith", "mr smith"),
    ],
)
def test_normalisation_follows_the_official_rules(raw, expected):
    assert normalize_answer(raw) == expected


@pytest.mark.parametrize(
    ("matches", "expected"),
    [
        # 10 answers, m equal to the prediction. Leaving out one of the m leaves m-1 matches,
        # leaving out one of the others leaves m; each subset scores min(1, matches/3).
        (0, 0.0),
        (1, 0.3),  # 9 subsets with 1 match (1/3 each) + 1 with 0: 3/10
        (2, 0.6),  # 8 x 2/3 + 2 x 1/3 = 6/10
        (3, 0.9),  # 7 subsets with all 3 (1.0) + 3 with 2 (2/3): 9/10
        (4, 1.0),  # every subset keeps at least 3
        (10, 1.0),
    ],
)
def test_vqa_score_leave_one_out(matches, expected):
    answers = ["cat"] * matches + ["dog"] * (10 - matches)
    assert vqa_score("cat", answers) == pytest.approx(expected)


def test_vqa_score_normalises_prediction_and_answers():
    answers = ["two", "Two.", "2", "three", "four", "five", "six", "seven", "eight", "nine"]
    assert vqa_score("2", answers) == pytest.approx(0.9)
    assert vqa_score("The two!", answers) == pytest.approx(0.9)


def test_official_gt_processing_reproduces_upstream_quirks():
    # Unanimous answers are not normalised upstream; the prediction is ("Two" -> "2").
    unanimous = ["Two"] * 10
    assert vqa_score("two", unanimous) == 1.0
    assert vqa_score("two", unanimous, official_gt_processing=True) == 0.0
    # Non-unanimous answers only get the punctuation step upstream: "two" is not mapped to "2".
    mixed = ["two"] * 3 + ["3"] * 7
    assert vqa_score("two", mixed) == pytest.approx(0.9)
    assert vqa_score("two", mixed, official_gt_processing=True) == 0.0
    assert vqa_score("3", mixed, official_gt_processing=True) == 1.0


def test_vqa_accuracy_scale_and_failures():
    answers = [["yes"] * 10, ["cat"] * 3 + ["dog"] * 7, ["red"] * 10]
    result = vqa_accuracy(["q1", "q2", "q3"], ["Yes.", "cat", None], answers)
    assert result.per_sample == pytest.approx({"q1": 100.0, "q2": 90.0, "q3": 0.0})
    assert result.value == pytest.approx(190.0 / 3)
    assert result.n == 3 and result.failures == 1
    with pytest.raises(MetricError):
        vqa_score("x", [])


def test_exact_match():
    result = exact_match(
        ["a", "b", "c", "d"], ["The dog.", "cat", "two", None], ["dog", "dog", "2", "x"]
    )
    assert result.per_sample == {"a": 100.0, "b": 0.0, "c": 100.0, "d": 0.0}
    assert result.value == 50.0
    assert result.failures == 1


@pytest.mark.parametrize(("matches", "expected"), [(0, 0.0), (1, 0.5), (2, 1.0), (3, 1.0)])
def test_ivqa_score(matches, expected):
    answers = ["cooking"] * matches + ["baking"] * (5 - matches)
    assert ivqa_score("Cooking.", answers) == expected


def test_ivqa_accuracy():
    answers = [["a dog"] * 2 + ["cat"] * 3, ["cat", "x", "y", "z", "w"], ["q"] * 5]
    result = ivqa_accuracy(["1", "2", "3"], ["dog", "cat", None], answers)
    assert result.per_sample == {"1": 100.0, "2": 50.0, "3": 0.0}
    assert result.value == 50.0
    assert result.failures == 1


def test_duplicate_ids_and_length_mismatch_are_refused():
    with pytest.raises(MetricError, match="duplicate"):
        exact_match(["a", "a"], ["x", "y"], ["x", "y"])
    with pytest.raises(MetricError):
        exact_match(["a", "b"], ["x"], ["x", "y"])
    with pytest.raises(MetricError, match="no samples"):
        exact_match([], [], [])
