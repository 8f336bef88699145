"""Tiny random-weight LLaVA-1.5-style and Qwen2-VL-style checkpoints, built locally.

Each is a real transformers checkpoint (`LlavaForConditionalGeneration` /
`Qwen2VLForConditionalGeneration`) with a locally trained tokenizer, its processor and the
publisher's chat template, shaped like the published model where it matters to ibench (token ids
after the vocabulary, vision feature layer and strategy, patch and merge sizes, M-RoPE sections
scaled down) and tiny everywhere else. tiny.py writes and caches them; same seed, same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from ibench.models.tiny.base import corpus_lines, seeded_model

VlmKind = Literal["llava", "qwen2vl"]
BASE_VOCAB = 1000  # the tiny BPE vocabulary; the specials follow it, as in the real tokenizers
TEXT_VOCAB = 1024  # the LM's embedding rows: the vocabulary padded up, as both real configs do
# Chat-turn words the InstructBLIP corpus lacks, so the templates do not spell them by letter.
_CHAT_WORDS = ["USER: ASSISTANT: system user assistant You are a helpful assistant."]

# llava-hf/llava-1.5-7b-hf chat_template.json (the template transformers' LlavaProcessor tests
# use too): "USER: <image>\n{prompt} ASSISTANT:".
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "{{ message['role'].upper() + ': '}}{% endif %}"
    "{# Render all images first #}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{# Render all text next #}"
    "{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' '}}{% endfor %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

# Qwen/Qwen2-VL-2B-Instruct chat_template.json.
QWEN2VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Qwen2-VL's added tokens, in their order after the BPE vocabulary (151643 = <|endoftext|> ...
# 151652 = <|vision_start|>, 151653 <|vision_end|>, 151654 <|vision_pad|>, 151655 <|image_pad|>,
# 151656 <|video_pad|> in Qwen/Qwen2-VL-2B-Instruct's tokenizer and config.json).
QWEN2VL_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)

LLAVA_IMAGE_SIZE = 56  # the real 336 scaled down; patch 14 kept: 4 x 4 = 16 image tokens
QWEN2VL_MIN_PIXELS = 56 * 56  # the real min_pixels (3136); max_pixels scaled down from 12845056
QWEN2VL_MAX_PIXELS = 112 * 112


def _train(pre_tokenizer: Any, decoder: Any, specials: list[str], initial: list[str]) -> Any:
    """A BPE of BASE_VOCAB entries trained on the tiny corpus plus the chat words."""
    from tokenizers import Tokenizer, models, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer, tok.decoder = pre_tokenizer, decoder
    trainer = trainers.BpeTrainer(vocab_size=BASE_VOCAB, special_tokens=specials,
                                  initial_alphabet=initial, show_progress=False, min_frequency=1)
    tok.train_from_iterator([*corpus_lines(), *_CHAT_WORDS], trainer=trainer)
    return json.loads(tok.to_str())["model"]


def llava_tokenizer() -> Any:
    """llava-1.5's LlamaTokenizer, tiny: <unk> 0, <s> 1, </s> 2, the 256 byte-fallback tokens,
    merges, BOS added; then <image> (32000 there) and <pad> (32001) after the vocabulary."""
    from tokenizers import decoders, pre_tokenizers
    from transformers import LlamaTokenizer

    byte_tokens = [f"<0x{i:02X}>" for i in range(256)]
    bpe = _train(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
                 decoders.Metaspace(replacement="▁", prepend_scheme="first"),
                 ["<unk>", "<s>", "</s>", *byte_tokens], [])
    tok = LlamaTokenizer(vocab=bpe["vocab"], merges=[tuple(m) for m in bpe["merges"]],
                         add_bos_token=True, legacy=False)
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    tok.add_special_tokens({"pad_token": "<pad>"})
    return tok


def qwen2vl_tokenizer() -> Any:
    """Qwen2's byte-level BPE, tiny, with Qwen2-VL's added tokens after the vocabulary; no BOS,
    eos <|im_end|> and pad <|endoftext|> as in Qwen2-VL-2B-Instruct's tokenizer_config.json."""
    from tokenizers import decoders, pre_tokenizers
    from transformers import Qwen2Tokenizer

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe = _train(byte_level, decoders.ByteLevel(), [], pre_tokenizers.ByteLevel.alphabet())
    tok = Qwen2Tokenizer(vocab=bpe["vocab"], merges=[tuple(m) for m in bpe["merges"]],
                         errors="replace")
    tok.add_special_tokens({"additional_special_tokens": list(QWEN2VL_SPECIALS[1:])})
    tok.add_special_tokens({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
    return tok


def llava_config(tok: Any, lm_hidden: int = 32, lm_layers: int = 2) -> Any:
    """llava-hf/llava-1.5-7b-hf's config.json, tiny: a CLIP ViT (patch 14) whose second-to-last
    layer (vision_feature_layer -2) gives the patch features without CLS ("default"), a GELU
    projector, an untied LLaMA; image_token_index and pad_token_id are the ids after the
    vocabulary (32000 and 32001 there, the text vocabulary padded to 32064)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                              num_attention_heads=4, image_size=LLAVA_IMAGE_SIZE, patch_size=14,
                              projection_dim=32, hidden_act="quick_gelu")
    ids = tok.convert_tokens_to_ids
    heads = max(4, lm_hidden // 64)
    text = LlamaConfig(vocab_size=TEXT_VOCAB, hidden_size=lm_hidden,
                       intermediate_size=2 * lm_hidden, num_hidden_layers=lm_layers,
                       num_attention_heads=heads, num_key_value_heads=heads,
                       max_position_embeddings=1024, rms_norm_eps=1e-5, bos_token_id=1,
                       eos_token_id=2, pad_token_id=ids("<pad>"), tie_word_embeddings=False)
    return LlavaConfig(vision_config=vision.to_dict(), text_config=text.to_dict(),
                       image_token_index=ids("<image>"), pad_token_id=ids("<pad>"),
                       vision_feature_layer=-2, vision_feature_select_strategy="default",
                       projector_hidden_act="gelu", tie_word_embeddings=False)


def qwen2vl_config(tok: Any) -> Any:
    """Qwen/Qwen2-VL-2B-Instruct's config.json, tiny: a 2-block vision transformer with patch
    14, temporal patch 2 and 2x2 merging, a Qwen2 LM with tied embeddings and M-RoPE (sections
    [16, 24, 24] of a 128 head dim there, [2, 3, 3] of 16 here), and the vision token ids."""
    from transformers import Qwen2VLConfig

    ids = tok.convert_tokens_to_ids
    text = dict(vocab_size=TEXT_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                rms_norm_eps=1e-6, tie_word_embeddings=True,
                rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3],
                                 "rope_theta": 1000000.0},
                bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"),
                pad_token_id=ids("<|endoftext|>"))
    vision = dict(depth=2, embed_dim=32, hidden_size=64, num_heads=4, mlp_ratio=2, patch_size=14,
                  temporal_patch_size=2, spatial_merge_size=2)
    return Qwen2VLConfig(
        text_config=text, vision_config=vision, tie_word_embeddings=True,
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )


def llava_processor(tok: Any) -> Any:
    """llava-1.5's processor: CLIP preprocessing (shorter side to the input size, center crop,
    bicubic, OpenAI-CLIP mean/std), patch_size 14, one additional (CLS) token removed by the
    "default" strategy, and the chat template."""
    from transformers import CLIPImageProcessorPil, LlavaProcessor
    from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, PILImageResampling

    size = LLAVA_IMAGE_SIZE
    image = CLIPImageProcessorPil(
        size={"shortest_edge": size}, crop_size={"height": size, "width": size},
        do_center_crop=True, resample=PILImageResampling.BICUBIC, image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD, do_convert_rgb=True)
    return LlavaProcessor(image_processor=image, tokenizer=tok, patch_size=14,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          chat_template=LLAVA_CHAT_TEMPLATE)


def qwen2vl_image_processor() -> Any:
    """Qwen2-VL's image processor: resized to multiples of 28 within the pixel bounds."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    return Qwen2VLImageProcessorPil(min_pixels=QWEN2VL_MIN_PIXELS, max_pixels=QWEN2VL_MAX_PIXELS,
                                    patch_size=14, temporal_patch_size=2, merge_size=2)


def build_tiny_vlm(kind: VlmKind, seed: int = 0, **lm_sizes: int) -> tuple[Any, Any]:
    """(model, tokenizer), in memory, seeded; lm_sizes (lm_hidden, lm_layers): LLaVA only."""
    from transformers import LlavaForConditionalGeneration, Qwen2VLForConditionalGeneration

    if kind == "llava":
        tok = llava_tokenizer()
        config, cls = llava_config(tok, **lm_sizes), LlavaForConditionalGeneration
    elif kind == "qwen2vl":
        tok = qwen2vl_tokenizer()
        config, cls = qwen2vl_config(tok), Qwen2VLForConditionalGeneration
    else:
        raise ValueError(f"unknown tiny vision-language kind {kind!r}")
    return seeded_model(cls, config, seed), tok


def tiny_llava_model(seed: int = 0, **lm_sizes: int) -> Any:
    """A tiny LLaVA-style model behind the ibench interface, without touching the disk."""
    from ibench.models.vlm import VisionLanguageModel

    model, tok = build_tiny_vlm("llava", seed, **lm_sizes)
    return VisionLanguageModel(model, llava_processor(tok), name="tiny-llava-in-memory")


def write_tiny(kind: str, out: Path, seed: int = 0) -> None:
    """Write the checkpoint and its processor files to out.

    Qwen2-VL: transformers' Qwen2VLProcessor cannot be built without torchvision (its video
    processor), so its parts are written one by one (the files the processor would write).
    """
    model, tok = build_tiny_vlm(kind, seed)
    model.save_pretrained(out, safe_serialization=True)
    if kind == "llava":
        llava_processor(tok).save_pretrained(out)
        return
    tok.save_pretrained(out)
    image = qwen2vl_image_processor()
    image_dict = {**image.to_dict(), "image_processor_type": "Qwen2VLImageProcessor"}
    video = {**image_dict, "video_processor_type": "Qwen2VLVideoProcessor"}
    video.pop("image_processor_type")
    processor = {"processor_class": "Qwen2VLProcessor", "image_processor": image_dict,
                 "video_processor": video}
    (out / "processor_config.json").write_text(json.dumps(processor, indent=2) + "\n")
    (out / "chat_template.jinja").write_text(QWEN2VL_CHAT_TEMPLATE)
    config = json.loads((out / "tokenizer_config.json").read_text())
    config["processor_class"] = "Qwen2VLProcessor"
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
