"""CIDEr-D: agreement with pycocoevalcap called directly, hand-checkable corpora, Java errors."""

import shutil

import numpy as np
import pytest
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from ibench.metrics import CiderCorpus, MetricError, cider, cider_tokenized, ptb_tokenize
from ibench.metrics import caption as caption_module

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime")

REFS = [
    ["A man riding a horse on a beach.", "A person rides a brown horse near the sea.",
     "Someone on horseback at the shore."],
    ["Two dogs playing with a ball in the grass.", "Dogs chase a red ball on a lawn.",
     "Two puppies play in a green field."],
    ["A plate of food with broccoli and rice.", "Rice, broccoli and chicken on a plate.",
     "A healthy meal served on a white plate."],
    ["A city street with cars and a bus.", "Traffic on a busy street downtown.",
     "A red bus driving down a street."],
]  # fmt: skip
CANDS = [
    "A man is riding a horse on the beach.",
    "Two dogs play with a ball.",
    "A plate with rice and broccoli!",
    "A bus on a street.",
]
IDS = ["img1", "img2", "img3", "img4"]


def _official(ids, cands, refs):
    """pycocoevalcap's own pipeline: PTBTokenizer on both sides, then Cider."""
    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": c} for c in r] for i, r in zip(ids, refs, strict=True)})
    res = tok.tokenize({i: [{"caption": c}] for i, c in zip(ids, cands, strict=True)})
    return Cider().compute_score(gts, res)


@needs_java
def test_cider_matches_pycocoevalcap():
    value, per_image = _official(IDS, CANDS, REFS)
    result = cider(IDS, CANDS, REFS)
    assert result.value == pytest.approx(100 * value, rel=1e-12)
    assert list(result.per_sample) == IDS
    assert list(result.per_sample.values()) == pytest.approx(list(100 * per_image), rel=1e-12)
    assert result.n == 4 and result.failures == 0 and result.corpus_level


@needs_java
def test_ptb_tokenize_matches_pycocoevalcap_and_keeps_alignment():
    sentences = ["A dog, running.", "", "Don't (stop) now!", "café naïve"]
    official = PTBTokenizer().tokenize({"x": [{"caption": s} for s in sentences]})["x"]
    assert ptb_tokenize(sentences) == official
    # A line break inside a sentence must not shift the sentences after it.
    assert ptb_tokenize(["one\r\ntwo", "three\u2028four", "five"]) == [
        "one two",
        "three four",
        "five",
    ]


@needs_java
def test_failure_scores_zero_but_keeps_its_references_in_the_idf():
    cands = [CANDS[0], None, CANDS[2], CANDS[3]]
    result = cider(IDS, cands, REFS)
    value, per_image = _official(IDS, [CANDS[0], "", CANDS[2], CANDS[3]], REFS)
    assert result.per_sample["img2"] == 0.0
    assert result.value == pytest.approx(100 * value, rel=1e-12)
    assert result.failures == 1


def test_identical_candidates_and_single_references_score_1000():
    # Each image's only reference equals its candidate and shares no word with other images:
    # every 1-4-gram has df 1, so w = log(N) > 0 for all, each cosine is 1, no length penalty:
    # per image 10 * mean(1, 1, 1, 1) / 1 reference = 10, i.e. 1000 on the x100 scale.
    captions = ["red car parked outside", "two cats sleeping together", "old man reading books"]
    result = cider_tokenized(["a", "b", "c"], captions, [[c] for c in captions])
    assert result.value == pytest.approx(1000.0)
    assert list(result.per_sample.values()) == pytest.approx([1000.0] * 3)


def test_no_shared_word_scores_zero():
    result = cider_tokenized(["a", "b"], ["zebra stripes", "red car"], [["red car"], ["blue sky"]])
    assert result.per_sample["b"] == 0.0


def _random_corpus(rng, images, refs_per_image=5):
    vocab = "a the dog cat man woman on in with red blue sitting running grass table car".split()

    def sentence():
        return " ".join(rng.choice(vocab, size=rng.integers(0, 12)))

    cands = [sentence() for _ in range(images)]
    refs = [[sentence() or "x" for _ in range(refs_per_image)] for _ in range(images)]
    return cands, refs


def test_cider_corpus_equals_cider_on_resamples_with_repeats():
    rng = np.random.default_rng(7)
    cands, refs = _random_corpus(rng, 30)
    corpus = CiderCorpus(cands, refs)
    for trial in range(4):
        idx = np.arange(30) if trial == 0 else rng.integers(0, 30, size=30)
        gts = {f"{p}": refs[i] for p, i in enumerate(idx)}
        res = {f"{p}": [cands[i]] for p, i in enumerate(idx)}
        value, _ = Cider().compute_score(gts, res)
        assert corpus.score(idx) == pytest.approx(100 * value, rel=1e-9, abs=1e-9)


def test_missing_java_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr(caption_module.shutil, "which", lambda name: None)
    with pytest.raises(MetricError, match="apt-get install default-jre-headless"):
        cider(IDS, CANDS, REFS)


def test_empty_reference_list_is_refused():
    with pytest.raises(MetricError, match="reference"):
        cider_tokenized(["a"], ["x"], [[]])
