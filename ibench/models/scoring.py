"""Candidate scoring with a shared prefix: the language-model half of `rank`.

The naive way (LAVIS on Vicuna) runs the whole LLM once per candidate over
[query tokens, prompt, candidate]. Here the prefix runs once per sample (`prefix_state`): its
key/value cache and its last logits, which score every candidate's first token. Only tokens
0..n-2 of a candidate are then fed (the last token's output predicts nothing we need), in one
of two layouts:

- packed (decoder-only LLaMA-family models): a chunk's candidates are laid end to end in ONE
  row after the cached prefix, each with its own positions (prefix length + 0, 1, ...) and a
  block-diagonal causal mask, so a candidate sees the prefix and its own earlier tokens only.
  No padding, and the prefix keys/values are read in place, never copied per candidate.
- expanded (encoder-decoder, and other decoder-only models): one row per candidate, right
  padded, attending to the prefix cache expanded across the chunk. For T5 the "prefix" is the
  decoder after its start token: self-attention over that one token, cross-attention over the
  encoder output (keys/values computed once). Candidates are sorted by length and grouped so
  padding stays under a quarter of the fed tokens; pads come after the real tokens, so under
  the causal mask they change nothing before them.

Other vision-language models (vlm.py) run their prefix themselves, image and prompt in one
forward of the whole model (`decoder_state`), and their candidates through the same layouts,
starting at the position after the prompt's (`PrefixState.next_position`: Qwen2-VL's M-RoPE
gives an image fewer positions than tokens).

Scores are summed token log-probabilities in fp32, no length normalisation.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from transformers.cache_utils import Cache, DynamicLayer, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput

CPU_BUDGET_BYTES = 1 << 30
CUDA_BUDGET_SHARE = 0.4
PAD_SLACK = 0.25  # padding allowed in an expanded chunk, as a share of its real (fed) tokens
MIN_ROWS = 16  # rows an expanded chunk reaches before padding alone may close it
MAX_PACKED_TOKENS = 4096  # fed tokens per packed forward at most (the mask is quadratic)
# Decoder-only models whose positions come from position_ids alone (rotary), so packing is exact
# (Qwen2-VL's M-RoPE: a text token has the same position on its three axes).
PACKABLE_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen2_vl_text", "qwen2_5_vl_text")


class _FrozenPrefixLayer(DynamicLayer):
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


def _cache_kwarg(lm: torch.nn.Module) -> str:
    """The name under which this transformers version takes a KV cache (cache / past_key_values)."""
    params = inspect.signature(lm.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _output_cache(out) -> Cache:
    """The cache of a model output, whatever this transformers version calls it."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _layer_kv(cache: Cache) -> list[tuple[torch.Tensor, torch.Tensor]]:
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
        cache = _output_cache(out)
        return PrefixState(
            first_logprobs=out.logits[0, -1].float().log_softmax(-1),
            self_kv=_layer_kv(cache.self_attention_cache),
            cross_kv=_layer_kv(cache.cross_attention_cache),
            encoder_states=encoder_states,
        )
    params = inspect.signature(lm.forward).parameters
    kwargs = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    out = lm(inputs_embeds=embeds, use_cache=True, **kwargs)
    return PrefixState(
        first_logprobs=out.logits[0, -1].float().log_softmax(-1),
        self_kv=_layer_kv(_output_cache(out)),
    )


def decoder_state(last_logits: torch.Tensor, cache: Cache, next_position: int | None = None
                  ) -> PrefixState:
    """The state a decoder-only prefix forward leaves (its last position's logits, its cache),
    for models that run their prefix themselves (vlm.py: image and prompt in one forward)."""
    return PrefixState(first_logprobs=last_logits.float().log_softmax(-1),
                       self_kv=_layer_kv(cache), next_position=next_position)


def _first_position(state: PrefixState) -> int:
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


# ---- packed layout (decoder-only) ---------------------------------------------------------------


@torch.no_grad()
def _score_packed(lm: torch.nn.Module, state: PrefixState, rows: list[list[int]]) -> list[float]:
    """Summed log-likelihoods of token rows fed end to end in one sequence after the prefix."""
    device = state.first_logprobs.device
    total = state.first_logprobs[torch.tensor([r[0] for r in rows], device=device)]
    fed = [r[:-1] for r in rows]
    if not any(fed):
        return total.tolist()
    prefix_len = state.length
    tokens = torch.tensor([t for f in fed for t in f], device=device)
    targets = torch.tensor([t for r in rows for t in r[1:]], device=device)
    segment = torch.tensor([k for k, f in enumerate(fed) for _ in f], device=device)
    start = _first_position(state)
    positions = torch.tensor([start + j for f in fed for j in range(len(f))], device=device)
    own = (segment[:, None] == segment[None, :]) & (positions[:, None] >= positions[None, :])
    allowed = torch.cat([own.new_ones(len(tokens), prefix_len), own], dim=1)
    dtype = lm.get_input_embeddings().weight.dtype
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
    mask = mask.masked_fill(~allowed, torch.finfo(dtype).min)[None, None]
    cache = Cache(layers=[_FrozenPrefixLayer(k, v) for k, v in state.self_kv])
    out = lm(input_ids=tokens[None], position_ids=positions[None], attention_mask=mask,
             use_cache=True, **{_cache_kwarg(lm): cache})
    logits = out.logits[0].float()
    token_lp = logits.gather(-1, targets[:, None]).squeeze(-1) - logits.logsumexp(-1)
    return (total + torch.zeros_like(total).index_add_(0, segment, token_lp)).tolist()


def packed_groups(lengths: Sequence[int], chunk_size: int | None, max_tokens: int
                  ) -> list[list[int]]:
    """Candidate indices per packed forward: up to chunk_size candidates (if given), else up to
    max_tokens fed tokens, in input order."""
    groups: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for i, n in enumerate(lengths):
        full = len(current) >= chunk_size if chunk_size else tokens + n - 1 > max_tokens
        if current and full:
            groups.append(current)
            current, tokens = [], 0
        current.append(i)
        tokens += n - 1
    if current:
        groups.append(current)
    return groups


# ---- expanded layout (encoder-decoder, other decoder-only) --------------------------------------


def _expanded(kv: list[tuple[torch.Tensor, torch.Tensor]], n: int) -> Cache:
    """A cache of frozen prefix layers, each expanded (as a view) to a chunk of n candidates."""
    layers = [_FrozenPrefixLayer(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in kv]
    return Cache(layers=layers)


def _pad(rows: Sequence[Sequence[int]], width: int, pad_id: int, device) -> torch.Tensor:
    """Right-pad token rows to a (len(rows), width) long tensor."""
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out.to(device)


@torch.no_grad()
def _chunk_logits(lm: torch.nn.Module, state: PrefixState, tokens: torch.Tensor) -> torch.Tensor:
    """Logits after each fed candidate token (n, width, vocab), attending to the shared prefix."""
    n = tokens.shape[0]
    key = _cache_kwarg(lm)
    if state.encoder_states is None:
        extra = {}
        if state.next_position is not None:  # positions the LM cannot derive from the cache
            extra["position_ids"] = (state.next_position + torch.arange(
                tokens.shape[1], device=tokens.device)).expand(n, -1)
        out = lm(input_ids=tokens, use_cache=True, **{key: _expanded(state.self_kv, n)}, **extra)
        return out.logits
    cache = EncoderDecoderCache(_expanded(state.self_kv, n), _expanded(state.cross_kv, n))
    encoder = BaseModelOutput(last_hidden_state=state.encoder_states.expand(n, -1, -1))
    out = lm(encoder_outputs=encoder, decoder_input_ids=tokens, use_cache=True, **{key: cache})
    return out.logits


@torch.no_grad()
def _score_expanded(lm: torch.nn.Module, state: PrefixState, rows: list[list[int]], pad_id: int
                    ) -> list[float]:
    """Summed log-likelihood of each token row, one padded row per candidate."""
    device = state.first_logprobs.device
    firsts = torch.tensor([r[0] for r in rows], device=device)
    total = state.first_logprobs[firsts]
    width = max(len(r) for r in rows) - 1
    if width > 0:
        fed = _pad([r[:-1] for r in rows], width, pad_id, device)
        targets = _pad([r[1:] for r in rows], width, pad_id, device)
        mask = _pad([[1] * (len(r) - 1) for r in rows], width, 0, device).bool()
        logits = _chunk_logits(lm, state, fed).float()
        token_lp = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)
        total = total + token_lp.masked_fill(~mask, 0.0).sum(-1)
    return total.tolist()


def length_chunks(lengths: Sequence[int], chunk_size: int, slack: float = PAD_SLACK,
                  min_rows: int = MIN_ROWS) -> list[list[int]]:
    """Candidate indices grouped for padded forwards: sorted by length, at most chunk_size per
    group, and a new group started once padding would exceed `slack` of the fed tokens (but not
    before min_rows rows, so short candidates do not each get a forward of their own)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    groups: list[list[int]] = []
    current: list[int] = []
    fed = 0
    for i in order:
        width = lengths[i] - 1  # every row of a group is padded to its longest (the last)
        too_padded = (len(current) + 1) * width > (1 + slack) * (fed + width)
        if current and (len(current) >= chunk_size or (len(current) >= min_rows and too_padded)):
            groups.append(current)
            current, fed = [], 0
        current.append(i)
        fed += width
    if current:
        groups.append(current)
    return groups


# ---- memory budget --------------------------------------------------------------------------


def _text_dims(config) -> tuple[int, int, int, int]:
    """(hidden, heads, vocab, ffn) of a text config, T5 or decoder-only naming."""
    hidden = getattr(config, "d_model", None) or config.hidden_size
    heads = getattr(config, "num_heads", None) or config.num_attention_heads
    ffn = getattr(config, "d_ff", None) or getattr(config, "intermediate_size", 4 * hidden)
    return hidden, heads, config.vocab_size, ffn


def _budget(lm: torch.nn.Module, budget_bytes: int | None) -> tuple[int, int]:
    """(bytes the candidates may use, bytes per model-dtype element)."""
    param = next(lm.parameters())
    if budget_bytes is None:
        if param.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(param.device)
            budget_bytes = int(free * CUDA_BUDGET_SHARE)
        else:
            budget_bytes = CPU_BUDGET_BYTES
    return budget_bytes, param.element_size()


def _token_bytes(lm: torch.nn.Module, keys: int, elt: int) -> int:
    """Working memory of one fed token: activations, logits, and its row of attention over
    `keys` keys (scores in fp32 for every head, the additive mask)."""
    hidden, heads, vocab, ffn = _text_dims(lm.config)
    return (hidden * 8 + ffn * 3) * elt + vocab * (elt + 8) + keys * (4 * heads + elt)


def auto_chunk_size(lm: torch.nn.Module, prefix_len: int, max_len: int, n: int,
                    budget_bytes: int | None = None) -> int:
    """Padded rows per forward that fit a memory budget (40% of free GPU memory, 1 GiB on CPU)."""
    budget, elt = _budget(lm, budget_bytes)
    hidden = _text_dims(lm.config)[0]
    width = max(max_len, 1)
    keys = prefix_len + width
    per_row = 4 * keys * hidden * elt + width * _token_bytes(lm, keys, elt)  # + one layer's K/V
    return max(1, min(n, budget // per_row))


def auto_packed_tokens(lm: torch.nn.Module, prefix_len: int, budget_bytes: int | None = None
                       ) -> int:
    """Fed tokens per packed forward that fit the memory budget (at most MAX_PACKED_TOKENS)."""
    budget, elt = _budget(lm, budget_bytes)
    per_token = _token_bytes(lm, prefix_len + MAX_PACKED_TOKENS, elt)
    return max(1, min(MAX_PACKED_TOKENS, budget // per_token))


# ---- entry point ----------------------------------------------------------------------------


def score_candidates(lm: torch.nn.Module, state: PrefixState, candidates: Sequence[Sequence[int]],
                     chunk_size: int | None, pad_id: int, packed: bool | None = None
                     ) -> list[float]:
    """Summed log-likelihood of each candidate's token ids after the prefix.

    chunk_size: candidates per forward (None: sized from the memory budget). packed: force a
    layout (None: packed where exact, see `packable`).
    """
    if any(len(c) == 0 for c in candidates):
        raise ValueError("a candidate tokenizes to no tokens; empty candidates cannot be ranked")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    rows = [list(c) for c in candidates]
    lengths = [len(r) for r in rows]
    if packable(lm) if packed is None else packed:
        groups = packed_groups(lengths, chunk_size, auto_packed_tokens(lm, state.length))
        score = _score_packed
    else:
        if chunk_size is None:
            chunk_size = auto_chunk_size(lm, state.length, max(lengths) - 1, len(rows))
        groups = length_chunks(lengths, chunk_size)
        score = partial(_score_expanded, pad_id=pad_id)

    scores = [0.0] * len(rows)
    for idx in groups:
        for i, value in zip(idx, score(lm, state, [rows[i] for i in idx]), strict=True):
            scores[i] = value
    return scores
