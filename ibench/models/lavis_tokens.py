"""The language model's token ids as LAVIS's tokenizers gave them under transformers 4.28-4.33,
whatever transformers 5 release is installed.

The paper's numbers come from LAVIS (salesforce/LAVIS, requirements.txt: transformers 4.33.2):
- Vicuna: `LlamaTokenizer.from_pretrained(llm_model, use_fast=False, truncation_side="left")`
  (lavis/models/blip2_models/blip2_vicuna_instruct.py, line 90), the slow SentencePiece
  tokenizer in its legacy mode (4.33 tokenization_llama.py: `legacy=None` means True, and
  `tokenize` hands the text to `sp_model.encode`): SentencePiece's dummy prefix puts a `▁` in
  front of every text and every space becomes `▁`, so `' yes'` is [▁, ▁yes]. 4.33's own fast
  conversion of it (convert_slow_tokenizer.py, LlamaConverter) is the pipeline rebuilt here:
  normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], no pre-tokenizer, BPE with byte
  fallback. Specials as 4.33's `build_inputs_with_special_tokens`: [bos] if add_bos_token
  (default True) ... [eos] if add_eos_token (default False); the Salesforce checkpoints' bos is
  `</s>` (tokenizer_config.json).
- FlanT5: `T5TokenizerFast.from_pretrained(t5_model, truncation_side=...)`
  (blip2_t5_instruct.py, lines 89-90), which runs the checkpoint's tokenizer.json as written:
  4.x's SpmConverter pipeline, normalizer Sequence[Precompiled(charsmap), Replace(/ {2,}/, " ")]
  and a bare Metaspace("▁", add_prefix_space) pre-tokenizer (no whitespace pre-splitting), so a
  trailing space keeps its own `▁` (`'yes '` is [yes, ▁, </s>]); the post-processor adds `</s>`.

transformers 5 rebuilds both pipelines when it loads these classes (5.x LlamaTokenizer: no
normalizer, Metaspace prepend "first", which skips the `▁` of a text that starts with a space;
T5Tokenizer: WhitespaceSplit + Metaspace, which drops a trailing lone `▁`), and keeps only the
vocabulary, merges and post-processor from tokenizer.json. So ibench encodes with a private
`tokenizers.Tokenizer` made from the checkpoint's own tokenizer.json and given the 4.33 pipeline.
The Q-Former's BERT tokenizer is unaffected (5.x BertTokenizer gives 4.33's ids) and is not
touched; nor is decoding (generated ids to text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ibench.models.base import ModelLoadError

LavisFamily = Literal["llama", "t5"]

# the language models' config model_types LAVIS ran (each names its tokenizer's family)
LAVIS_FAMILIES: tuple[LavisFamily, ...] = ("llama", "t5")

PIPELINES: dict[LavisFamily, str] = {
    "llama": "LAVIS's slow LlamaTokenizer (transformers 4.33, legacy SentencePiece): "
             "normalizer Prepend('▁') + Replace(' ', '▁'), no pre-tokenizer",
    "t5": "LAVIS's T5TokenizerFast (transformers 4.33): the checkpoint's tokenizer.json, "
          "normalizer + Replace(/ {2,}/, ' '), Metaspace without whitespace splitting",
}


@dataclass(frozen=True)
class LavisTokens:
    """Texts to ids as LAVIS's tokenizer did: `encode(text)` with its special tokens."""

    family: LavisFamily
    backend: Any  # tokenizers.Tokenizer with the 4.33 pipeline, no truncation or padding
    prefix: tuple[int, ...]  # what add_special_tokens puts in front (Vicuna: </s>)
    suffix: tuple[int, ...]  # and after (FlanT5: </s>)
    source: str  # where the vocabulary and pipeline came from

    def encode(self, text: str, special_tokens: bool = True) -> list[int]:
        """The ids of one text: never stripped, truncated or padded."""
        ids = self.backend.encode(text, add_special_tokens=False).ids
        return [*self.prefix, *ids, *self.suffix] if special_tokens else ids

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the LM tokenizer."""
        return {"reproduces": PIPELINES[self.family], "special_prefix": list(self.prefix),
                "special_suffix": list(self.suffix), "source": self.source}


def _normalizer_items(spec: dict | None) -> list[dict]:
    if not spec:
        return []
    return list(spec["normalizers"]) if spec.get("type") == "Sequence" else [spec]


def _t5_pipeline(spec: dict) -> tuple[dict | None, dict | None]:
    """(normalizer, pre-tokenizer) JSON of T5TokenizerFast under 4.33: a 4.x file's own bare
    Metaspace pipeline as written; otherwise (a file re-saved by transformers 5, with
    WhitespaceSplit and without the Replace) 4.33 SpmConverter's, on the file's normalizer."""
    pre = spec.get("pre_tokenizer")
    if pre and pre.get("type") == "Metaspace":
        return spec.get("normalizer"), pre
    items = _normalizer_items(spec.get("normalizer"))
    collapse = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
    if collapse not in items:
        items.append(collapse)
    metaspace = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                 "split": True}
    return {"type": "Sequence", "normalizers": items}, metaspace


def _llama_pipeline(spec: dict) -> tuple[dict | None, dict | None]:
    """(normalizer, pre-tokenizer) of 4.33's LlamaConverter: the legacy SentencePiece way,
    whatever the file says (a file re-saved by transformers 5 has no normalizer)."""
    return {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
    ]}, None


def build_lavis_tokens(family: LavisFamily, tokenizer_json: str, tokenizer_config: dict,
                       loaded: Any, source: str) -> LavisTokens:
    """A LavisTokens from a tokenizer.json text and tokenizer_config.json values; `loaded` is
    transformers' tokenizer of the same checkpoint (its added tokens must have the same ids)."""
    from tokenizers import AddedToken, Tokenizer

    spec = json.loads(tokenizer_json)
    normalizer, pre = (_llama_pipeline if family == "llama" else _t5_pipeline)(spec)
    spec.update(normalizer=normalizer, pre_tokenizer=pre, post_processor=None,
                truncation=None, padding=None)
    backend = Tokenizer.from_str(json.dumps(spec))
    for tid, added in sorted(getattr(loaded, "added_tokens_decoder", {}).items()):
        content = getattr(added, "content", str(added))
        if backend.token_to_id(content) is None:  # added after the file was written
            backend.add_special_tokens([AddedToken(content, special=True, normalized=False)])
        if backend.token_to_id(content) != tid:
            raise ModelLoadError(f"{source}: token {content!r} is id {tid} in the loaded "
                                 f"tokenizer but {backend.token_to_id(content)} in tokenizer.json")

    def special(key: str) -> int:
        value = tokenizer_config.get(key)
        content = value.get("content") if isinstance(value, dict) else value
        content = content or getattr(loaded, key, None)
        tid = backend.token_to_id(content) if isinstance(content, str) else None
        if tid is None:
            raise ModelLoadError(f"{source}: the {key} {content!r} is not in the vocabulary")
        return tid

    if family == "llama":
        prefix = (special("bos_token"),) if tokenizer_config.get("add_bos_token", True) else ()
        suffix = (special("eos_token"),) if tokenizer_config.get("add_eos_token", False) else ()
    else:
        prefix, suffix = (), (special("eos_token"),)
    return LavisTokens(family, backend, prefix, suffix, source)


def lavis_tokens_for(model_type: str, folder: Path, loaded: Any) -> LavisTokens | None:
    """The LAVIS-way tokenizer of a checkpoint folder whose language model is LLaMA or T5
    (None for another language model: transformers' tokenizer is used as it is). The folder
    must ship tokenizer.json, as the Salesforce checkpoints do."""
    if model_type not in LAVIS_FAMILIES:
        return None
    family: LavisFamily = model_type  # type: ignore[assignment]
    path = folder / "tokenizer.json"
    try:
        text = path.read_text(encoding="utf-8")
        config_path = folder / "tokenizer_config.json"
        config = (json.loads(config_path.read_text(encoding="utf-8"))
                  if config_path.is_file() else {})
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: missing; ibench tokenizes as LAVIS did from the "
                             "checkpoint's tokenizer.json (the Salesforce checkpoints ship "
                             "one)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"{folder}: cannot read the tokenizer files: {exc}") from exc
    return build_lavis_tokens(family, text, config, loaded, str(path))


def lavis_tokens_in_memory(model_type: str, loaded: Any) -> LavisTokens | None:
    """The same for a tokenizer built in memory (tiny benches): its own pipeline's vocabulary."""
    if model_type not in LAVIS_FAMILIES:
        return None
    family: LavisFamily = model_type  # type: ignore[assignment]
    config = {"add_bos_token": True} if family == "llama" else {}
    return build_lavis_tokens(family, loaded.backend_tokenizer.to_str(), config, loaded,
                              "in-memory tokenizer")
