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


def test_lavis_variant_reproduces_upstream_quirks():
    # Unanimous answers are not normalised upstream; the prediction is ("Two" -> "2").
    unanimous = ["Two"] * 10
    assert vqa_score("two", unanimous) == 1.0
    assert vqa_score("two", unanimous, "lavis_vqav2") == 0.0
    # Non-unanimous answers only get the punctuation step upstream: "two" is not mapped to "2".
    mixed = ["two"] * 3 + ["3"] * 7
    assert vqa_score("two", mixed) == pytest.approx(0.9)
    assert vqa_score("two", mixed, "lavis_vqav2") == 0.0
    assert vqa_score("3", mixed, "lavis_vqav2") == 1.0


# Cases that separate the evaluators, each worked by hand from its rules:
# - lavis_vqav2 (LAVIS lavis/common/vqa_tools/vqa_eval.py): prediction -> whitespace,
#   punctuation, lower-case, number words, articles, contractions; answers -> punctuation only,
#   and nothing when all ten are equal.
# - textvqa (mmf EvalAIAnswerProcessor): the same full processing for prediction and answers,
#   after lower-casing, dropping ',' and '?' and splitting "'s".
# - vizwiz (VizWiz-VQA API vqaEval.py): prediction fully processed (its contractions table writes
#   a typographic apostrophe); answers compared untouched.
# Score = mean over the 10 leave-one-out subsets of min(1, matches among the other 9 / 3).
SEPARATING = [
    # "two" x10: lavis keeps "two" (unanimous), the prediction becomes "2": 0 matches -> 0.
    # textvqa: both "2" -> 10 matches: every subset has 9 -> 1.0. vizwiz: raw "two" -> 0.
    ("two", ["two"] * 10, {"lavis_vqav2": 0.0, "textvqa": 1.0, "vizwiz": 0.0,
                           "normalise_both": 1.0}),
    # "Dog" x4 + "cat" x6, prediction "dog": lavis (not unanimous) strips punctuation only,
    # "Dog" != "dog" -> 0; vizwiz raw -> 0; textvqa lower-cases: 4 matches, a subset without
    # a dog has 4 -> 1, with one left out 3 -> 1: 1.0.
    ("dog", ["Dog"] * 4 + ["cat"] * 6, {"lavis_vqav2": 0.0, "textvqa": 1.0, "vizwiz": 0.0,
                                         "normalise_both": 1.0}),
    # "t-shirt" x5 + "shirt" x5, prediction "t-shirt": "-" not next to a space becomes a space,
    # so the prediction is "t shirt". lavis (not unanimous) turns the answers into "t shirt"
    # too: 5 matches, each subset keeps >= 4 -> 1.0. vizwiz keeps "t-shirt": 0.
    ("t-shirt", ["t-shirt"] * 5 + ["shirt"] * 5, {"lavis_vqav2": 1.0, "textvqa": 1.0,
                                                  "vizwiz": 0.0, "normalise_both": 1.0}),
    # "dont know" against "don't know" x10: lavis maps "dont" -> "don't" (ASCII) and keeps the
    # unanimous answers: 10 matches -> 1.0; vizwiz's table gives "don’t": 0 -> 0.
    ("dont know", ["don't know"] * 10, {"lavis_vqav2": 1.0, "textvqa": 1.0, "vizwiz": 0.0,
                                         "normalise_both": 1.0}),
    # "Yes" against "yes" x3 + "no" x7: every evaluator lower-cases the prediction -> 3
    # matches: 3 subsets have 2 (2/3), 7 have 3 (1): (3 * 2/3 + 7) / 10 = 0.9.
    ("Yes", ["yes"] * 3 + ["no"] * 7, {"lavis_vqav2": 0.9, "textvqa": 0.9, "vizwiz": 0.9,
                                       "normalise_both": 0.9}),
    # "the man's hat" against "mans hat" x2 + "man's hat" x8: textvqa splits "'s" in both
    # ("man 's hat"), so 8 match: subsets keep 7 or 8 -> 1.0; lavis (not unanimous) keeps the
    # answers' apostrophes, "man's hat" == processed prediction "man's hat": 1.0; vizwiz raw
    # "man's hat" also equals it: 1.0.
    ("the man's hat", ["mans hat"] * 2 + ["man's hat"] * 8,
     {"lavis_vqav2": 1.0, "textvqa": 1.0, "vizwiz": 1.0, "normalise_both": 1.0}),
]


@pytest.mark.parametrize(("prediction", "answers", "expected"), SEPARATING)
def test_each_evaluator_by_its_own_rules(prediction, answers, expected):
    for variant, value in expected.items():
        assert vqa_score(prediction, answers, variant) == pytest.approx(value), variant


def test_textvqa_comma_and_question_mark_rules():
    # EvalAI drops commas before the punctuation step: "1,000" -> "1000"; "red?" -> "red".
    assert vqa_score("1,000", ["1000"] * 10, "textvqa") == 1.0
    assert vqa_score("red?", ["red"] * 10, "textvqa") == 1.0
    # lavis keeps unanimous answers raw; the prediction "1,000" -> "1000" (digit comma): 1.0
    assert vqa_score("1,000", ["1000"] * 10, "lavis_vqav2") == 1.0


def test_aokvqa_direct_answer_accuracy_is_exact_and_not_left_one_out():
    from ibench.metrics.vqa import aokvqa_da_score

    answers = ["bus"] * 2 + ["Bus"] + ["car"] * 7
    assert aokvqa_da_score("bus", answers) == pytest.approx(2 / 3)  # "Bus" differs
    assert aokvqa_da_score("car", answers) == 1.0  # min(1, 7/3), no leave-one-out
    assert aokvqa_da_score("the car", answers) == 0.0  # no normalisation
    assert aokvqa_da_score(None, answers) == 0.0


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
