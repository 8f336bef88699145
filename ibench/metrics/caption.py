"""CIDEr-D as in pycocoevalcap: PTB tokenisation (Java), then `Cider().compute_score`.

The point estimate always comes from pycocoevalcap's own `Cider`. Bootstrap resamples need
CIDEr re-scored on each resampled corpus (the IDF comes from the references of the images in
the set), which pure-Python `Cider` does too slowly for 1,000 resamples; `CiderCorpus` computes
exactly the same numbers with numpy from the text tokenised once (checked against `Cider` in the
tests). SPICE is never built and `COCOEvalCap.evaluate()` never called.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ibench.metrics.base import MetricError, MetricResult, Rescorer, check_ids

JAVA_HINT = (
    "CIDEr tokenises text with the Stanford PTB tokenizer of pycocoevalcap, which needs a Java "
    "runtime: install one (e.g. `apt-get install default-jre-headless`) and make sure `java` "
    "is on PATH."
)

# Every character Java or Python may treat as a line break: the PTB tokenizer keeps one output
# line per input line, so a break inside a caption would shift every later caption.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_ELIDED_FRAMES = re.compile(r"\.\.\. \d+ more")  # a Java stack trace's "... 3 more"


def _pycocoevalcap_tokenizer():
    """The pycocoevalcap PTB tokenizer module (its jar and punctuation list), or a clear error."""
    try:
        from pycocoevalcap.tokenizer import ptbtokenizer
    except ImportError as err:  # pragma: no cover - pycocoevalcap is a dependency
        raise MetricError("CIDEr needs pycocoevalcap: pip install pycocoevalcap==1.2") from err
    return ptbtokenizer


def ptb_tokenize(sentences: Sequence[str]) -> list[str]:
    """Tokenise sentences in one Java call exactly as pycocoevalcap's PTBTokenizer does.

    Same jar, flags (`-preserveLines -lowerCase`) and punctuation removal as
    `PTBTokenizer.tokenize`, but with the temporary file in a temporary folder (not inside the
    installed package), line breaks inside a sentence turned into spaces, Java's stderr
    captured, and the output line count checked.
    """
    if not sentences:
        return []
    ptb = _pycocoevalcap_tokenizer()
    java = shutil.which("java")
    if java is None:
        raise MetricError(f"Java runtime not found. {JAVA_HINT}")
    jar = os.path.join(
        os.path.dirname(os.path.abspath(ptb.__file__)), ptb.STANFORD_CORENLP_3_4_1_JAR
    )
    text = "\n".join(_LINE_BREAKS.sub(" ", s) for s in sentences)
    with tempfile.TemporaryDirectory(prefix="ibench-ptb-") as tmp:
        path = os.path.join(tmp, "sentences.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        cmd = [java, "-cp", jar, "edu.stanford.nlp.process.PTBTokenizer"]
        cmd += ["-preserveLines", "-lowerCase", path]
        try:
            proc = subprocess.run(cmd, capture_output=True, check=False)
        except OSError as err:
            raise MetricError(f"could not run Java ({err}). {JAVA_HINT}") from err
    if proc.returncode != 0:
        raise MetricError(f"the PTB tokenizer failed (exit {proc.returncode} from {java}): "
                          f"{java_reason(proc.stderr, proc.stdout)}")
    lines = proc.stdout.decode("utf-8").split("\n")
    if len(lines) < len(sentences) or any(line.strip() for line in lines[len(sentences) :]):
        raise MetricError(
            f"the PTB tokenizer returned {len(lines)} lines for {len(sentences)} sentences"
        )
    punctuation = set(ptb.PUNCTUATIONS)
    return [
        " ".join(w for w in line.rstrip().split(" ") if w not in punctuation)
        for line in lines[: len(sentences)]
    ]


def java_reason(stderr: bytes, stdout: bytes = b"", keep: int = 3) -> str:
    """Why a Java command failed, on one line: the last `keep` lines of its stderr (of its
    stdout when stderr is empty; the JVM prints some start-up errors there), stack frames
    left out so the exception and its cause remain."""
    for stream, name in ((stderr, "stderr"), (stdout, "stdout")):
        lines = [line.strip() for line in stream.decode("utf-8", "replace").splitlines()]
        lines = [line for line in lines if line and not line.startswith("at ")
                 and not _ELIDED_FRAMES.fullmatch(line)]
        if lines:
            return f"Java's {name}: " + " | ".join(line[:500] for line in lines[-keep:])
    return "Java printed nothing on stderr or stdout"


def _ngrams(sentence: str, n: int) -> Counter[tuple[str, ...]]:
    """Counts of the 1..n-grams of a tokenised sentence (pycocoevalcap's `precook`)."""
    words = sentence.split()
    return Counter(
        tuple(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1)
    )


class CiderCorpus:
    """CIDEr-D of any resample of a tokenised corpus, equal to pycocoevalcap's `Cider` on it.

    With w(g) = log(N) - log(max(1, df(g))) >= 0, every term of Cider's clipped cosine is a
    fixed count times w(g)^2, so each image's score is a ratio of sparse dot products with the
    vector w^2: the n-gram tables are built once and a resample costs a few `bincount`s.
    """

    def __init__(
        self,
        candidates: Sequence[str],
        references: Sequence[Sequence[str]],
        n: int = 4,
        sigma: float = 6.0,
    ) -> None:
        if len(candidates) != len(references):
            raise MetricError(f"{len(candidates)} candidates but {len(references)} reference sets")
        self.n = n
        self.n_images = len(candidates)
        index: dict[tuple[str, ...], int] = {}

        def gid(gram: tuple[str, ...]) -> int:
            return index.setdefault(gram, len(index))

        p_img, p_gram = [], []  # which n-grams occur in the references of each image
        a_row, a_gram, a_coef = [], [], []  # candidate norms: tf^2
        b_row, b_gram, b_coef = [], [], []  # reference norms: tf^2
        c_row, c_gram, c_coef = [], [], []  # clipped products: min(tf_c, tf_r) * tf_r
        pair_img, penalty, n_refs = [], [], []
        for i, (cand, refs) in enumerate(zip(candidates, references, strict=True)):
            if not refs:
                raise MetricError("CIDEr needs at least one reference caption per image")
            hyp = _ngrams(cand, n)
            hyp_len = sum(c for g, c in hyp.items() if len(g) == 2)  # Cider's "length": bigrams
            for g, c in hyp.items():
                a_row.append(i * n + len(g) - 1)
                a_gram.append(gid(g))
                a_coef.append(c * c)
            seen: set[int] = set()
            for ref in refs:
                p = len(pair_img)
                ref_counts = _ngrams(ref, n)
                for g, c in ref_counts.items():
                    k = gid(g)
                    seen.add(k)
                    b_row.append(p * n + len(g) - 1)
                    b_gram.append(k)
                    b_coef.append(c * c)
                    if g in hyp:
                        c_row.append(p * n + len(g) - 1)
                        c_gram.append(k)
                        c_coef.append(min(hyp[g], c) * c)
                ref_len = sum(c for g, c in ref_counts.items() if len(g) == 2)
                delta = float(hyp_len - ref_len)
                penalty.append(np.e ** (-(delta**2) / (2 * sigma**2)))
                pair_img.append(i)
            p_img += [i] * len(seen)
            p_gram += sorted(seen)
            n_refs.append(len(refs))
        self.n_grams = len(index)
        self.n_pairs = len(pair_img)
        as_int = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
        as_float = lambda x: np.asarray(x, dtype=float)  # noqa: E731
        self._p_img, self._p_gram = as_int(p_img), as_int(p_gram)
        self._a = (as_int(a_row), as_int(a_gram), as_float(a_coef))
        self._b = (as_int(b_row), as_int(b_gram), as_float(b_coef))
        self._c = (as_int(c_row), as_int(c_gram), as_float(c_coef))
        self._pair_img = as_int(pair_img)
        self._penalty = as_float(penalty)
        self._n_refs = as_float(n_refs)

    def _dots(self, table: tuple[np.ndarray, np.ndarray, np.ndarray], v: np.ndarray, rows: int):
        """Row sums of coef * v[gram] for one sparse table, shaped (rows, n)."""
        row, gram, coef = table
        out = np.bincount(row, weights=coef * v[gram], minlength=rows * self.n)
        return out.reshape(rows, self.n)

    def image_scores(self, multiplicity: np.ndarray) -> np.ndarray:
        """Per-image CIDEr-D (unscaled) in a corpus holding image i `multiplicity[i]` times."""
        m = np.asarray(multiplicity, dtype=float)
        df = np.bincount(self._p_gram, weights=m[self._p_img], minlength=self.n_grams)
        w = np.log(float(m.sum())) - np.log(np.maximum(1.0, df))
        v = w * w
        hyp = np.sqrt(self._dots(self._a, v, self.n_images))[self._pair_img]
        ref = np.sqrt(self._dots(self._b, v, self.n_pairs))
        num = self._dots(self._c, v, self.n_pairs)
        denom = hyp * ref
        val = np.where(denom != 0, num / np.where(denom != 0, denom, 1.0), num)
        val *= self._penalty[:, None]
        per_image = np.stack(
            [
                np.bincount(self._pair_img, weights=val[:, k], minlength=self.n_images)
                for k in range(self.n)
            ],
            axis=1,
        )
        return per_image.mean(axis=1) / self._n_refs * 10.0

    def score(self, indices: np.ndarray) -> float:
        """CIDEr-D x100 of the corpus made of the images at `indices` (repeats allowed)."""
        idx = np.asarray(indices, dtype=np.int64)
        m = np.bincount(idx, minlength=self.n_images)
        return float(100.0 * self.image_scores(m)[idx].mean())


def cider_tokenized(
    ids: Sequence[str],
    candidates: Sequence[str | None],
    references: Sequence[Sequence[str]],
) -> MetricResult:
    """CIDEr-D x100 of already PTB-tokenised text through pycocoevalcap's `Cider`.

    A None candidate is a failure: it is scored as an empty caption (0 for that image) while its
    references stay in the corpus, so the IDF is that of the whole evaluated set.
    """
    ids = check_ids(ids, candidates, references)
    try:
        from pycocoevalcap.cider.cider import Cider
    except ImportError as err:  # pragma: no cover - pycocoevalcap is a dependency
        raise MetricError("CIDEr needs pycocoevalcap: pip install pycocoevalcap==1.2") from err
    cands = ["" if c is None else c for c in candidates]
    refs = [list(r) for r in references]
    for sid, r in zip(ids, refs, strict=True):
        if not r:
            raise MetricError(f"sample {sid!r}: CIDEr needs at least one reference caption")
    gts = dict(zip(ids, refs, strict=True))
    res = {sid: [c] for sid, c in zip(ids, cands, strict=True)}
    value, per_image = Cider().compute_score(gts, res)
    corpus = CiderCorpus(cands, refs)
    return MetricResult(
        name="cider",
        value=float(100.0 * value),
        per_sample={sid: float(100.0 * s) for sid, s in zip(ids, per_image, strict=True)},
        n=len(ids),
        failures=sum(c is None for c in candidates),
        corpus_level=True,
        rescorer=Rescorer(score=corpus.score),
    )


def cider(
    ids: Sequence[str],
    candidates: Sequence[str | None],
    references: Sequence[Sequence[str]],
) -> MetricResult:
    """CIDEr-D x100: one PTB tokenisation of all text, then pycocoevalcap's `Cider`."""
    ids = check_ids(ids, candidates, references)
    sentences: list[str] = []
    for sid, cand, refs in zip(ids, candidates, references, strict=True):
        if not refs:
            raise MetricError(f"sample {sid!r}: CIDEr needs at least one reference caption")
        sentences += [str(r) for r in refs]
        if cand is not None:
            sentences.append(str(cand))
    tokens = iter(ptb_tokenize(sentences))
    tok_refs: list[list[str]] = []
    tok_cands: list[str | None] = []
    for cand, refs in zip(candidates, references, strict=True):
        tok_refs.append([next(tokens) for _ in refs])
        tok_cands.append(None if cand is None else next(tokens))
    return cider_tokenized(ids, tok_cands, tok_refs)
