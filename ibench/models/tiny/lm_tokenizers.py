"""The tiny InstructBLIP language models' tokenizers, trained locally with `tokenizers` and laid
out as the real ones, so that transformers 5 treats them as it treats the Salesforce checkpoints:

- LLaMA (Vicuna): a SentencePiece-style BPE with byte fallback, digits split, LLaMA's id layout
  (<unk>=0, <s>=1, </s>=2, the 256 byte tokens <0x00>..<0xFF> at 3..258, then the pieces), and the
  pipeline transformers 4.33's LlamaConverter writes (the "legacy" one LAVIS's slow tokenizer
  matches): normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer; saved as a
  `LlamaTokenizer`, which transformers 5 rebuilds (normalizer None, Metaspace "first").
- T5 (FlanT5): a Unigram with T5's ids (<pad>=0, </s>=1, <unk>=2, "▁"=3) and the pipeline
  4.33's SpmConverter writes: normalizer [NFKC and tabs/line breaks to spaces (standing in for
  SentencePiece's nmt_nfkc Precompiled charsmap, which only the sentencepiece trainer can
  make), Replace(/ {2,}/, " ")],
  pre-tokenizer Metaspace("▁", always, split) without whitespace pre-splitting; saved as a
  `T5Tokenizer`, which transformers 5 rebuilds (WhitespaceSplit + Metaspace).

ibench's rank and generate paths never use transformers' rebuilt pipelines for these families
(models/lavis_tokens.py); these files let the tests show it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ibench.models.tiny.base import corpus_lines

# Accented letters the T5 vocabulary learns (SentencePiece keeps every character of its corpus).
_T5_ALPHABET = list("éèêàâçüöäñïô")


def llama_tokenizer(vocab_size: int = 1000) -> Any:
    """A LLaMA-style BPE: byte fallback, LLaMA's id layout, 4.33's legacy pipeline, bos `</s>`
    in front of every text (the Salesforce Vicuna checkpoints' post-processor)."""
    import tokenizers as tk

    specials = ["<unk>", "<s>", "</s>"]
    # Merges learned inside words, as SentencePiece never merges across a word boundary ...
    trainer_tok = tk.Tokenizer(tk.models.BPE(unk_token="<unk>"))
    trainer_tok.pre_tokenizer = tk.pre_tokenizers.Sequence([  # and digits one by one, as LLaMA's
        tk.pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        tk.pre_tokenizers.Digits(individual_digits=True)])
    trainer_tok.train_from_iterator(corpus_lines(), tk.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, min_frequency=1, show_progress=False))
    learned = json.loads(trainer_tok.to_str())["model"]
    # ... then the vocabulary laid out as LLaMA's: specials, 256 byte tokens, pieces.
    vocab = {token: i for i, token in enumerate(specials)}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for piece, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]):
        vocab.setdefault(piece, len(vocab))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    tok = tk.Tokenizer(tk.models.BPE(vocab=vocab, merges=merges, unk_token="<unk>",
                                     fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens([tk.AddedToken(s, normalized=False) for s in specials])
    tok.normalizer = tk.normalizers.Sequence([
        tk.normalizers.Prepend("▁"), tk.normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None
    tok.decoder = tk.decoders.Sequence([
        tk.decoders.Replace("▁", " "), tk.decoders.ByteFallback(), tk.decoders.Fuse(),
        tk.decoders.Strip(" ", 1, 0)])
    tok.post_processor = tk.processors.TemplateProcessing(
        single="</s> $A", pair="</s> $A </s> $B", special_tokens=[("</s>", 2)])
    return tok


def t5_tokenizer(vocab_size: int = 1000) -> Any:
    """A T5-style Unigram: T5's special ids, 4.33's SpmConverter pipeline, `</s>` closing every
    text."""
    import tokenizers as tk

    trainer_tok = tk.Tokenizer(tk.models.Unigram())
    trainer_tok.normalizer = tk.normalizers.Sequence([
        tk.normalizers.NFKC(), tk.normalizers.Replace(tk.Regex("[\t\n\r\f\v]"), " "),  # as nmt_nfkc
        tk.normalizers.Replace(tk.Regex(" {2,}"), " ")])
    trainer_tok.pre_tokenizer = tk.pre_tokenizers.Metaspace(replacement="▁",
                                                         prepend_scheme="always", split=True)
    specials = ["<pad>", "</s>", "<unk>"]
    trainer_tok.train_from_iterator(corpus_lines(), tk.trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>",
        initial_alphabet=["▁", *_T5_ALPHABET], show_progress=False))
    # The trainer's last digits of scores, and its order of the single characters it must
    # keep, change from run to run: lay the vocabulary out again (T5's: specials, "▁" = 3,
    # then by score) with rounded scores and one score for every single character (below any
    # learned piece), so the same recipe writes the same bytes.
    learned = dict(json.loads(trainer_tok.to_str())["model"]["vocab"])
    floor = round(min(learned.values()), 6) - 1.0
    rest = sorted((floor if len(piece) == 1 else round(score, 6), piece)
                  for piece, score in learned.items() if piece not in specials and piece != "▁")
    vocab = [(piece, 0.0) for piece in specials] + [("▁", round(learned["▁"], 6))]
    vocab += [(piece, score) for score, piece in sorted(rest, key=lambda sp: (-sp[0], sp[1]))]
    tok = tk.Tokenizer(tk.models.Unigram(vocab, unk_id=2, byte_fallback=False))
    tok.add_special_tokens(specials)
    tok.normalizer = trainer_tok.normalizer
    tok.pre_tokenizer = trainer_tok.pre_tokenizer
    tok.decoder = tk.decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = tk.processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    return tok


# tokenizer_config.json entries of the published checkpoints (tokenizer_class as uploaded;
# extra_ids 0: the tiny T5 has no sentinel tokens)
SAVED_AS = {
    "vicuna": {"tokenizer_class": "LlamaTokenizer", "truncation_side": "left"},
    "t5": {"tokenizer_class": "T5Tokenizer", "truncation_side": "left", "extra_ids": 0},
}


def declare_class(folder: Path, kind: str) -> None:
    """Rewrite a saved tokenizer_config.json with the published checkpoints' class (transformers
    5 saves a tokenizer built from a `tokenizers` object as TokenizersBackend, which it would
    load verbatim, unlike the real checkpoints)."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(SAVED_AS["t5" if kind == "t5" else "vicuna"])
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
