"""Forwards in which each batch row attends to its own keys only, as if it ran alone.

Several samples' candidate tokens go through the language model together (one row per sample
chunk, right-padded), but each row has its own prefix cache, its own length and its own mask
(and, for T5, its own position bias). The cache layers here hand HF's attention modules a
`Rows` object instead of a key tensor, and the attention function registered here
(`ROWS_ATTENTION`) runs HF's own SDPA call once per row on exactly the tensors that row would
have alone: its real query tokens, its prefix keys followed by its own new keys, its mask. The
other rows, and the padding, never enter a row's attention, so its numbers do not depend on
them; the rest of the model is row-wise (projections, norms, MLP, LM head).

The attention function is switched on only for the duration of such a forward
(`rows_attention`), on every config of the model, and delegates to SDPA for anything else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from transformers import AttentionInterface, PretrainedConfig
from transformers.cache_utils import DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward

ROWS_ATTENTION = "ibench_rows"


class Rows:
    """Per-row keys and values (batch size 1 each), real query lengths, masks and biases."""

    def __init__(self, keys: Sequence[torch.Tensor], values: Sequence[torch.Tensor],
                 lengths: Sequence[int], masks: Sequence[torch.Tensor | None],
                 biases: Sequence[torch.Tensor | None]) -> None:
        self.keys, self.values = list(keys), list(values)
        self.lengths, self.masks, self.biases = list(lengths), list(masks), list(biases)
        first = self.keys[0]
        # What HF code reads off a key tensor (T5 sizes its unused zero bias from it).
        self.shape = (len(self.keys), first.shape[1], max(k.shape[-2] for k in self.keys),
                      first.shape[-1])

    def numel(self) -> int:
        """Non-zero, so HF code sees an initialized cache."""
        return 1


class RowsLayer(DynamicLayer):
    """One layer's cache for a rows forward: each row's prefix keys/values, never grown.

    Self-attention (`grow=True`): `update` returns, per row, its prefix followed by its own new
    keys (its real tokens only). Cross-attention (`grow=False`): `keys`/`values` are the rows'
    encoder keys/values, which HF's T5 reads in place of computing them.
    """

    def __init__(self, prefix: Sequence[tuple[torch.Tensor, torch.Tensor]], lengths: Sequence[int],
                 masks: Sequence[torch.Tensor | None], biases: Sequence[torch.Tensor | None],
                 grow: bool) -> None:
        super().__init__()
        self.prefix, self.lengths, self.grow = list(prefix), list(lengths), grow
        self.masks, self.biases = masks, biases
        self.device = prefix[0][0].device
        self.is_initialized = True
        rows = Rows([k for k, _ in prefix], [v for _, v in prefix], lengths, masks, biases)
        self.keys = self.values = rows
        self._seen = int(prefix[0][0].shape[-2])

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
               ) -> tuple[Rows, Rows]:
        """Per row: prefix keys/values, then the row's real new ones; the cache is unchanged."""
        if not self.grow:
            return self.keys, self.values
        keys = [torch.cat([k, key_states[b:b + 1, :, :n]], dim=-2)
                for b, ((k, _), n) in enumerate(zip(self.prefix, self.lengths, strict=True))]
        values = [torch.cat([v, value_states[b:b + 1, :, :n]], dim=-2)
                  for b, ((_, v), n) in enumerate(zip(self.prefix, self.lengths, strict=True))]
        rows = Rows(keys, values, self.lengths, self.masks, self.biases)
        return rows, rows

    def get_seq_length(self) -> int:
        """The first row's prefix length (T5's decoder: its start token; positions and masks
        never come from it in a rows forward)."""
        return self._seen

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        """Unused (a rows forward builds no HF mask); the first row's sizes."""
        return self._seen + query_length, 0


def rows_attention_forward(module: torch.nn.Module, query: torch.Tensor, key, value,
                           attention_mask: torch.Tensor | None, dropout: float = 0.0,
                           scaling: float | None = None, position_bias: torch.Tensor | None = None,
                           **kwargs) -> tuple[torch.Tensor, None]:
    """SDPA per row for `Rows` keys (each row alone); plain SDPA otherwise."""
    if not isinstance(key, Rows):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, position_bias=position_bias, **kwargs)
    batch, heads, width, dim = query.shape
    out = query.new_zeros(batch, width, heads, dim)
    for b, n in enumerate(key.lengths):
        q = query[b:b + 1, :, :n].contiguous()
        o, _ = sdpa_attention_forward(module, q, key.keys[b], key.values[b], key.masks[b],
                                      dropout=0.0, scaling=scaling, is_causal=False,
                                      position_bias=key.biases[b])
        out[b, :n] = o[0]
    return out, None


AttentionInterface.register(ROWS_ATTENTION, rows_attention_forward)


@contextmanager
def rows_attention(lm: torch.nn.Module) -> Iterator[None]:
    """The rows attention on every config the model's modules read, for one forward."""
    configs = {id(c): c for c in (getattr(m, "config", None) for m in lm.modules())
               if isinstance(c, PretrainedConfig)}
    saved = [(c, c._attn_implementation_internal) for c in configs.values()]
    try:
        for config, _ in saved:
            config._attn_implementation_internal = ROWS_ATTENTION
        yield
    finally:
        for config, previous in saved:
            config._attn_implementation_internal = previous
