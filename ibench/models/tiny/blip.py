"""Tiny random-weight InstructBLIP checkpoints, built locally for fast offline tests and demos
(and, through tiny_vlm.py, LLaVA-style and Qwen2-VL-style ones, cached the same way).

`make_tiny` writes a real `InstructBlipForConditionalGeneration` checkpoint (vision encoder,
instruction-aware Q-Former, query tokens, language projection, and a FlanT5-style T5 or a
LLaMA language model) with locally trained tokenizers and an `InstructBlipProcessor`, so the
same loading path serves the tiny and the real models. Same seed, same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from ibench.models.tiny.base import (
    IMAGE_SIZE,
    build_image_processor,
    build_qformer_tokenizer,
    seeded_model,
)
from ibench.models.tiny.lm_tokenizers import declare_class, llama_tokenizer, t5_tokenizer

IMAGE_TOKEN = "<image>"
VICUNA_PAD = "[PAD]"

NUM_QUERY_TOKENS = 16
LM_HIDDEN = 32

BlipKind = Literal["t5", "vicuna"]  # the language model of a tiny InstructBLIP


def build_lm_tokenizer(kind: BlipKind):
    """A fast LM tokenizer: T5-style (a Unigram; pad=0 eos=1 unk=2, ends in </s>) or
    LLaMA-style (a byte-fallback BPE; </s> in front), with the real pipelines (lm_tokenizers.py)."""
    from transformers import PreTrainedTokenizerFast

    if kind == "t5":
        tok = t5_tokenizer()
        names = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}
    elif kind == "vicuna":
        # The Salesforce Vicuna checkpoints' tokenizer, as transformers' conversion script
        # (convert_instructblip_original_to_pytorch.py) builds it following LAVIS: the LLaMA
        # vocabulary (<unk>=0, <s>=1, </s>=2) with bos_token="</s>" and unk_token="</s>", so
        # every prompt starts with </s> (id 2), and an added [PAD] after the vocabulary
        # (id 32000 there, vocabulary 32,001).
        tok = llama_tokenizer()
        names = {"bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>"}
    else:
        raise ValueError(f"unknown tiny kind {kind!r}: expected 't5' or 'vicuna'")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **names)
    if kind == "vicuna":
        fast.add_special_tokens({"pad_token": VICUNA_PAD})
    # transformers' InstructBlipProcessor adds <image> (the query-token placeholder) after the
    # vocabulary when the tokenizer has none; ibench never feeds it (it assembles embeddings).
    fast.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    return fast


def _text_config(kind: BlipKind, vocab_size: int, hidden: int, layers: int):
    """A FlanT5-style T5 (gated-gelu, untied head) or a LLaMA config, tiny."""
    from transformers import LlamaConfig, T5Config

    heads = max(4, hidden // 64)
    if kind == "t5":
        # tie_word_embeddings=False is how transformers 5 spells "no decoder output rescaling"
        # (T5 v1.1 / FlanT5); it ties the head to the embeddings regardless.
        return T5Config(
            vocab_size=vocab_size, d_model=hidden, d_kv=hidden // heads, d_ff=2 * hidden,
            num_layers=layers, num_decoder_layers=layers, num_heads=heads,
            feed_forward_proj="gated-gelu", tie_word_embeddings=False,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, dropout_rate=0.0,
        )
    # The Salesforce Vicuna checkpoints' text_config comes from the LLaMA v1 config that
    # the conversion script loads (decapoda-research/llama-7b-hf, as Vicuna v1.1's own
    # config.json): bos_token_id 0, eos_token_id 1 (that is <s>, not </s>), pad_token_id -1,
    # a known inconsistency (LAVIS issue 509). The tiny model carries it so that tests fail on
    # code that trusts it.
    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=1024, bos_token_id=0, eos_token_id=1, pad_token_id=-1,
        tie_word_embeddings=False, initializer_range=0.2,
    )


def tiny_config(kind: BlipKind, vocab_size: int, image_token_id: int, *, lm_hidden: int = LM_HIDDEN,
                lm_layers: int = 2, num_query_tokens: int = NUM_QUERY_TOKENS):
    """The full InstructBLIP config: tiny ViT, 2-layer Q-Former with cross-attention, tiny LM."""
    from transformers import InstructBlipConfig, InstructBlipQFormerConfig, InstructBlipVisionConfig

    vision = InstructBlipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=IMAGE_SIZE, patch_size=8, initializer_range=0.02,
    )
    qformer = InstructBlipQFormerConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, cross_attention_frequency=2, max_position_embeddings=512,
    )
    return InstructBlipConfig(
        vision_config=vision.to_dict(), qformer_config=qformer.to_dict(),
        text_config=_text_config(kind, vocab_size, lm_hidden, lm_layers).to_dict(),
        num_query_tokens=num_query_tokens, image_token_index=image_token_id,
    )


def build_tiny(kind: BlipKind, seed: int = 0, *, lm_hidden: int = LM_HIDDEN, lm_layers: int = 2,
               num_query_tokens: int = NUM_QUERY_TOKENS):
    """(model, image processor, LM tokenizer, Q-Former tokenizer), in memory, seeded."""
    from transformers import InstructBlipForConditionalGeneration

    lm_tok = build_lm_tokenizer(kind)
    config = tiny_config(kind, len(lm_tok), lm_tok.convert_tokens_to_ids(IMAGE_TOKEN),
                         lm_hidden=lm_hidden, lm_layers=lm_layers,
                         num_query_tokens=num_query_tokens)
    model = seeded_model(InstructBlipForConditionalGeneration, config, seed)
    return model, build_image_processor(), lm_tok, build_qformer_tokenizer()


def tiny_model(kind: BlipKind, seed: int = 0, **sizes: int):
    """A tiny model behind the ibench interface, without touching the disk (for benches)."""
    from ibench.models.instructblip import InstructBlipFamilyModel

    model, image_processor, lm_tok, qformer_tok = build_tiny(kind, seed, **sizes)
    return InstructBlipFamilyModel(model, image_processor, lm_tok, qformer_tok,
                                   name=f"tiny-{kind}-in-memory")


def build_tiny_video(seed: int = 0):
    """(InstructBlipVideoForConditionalGeneration, image processor, LM tokenizer, Q-Former
    tokenizer), in memory, seeded: the tiny Vicuna recipe in transformers' InstructBLIP-Video
    classes, its tokenizer given the `<video>` placeholder as InstructBlipVideoProcessor adds
    it (an added special token after the vocabulary), the config's video_token_index its id."""
    from tokenizers import AddedToken
    from transformers import InstructBlipVideoConfig, InstructBlipVideoForConditionalGeneration

    from ibench.models.blipvideo import VIDEO_TOKEN

    lm_tok = build_lm_tokenizer("vicuna")
    lm_tok.add_tokens([AddedToken(VIDEO_TOKEN, normalized=False, special=True)],
                      special_tokens=True)
    video_id = lm_tok.convert_tokens_to_ids(VIDEO_TOKEN)
    image = tiny_config("vicuna", len(lm_tok), video_id)
    config = InstructBlipVideoConfig(
        vision_config=image.vision_config.to_dict(), qformer_config=image.qformer_config.to_dict(),
        text_config=image.text_config.to_dict(), num_query_tokens=image.num_query_tokens,
        video_token_index=video_id)
    model = seeded_model(InstructBlipVideoForConditionalGeneration, config, seed)
    return model, build_image_processor(), lm_tok, build_qformer_tokenizer()


def _write_tiny_video(out: Path, seed: int) -> None:
    """The tiny InstructBLIP-Video checkpoint as transformers 5 saves one: weights, config,
    tokenizers, and processor_config.json with its video processor (written from the
    settings: transformers' video processor cannot be built without torchvision)."""
    from transformers import GenerationConfig

    from ibench.models.blipvideo import video_processor_config

    model, image_processor, lm_tok, qformer_tok = build_tiny_video(seed)
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model.save_pretrained(out, safe_serialization=True)
    lm_tok.save_pretrained(out)
    declare_class(out, "vicuna")
    qformer_tok.save_pretrained(out / "qformer_tokenizer")
    processor = {"num_query_tokens": model.config.num_query_tokens,
                 "processor_class": "InstructBlipVideoProcessor",
                 "video_processor": video_processor_config(image_processor)}
    (out / "processor_config.json").write_text(json.dumps(processor, indent=2, sort_keys=True)
                                               + "\n")


def write_tiny(kind: str, out: Path, seed: int = 0) -> None:
    """Write a tiny InstructBLIP checkpoint (t5, vicuna) or InstructBLIP-Video one
    (vicuna-video) with its processor into the folder `out`."""
    if kind == "vicuna-video":
        _write_tiny_video(out, seed)
        return
    from transformers import InstructBlipProcessor

    model, image_processor, lm_tok, qformer_tok = build_tiny(kind, seed)  # type: ignore[arg-type]
    if kind == "vicuna":
        # Vicuna v1.1's generation_config.json (LAVIS issue 509): the ids of the tokenizer,
        # </s> = 2, unlike the text_config's eos_token_id 1.
        from transformers import GenerationConfig

        model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model.save_pretrained(out, safe_serialization=True)
    processor = InstructBlipProcessor(
        image_processor=image_processor, tokenizer=lm_tok, qformer_tokenizer=qformer_tok,
        num_query_tokens=model.config.num_query_tokens,
    )
    processor.save_pretrained(out)
    declare_class(out, kind)
