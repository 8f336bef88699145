"""The registry and `score()`: record conventions, failures, and errors naming the problem."""

import shutil

import pytest
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from ibench.metrics import METRICS, MetricError, score

KEYS = {"cider", "vqa_accuracy", "exact_match", "accuracy", "ivqa_accuracy", "mrr", "roc_auc",
        "aokvqa_da_accuracy", "submission"}


def test_registry_describes_every_metric():
    assert set(METRICS) == KEYS
    for key, info in METRICS.items():
        assert info.name == key
        assert info.title and info.definition and info.scale
        assert info.per_sample and info.on_failure


def test_vqa_accuracy_with_failures_by_status_and_absence():
    samples = [
        ("q1", {"answers": ["two"] * 3 + ["three"] * 7}),
        ("q2", {"answers": ["yes"] * 10}),
        ("q3", {"answers": ["no"] * 10}),
    ]
    predictions = {
        "q1": {"prediction": "Two", "status": "ok"},
        "q2": {"prediction": "yes", "status": "media_error"},
    }
    result = score("vqa_accuracy", samples, predictions)
    assert result.per_sample == pytest.approx({"q1": 90.0, "q2": 0.0, "q3": 0.0})
    assert result.n == 3 and result.failures == 2
    assert result.value == pytest.approx(30.0)


def test_accuracy_reads_index_label_or_text():
    samples = [
        ("c1", {"answer_index": 2, "answer": "blue"}),
        ("c2", {"answer_index": 0, "answer": "red"}),
        ("b1", {"label": 1}),
        ("b2", {"label": 0}),
        ("v1", {"answer": "dog"}),
        ("v2", {"answer": "aardvark"}),  # outside the vocabulary: can never be chosen
    ]
    predictions = {
        "c1": {"prediction": "blue", "choice": 2, "status": "ok"},
        "c2": {"prediction": "green", "choice": 1, "status": "ok"},
        "b1": {"prediction": "yes", "choice": 1, "score": 2.0, "status": "ok"},
        "b2": {"prediction": "yes", "choice": 1, "score": 0.5, "status": "ok"},
        "v1": {"prediction": "the dog", "choice": 17, "status": "ok"},
        "v2": {"prediction": "animal", "choice": 3, "status": "ok"},
    }
    result = score("accuracy", samples, predictions)
    assert result.per_sample == {
        "c1": 100.0, "c2": 0.0, "b1": 100.0, "b2": 0.0, "v1": 100.0, "v2": 0.0,
    }  # fmt: skip
    assert result.value == pytest.approx(50.0)


def test_exact_match_and_ivqa():
    em = score(
        "exact_match",
        [("g1", {"answer": "left"}), ("g2", {"answer": "2"})],
        {"g1": {"prediction": "Left."}, "g2": {"prediction": "three"}},
    )
    assert em.per_sample == {"g1": 100.0, "g2": 0.0}
    iv = score(
        "ivqa_accuracy",
        [("v1", {"answers": ["cook", "cook", "bake", "fry", "boil"]})],
        {"v1": {"prediction": "cook", "status": "ok"}},
    )
    assert iv.value == 100.0


def test_mrr_and_roc_auc():
    scores = [float(-i) for i in range(100)]  # option 0 best, option 99 worst
    mrr = score(
        "mrr",
        [("r1", {"answer_index": 1}), ("r2", {"answer_index": 0})],
        {"r1": {"scores": scores, "status": "ok"}, "r2": {"status": "media_error"}},
    )
    assert mrr.per_sample == pytest.approx({"r1": 50.0, "r2": 1.0})
    assert mrr.failures == 1
    auc = score(
        "roc_auc",
        [("m1", {"label": 1}), ("m2", {"label": 0}), ("m3", {"label": 1})],
        {"m1": {"score": 1.5}, "m2": {"score": 0.2}, "m3": {"score": -0.3}},
    )
    assert auc.value == pytest.approx(50.0)  # m1 > m2, m3 < m2


@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime")
def test_cider_through_score_matches_pycocoevalcap():
    refs = {
        "i1": ["A cat sits on a mat.", "A cat on a rug."],
        "i2": ["A dog runs in a park.", "A brown dog running on grass."],
        "i3": ["Two people ride bikes.", "Cyclists on a road."],
    }
    preds = {"i1": "a cat on a mat", "i2": "A dog running.", "i3": "people riding bikes"}
    tok = PTBTokenizer()
    gts = tok.tokenize({k: [{"caption": c} for c in v] for k, v in refs.items()})
    res = tok.tokenize({k: [{"caption": v}] for k, v in preds.items()})
    value, _ = Cider().compute_score(gts, res)
    result = score(
        "cider",
        [(k, {"captions": v}) for k, v in refs.items()],
        {k: {"prediction": v, "status": "ok"} for k, v in preds.items()},
    )
    assert result.value == pytest.approx(100 * value, rel=1e-12)


def test_errors_name_the_problem():
    with pytest.raises(MetricError, match="unknown metric"):
        score("bleu", [("a", {})], {})
    with pytest.raises(MetricError, match="'answers'"):
        score("vqa_accuracy", [("a", {"answer": "x"})], {"a": {"prediction": "x"}})
    with pytest.raises(MetricError, match="'choice'"):
        score("accuracy", [("a", {"answer_index": 1})], {"a": {"prediction": "x"}})
    with pytest.raises(MetricError, match="no option"):
        score("accuracy", [("a", {"answer_index": 1})], {}, num_options=5)
    result = score(
        "vqa_accuracy",
        [("a", {"answers": ["Two"] * 10})],
        {"a": {"prediction": "two"}},
        variant="lavis_vqav2",
    )
    assert result.value == 0.0
    with pytest.raises(MetricError, match="unknown VQA accuracy variant"):
        score("vqa_accuracy", [("a", {"answers": ["x"]})], {"a": {"prediction": "x"}},
              variant="nope")
    with pytest.raises(MetricError, match="server"):
        score("submission", [("a", {"image": "x.jpg"})], {})
