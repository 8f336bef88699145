"""VQA answer normalisation, VQA accuracy, exact match and iVQA accuracy.

The normalisation follows the official VQA evaluation (GT-Vision-Lab/VQA, `vqaEval.py`):
punctuation handling (`process_punctuation`), then lower-casing, number words to digits,
articles removed and contractions restored (`process_digit_article`). The data tables below
are those of the official evaluation, including its quirks (documented where they bite).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from ibench.metrics.base import MetricError, MetricResult, check_ids, mean_result

# Official contractions table: an apostrophe-less form -> the written contraction. Applied per
# word after lower-casing, so the capitalised keys ("Im", "Ive", ...) never match (as upstream).
CONTRACTIONS: dict[str, str] = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
    "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}  # fmt: skip

# Official number words ("none" too: upstream maps it to "0").
MANUAL_MAP: dict[str, str] = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip

ARTICLES: frozenset[str] = frozenset({"a", "an", "the"})

# Official punctuation list (the period is handled separately; the apostrophe and colon are kept).
PUNCTUATION: tuple[str, ...] = (
    ";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`",
    ",", "?", "!",
)  # fmt: skip

# Upstream writes "(?!<=\d)(\.)(?!\d)": the first group is a look-ahead (a typo for a
# look-behind) that always succeeds, so in effect a period is removed unless a digit follows it
# ("dog." -> "dog", "3.5" stays, "5." -> "5").
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
# A comma between two digits anywhere in the text switches punctuation from "replace by a space"
# to "delete" for every mark ("1,000" -> "1000").
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
# Upstream passes re.UNICODE (= 32) as the `count` argument of sub(): at most 32 periods go.
_PERIOD_COUNT = 32


def process_punctuation(text: str) -> str:
    """Official VQA punctuation step: delete or space out each mark, then strip periods."""
    out = text
    digit_comma = _COMMA_STRIP.search(text) is not None
    for mark in PUNCTUATION:
        if (mark + " " in text or " " + mark in text) or digit_comma:
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    return _PERIOD_STRIP.sub("", out, count=_PERIOD_COUNT)


def process_digit_article(text: str) -> str:
    """Official VQA word step: lower-case, number words to digits, drop articles, contractions."""
    words = [MANUAL_MAP.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def _clean_whitespace(text: str) -> str:
    """The official pre-step: newlines and tabs to spaces, outer whitespace stripped."""
    return text.replace("\n", " ").replace("\t", " ").strip()


@lru_cache(maxsize=1 << 16)
def normalize_answer(text: str) -> str:
    """Normalise an answer as the official VQA evaluation normalises a prediction (cached)."""
    return process_digit_article(process_punctuation(_clean_whitespace(text)))


# The VizWiz API's own contractions table (VizWiz-VQA API, vqaEval.py by Qing Li): the same
# keys as the VQA table, but most written contractions carry a typographic apostrophe (U+2019),
# so a prediction "dont" becomes "don’t" there and never matches a human "don't".
_VIZWIZ_ASCII_VALUES = frozenset({"aint", "arent", "cant", "couldve", "couldnt", "weve",
                                   "wheres", "whove"})
_VIZWIZ_CURLY_KEYS = frozenset({
    "couldnt've", "hadnt've", "hed've", "he'dve", "Id've", "I'dve", "itd've", "it'dve",
    "let's", "mightnt've", "mightn'tve", "ow's'at", "'ows'at", "'ow'sat", "shed've",
    "she'dve", "she's", "shouldnt've", "shouldn'tve", "somebody'd", "somebodyd've",
    "somebody'dve", "someoned've", "someone'dve", "somethingd've", "something'dve",
    "thered've", "there'dve", "theyd've", "they'dve", "wed've", "we'dve", "whod've",
    "who'dve", "wouldnt've", "wouldn'tve", "yall'll", "y'allll", "yall'd've", "y'alld've",
    "y'all'dve", "youd've", "you'dve",
})  # fmt: skip


def _vizwiz_contractions() -> dict[str, str]:
    """The VizWiz API's table, derived from the VQA table by its apostrophes (see above)."""
    curly = "\u2019"
    out = {}
    for key, value in CONTRACTIONS.items():
        k = key.replace("'", curly) if key in _VIZWIZ_CURLY_KEYS else key
        v = value if key in _VIZWIZ_ASCII_VALUES else value.replace("'", curly)
        out[k] = v
    return out


VIZWIZ_CONTRACTIONS: dict[str, str] = _vizwiz_contractions()


def _digit_article(text: str, contractions: dict[str, str]) -> str:
    """process_digit_article with a given contractions table."""
    words = [MANUAL_MAP.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return " ".join(contractions.get(w, w) for w in words)


def evalai_normalize(text: str) -> str:
    """The TextVQA / EvalAI answer processor (pythia/mmf `EvalAIAnswerProcessor`): lower-case,
    drop commas and question marks, split "'s" off, then the VQA punctuation and word steps."""
    text = text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    text = _clean_whitespace(text)
    return process_digit_article(process_punctuation(text))


# Each dataset's own evaluator (protocol.md section 5); a task names its variant.
VQA_VARIANTS: dict[str, str] = {
    "lavis_vqav2": "LAVIS's vendored GT-Vision-Lab/VQA vqaEval.py (lavis/common/vqa_tools/"
                   "vqa_eval.py), used for the paper's VQAv2 and OK-VQA: the prediction is "
                   "normalised fully; the ten human answers only by punctuation, and not at all "
                   "when they all agree",
    "textvqa": "the TextVQA / EvalAI evaluator (mmf TextVQAAccuracyEvaluator with "
               "EvalAIAnswerProcessor): prediction and answers normalised alike (lower-case, "
               "commas and '?' dropped, punctuation, number words, articles, contractions)",
    "vizwiz": "the VizWiz-VQA API's vqaEval.py: the prediction normalised fully (with the API's "
              "own contractions table, typographic apostrophes included); the human answers "
              "compared as they are",
    "normalise_both": "both the prediction and the answers get the VQA normalisation of a "
                      "prediction (lmms-eval style; no dataset's official evaluator)",
}
DEFAULT_VQA_VARIANT = "normalise_both"


def _prepare(prediction: str, answers: Sequence[str], variant: str) -> tuple[str, list[str]]:
    """The prediction and answers as the variant's evaluator compares them."""
    if variant == "lavis_vqav2":
        gts = list(answers)
        if len(set(gts)) > 1:
            gts = [process_punctuation(a) for a in gts]
        return normalize_answer(prediction), gts
    if variant == "textvqa":
        return evalai_normalize(prediction), [evalai_normalize(a) for a in answers]
    if variant == "vizwiz":
        pred = _digit_article(process_punctuation(_clean_whitespace(prediction)),
                              VIZWIZ_CONTRACTIONS)
        return pred, list(answers)
    if variant == "normalise_both":
        return normalize_answer(prediction), [normalize_answer(a) for a in answers]
    raise MetricError(f"unknown VQA accuracy variant {variant!r}; known: "
                      f"{', '.join(VQA_VARIANTS)}")


def vqa_score(
    prediction: str | None, answers: Sequence[str], variant: str = DEFAULT_VQA_VARIANT
) -> float:
    """VQA accuracy of one prediction in [0, 1]: mean over leave-one-out subsets of min(1, m/3).

    With n answers, each subset leaves one answer out and counts the m others equal to the
    prediction, after the normalisation of the variant's evaluator (VQA_VARIANTS). A None
    prediction scores 0.
    """
    if not answers:
        raise MetricError("VQA accuracy needs at least one reference answer")
    if prediction is None:
        return 0.0
    pred, gts = _prepare(prediction, answers, variant)
    matches = sum(g == pred for g in gts)
    if matches == 0:
        return 0.0
    # Leaving out a matching answer leaves matches-1 others; leaving out another leaves matches.
    total = matches * min(1.0, (matches - 1) / 3) + (len(gts) - matches) * min(1.0, matches / 3)
    return total / len(gts)


def vqa_accuracy(
    ids: Sequence[str],
    predictions: Sequence[str | None],
    answers: Sequence[Sequence[str]],
    variant: str = DEFAULT_VQA_VARIANT,
) -> MetricResult:
    """VQA accuracy x100 over questions; a None prediction is a failure scoring 0."""
    _prepare("", ["x"], variant)  # an unknown variant fails before any work
    return _per_question("vqa_accuracy", lambda p, a: vqa_score(p, a, variant), ids,
                         predictions, answers)


def _per_question(
    name: str, score: Callable[[str | None, Sequence[str]], float], ids: Sequence[str],
    predictions: Sequence[str | None], answers: Sequence[Sequence[str]],
) -> MetricResult:
    """Mean x100 of a per-question score in [0, 1]; a None prediction is a failure."""
    ids = check_ids(ids, predictions, answers)
    scores = [100.0 * score(p, a) for p, a in zip(predictions, answers, strict=True)]
    return mean_result(name, ids, scores, sum(p is None for p in predictions))


def aokvqa_da_score(prediction: str | None, answers: Sequence[str]) -> float:
    """A-OKVQA direct-answer accuracy of one prediction: min(1, n/3), n = direct answers equal
    to the prediction as a string (LAVIS lavis/tasks/vqa.py AOKVQATask; allenai/aokvqa
    eval_predictions.py), no normalisation, no leave-one-out."""
    if not answers:
        raise MetricError("A-OKVQA direct-answer accuracy needs the direct answers")
    if prediction is None:
        return 0.0
    return min(1.0, sum(prediction == a for a in answers) / 3)


def aokvqa_da_accuracy(
    ids: Sequence[str], predictions: Sequence[str | None], answers: Sequence[Sequence[str]]
) -> MetricResult:
    """A-OKVQA direct-answer accuracy x100; a None prediction is a failure scoring 0."""
    return _per_question("aokvqa_da_accuracy", aokvqa_da_score, ids, predictions, answers)


def exact_match(
    ids: Sequence[str], predictions: Sequence[str | None], answers: Sequence[str]
) -> MetricResult:
    """Exact-match accuracy x100: normalised prediction == normalised answer (GQA, OCR-VQA)."""
    ids = check_ids(ids, predictions, answers)
    scores = [
        100.0 * (p is not None and normalize_answer(p) == normalize_answer(a))
        for p, a in zip(predictions, answers, strict=True)
    ]
    return mean_result("exact_match", ids, scores, sum(p is None for p in predictions))


def ivqa_score(prediction: str | None, answers: Sequence[str]) -> float:
    """iVQA accuracy of one prediction in [0, 1]: min(1, n/2), n = answers equal to it."""
    if not answers:
        raise MetricError("iVQA accuracy needs at least one reference answer")
    if prediction is None:
        return 0.0
    pred = normalize_answer(prediction)
    n = sum(normalize_answer(a) == pred for a in answers)
    return min(1.0, n / 2)


def ivqa_accuracy(
    ids: Sequence[str], predictions: Sequence[str | None], answers: Sequence[Sequence[str]]
) -> MetricResult:
    """iVQA accuracy x100 over questions; a None prediction is a failure scoring 0."""
    return _per_question("ivqa_accuracy", ivqa_score, ids, predictions, answers)
