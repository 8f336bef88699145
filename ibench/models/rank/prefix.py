"""A sample's prefix, run once: its key/value cache (or, for T5, its encoder output and the decoder
after its start token) and the log-probabilities of a candidate's first token, which every
candidate of the sample reuses."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from transformers.cache_utils import Cache, DynamicLayer
from transformers.modeling_outputs import BaseModelOutput

# Decoder-only models whose positions come from position_ids alone (rotary), so packing is exact
# (Qwen2-VL's M-RoPE: a text token has the same position on its three axes).
PACKABLE_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen2_vl_text", "qwen2_5_vl_text")


class FrozenPrefixLayer(DynamicLayer):
    """A prefix's keys/values shared by a chunk of candidates: read on each step, never grown.

    `update` returns prefix + new keys without storing them, so a chunk forward holds one
    layer's worth of concatenated keys at a time instead of every layer's.
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        super().__init__()
        self.keys, self.values = keys, values
        self.device = keys.device
        self.is_initialized = True

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prefix keys/values followed by the new ones; the cache itself is left unchanged."""
        keys = torch.cat([self.keys, key_states], dim=-2)
        values = torch.cat([self.values, value_states], dim=-2)
        return keys, values


@dataclass
class PrefixState:
    """What one sample's prefix leaves for its candidates (all tensors have batch size 1)."""

    first_logprobs: torch.Tensor  # (vocab,) fp32: log p(first candidate token | prefix)
    self_kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer, (1, heads, len, head_dim)
    cross_kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # encoder-decoder only
    encoder_states: torch.Tensor | None = None  # (1, len, d_model), encoder-decoder only
    # The position of the first candidate token when it is not the prefix length: Qwen2-VL's
    # M-RoPE gives an image fewer positions than tokens (its rope delta).
    next_position: int | None = None

    @property
    def length(self) -> int:
        """Tokens the candidates attend to: the prefix (decoder-only) or encoder output."""
        if self.encoder_states is not None:
            return int(self.encoder_states.shape[1])
        return int(self.self_kv[0][0].shape[-2])


def cache_kwarg(lm: torch.nn.Module) -> str:
    """The name under which this transformers version takes a KV cache (cache / past_key_values)."""
    params = inspect.signature(lm.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def output_cache(out) -> Cache:
    """The cache of a model output, whatever this transformers version calls it."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def layer_kv(cache: Cache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(keys, values) per layer of a dynamic cache."""
    return [(layer.keys, layer.values) for layer in cache.layers]


@torch.no_grad()
def prefix_state(lm: torch.nn.Module, prefix_embeds: torch.Tensor) -> PrefixState:
    """Run one sample's prefix (len, hidden) once: its cache, and the first-token log-probs."""
    embeds = prefix_embeds.unsqueeze(0)
    if lm.config.is_encoder_decoder:
        encoder_states = lm.get_encoder()(inputs_embeds=embeds).last_hidden_state
        start = torch.tensor([[lm.config.decoder_start_token_id]], device=embeds.device)
        out = lm(encoder_outputs=BaseModelOutput(last_hidden_state=encoder_states),
                 decoder_input_ids=start, use_cache=True)
        cache = output_cache(out)
        return PrefixState(
            first_logprobs=out.logits[0, -1].float().log_softmax(-1),
            self_kv=layer_kv(cache.self_attention_cache),
            cross_kv=layer_kv(cache.cross_attention_cache),
            encoder_states=encoder_states,
        )
    params = inspect.signature(lm.forward).parameters
    kwargs = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    out = lm(inputs_embeds=embeds, use_cache=True, **kwargs)
    return PrefixState(
        first_logprobs=out.logits[0, -1].float().log_softmax(-1),
        self_kv=layer_kv(output_cache(out)),
    )


def decoder_state(last_logits: torch.Tensor, cache: Cache, next_position: int | None = None
                  ) -> PrefixState:
    """The state a decoder-only prefix forward leaves (its last position's logits, its cache),
    for models that run their prefix themselves (vlm.py: image and prompt in one forward)."""
    return PrefixState(first_logprobs=last_logits.float().log_softmax(-1),
                       self_kv=layer_kv(cache), next_position=next_position)


def first_position(state: PrefixState) -> int:
    """The position of a candidate's first token after the prefix."""
    return state.length if state.next_position is None else state.next_position


def packable(lm: torch.nn.Module) -> bool:
    """Whether the packed layout is exact for this LM (rotary positions, a 4D-mask attention)."""
    config = lm.config
    return (
        not config.is_encoder_decoder
        and config.model_type in PACKABLE_MODEL_TYPES
        and getattr(config, "_attn_implementation", "eager") in ("sdpa", "eager")
    )


def tree_layout(lm: torch.nn.Module) -> bool:
    """Whether candidates can go through the trie layout: a decoder-only model whose positions
    come from position_ids alone (rotary), or T5 (its relative position bias is rebuilt from
    each node's position)."""
    config = lm.config
    if config.is_encoder_decoder:
        return config.model_type == "t5"
    return config.model_type in PACKABLE_MODEL_TYPES
