"""One prompt prefill per beam search for decoder-only models.

transformers' `generate` repeats the prompt embeddings to batch x num_beams rows before its
first forward, so with 5 beams the visual prefix and the prompt run through the language model
five times over. Here they run once per prompt: the cache of every column but the last, repeated
to the beams (rows b, b, ..., as generate lays them out), is handed to `generate`, which then
feeds only the last column. Positions follow the attention mask as generate derives them
(cumsum - 1 over left pads), so each beam sees what it would have seen.
"""

from __future__ import annotations

import inspect

import torch
from transformers.cache_utils import Cache


@torch.no_grad()
def prefill_for_beams(lm: torch.nn.Module, embeds: torch.Tensor, mask: torch.Tensor,
                      num_beams: int) -> Cache | None:
    """The prompt's cache without its last column, computed once and repeated to num_beams
    rows per prompt; None where there is nothing to save (one beam, a one-column prompt)."""
    if num_beams <= 1 or embeds.shape[1] < 2:
        return None
    head = mask[:, :-1]
    positions = (head.long().cumsum(-1) - 1).masked_fill(head == 0, 0)
    params = inspect.signature(lm.forward).parameters
    extra = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    out = lm(inputs_embeds=embeds[:, :-1], attention_mask=head, position_ids=positions,
             use_cache=True, **extra)
    cache = getattr(out, "cache", None)
    cache = cache if cache is not None else out.past_key_values
    cache.batch_repeat_interleave(num_beams)
    return cache


def cache_kwargs(lm: torch.nn.Module, cache: Cache | None) -> dict[str, Cache]:
    """`generate`'s keyword for a ready cache in this transformers version (none if no cache)."""
    if cache is None:
        return {}
    params = inspect.signature(lm.forward).parameters
    return {"cache" if "cache" in params else "past_key_values": cache}
