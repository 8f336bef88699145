"""Candidate scoring with a shared prefix: the language-model half of `rank`.

The naive way (LAVIS on Vicuna) runs the whole LLM once per candidate over
[query tokens, prompt, candidate]. Here the prefix runs once per sample (`prefix_state`): its
key/value cache and its last logits, which score every candidate's first token. Only tokens
0..n-2 of a candidate are then fed (the last token's output predicts nothing we need), in one
of two layouts:

- trie (decoder-only LLaMA-family models, and T5): a task's candidates are planned once
  (trie.py): sorted, cut into chunks, and each chunk's fed prefixes laid out as a token trie,
  so candidates that share leading tokens feed them once (MSRVTT's 1,500 answers: about half
  the tokens). A chunk is one row after the cached prefix: each node at its own position
  (prefix + depth), under a mask that lets it see the prefix and its ancestors only; for T5
  the relative position bias is built from those positions. Chunks of several samples go
  through the model together, one row each, bounded by a memory budget (`score_batch`), and
  each row's attention runs on its own keys alone (rowattn.py), so a sample's scores do not
  depend on what else is in the batch.
- expanded (other decoder-only models): one row per candidate, right padded, attending to
  the prefix cache expanded across the chunk, one sample at a time. Candidates are sorted by
  length and grouped so padding stays under a quarter of the fed tokens; pads come after the
  real tokens, so under the causal mask they change nothing before them. (`packed=False`
  forces it, for T5 too: its "prefix" is then the decoder after its start token.)

Other vision-language models (vlm.py) run their prefix themselves, image and prompt in one
forward of the whole model (`decoder_state`), and their candidates through the same layouts,
starting at the position after the prompt's (`PrefixState.next_position`: Qwen2-VL's M-RoPE
gives an image fewer positions than tokens).

Scores are summed token log-probabilities in fp32, no length normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers.cache_utils import Cache, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput

from ibench.models.rank.prefix import (
    FrozenPrefixLayer,
    PrefixState,
    cache_kwarg,
    first_position,
    tree_layout,
)
from ibench.models.rank.rowattn import RowsLayer, rows_attention
from ibench.models.rank.trie import CandidatePlan, TrieChunk, plan_candidates

CPU_BUDGET_BYTES = 1 << 30
CUDA_BUDGET_SHARE = 0.4
PAD_SLACK = 0.25  # padding allowed in an expanded chunk, as a share of its real (fed) tokens
MIN_ROWS = 16  # rows an expanded chunk reaches before padding alone may close it
# Token slots a trie forward has at least: CPU matrix products take another code path for a
# handful of rows (per thread), whose rounding would make a lone sample differ from a batch.
MIN_FORWARD_ROWS_PER_THREAD = 4
MIN_FORWARD_TOKENS = 16
# Token slots (rows x padded width) a trie forward has at most: beyond this the matrix products
# are large enough already, and bigger forwards only cost memory.
MAX_FORWARD_TOKENS = 2048
# A sample whose best two scores are this close is scored again alone when it shared a
# forward with other samples, where the backend's kernels may round differently by batch
# shape (GPUs); on CPU rows are bitwise the same, and the rescore changes nothing.
TIE_MARGIN = {torch.float32: 1e-3, torch.float16: 0.1, torch.bfloat16: 0.1}


# ---- trie layout (decoder-only LLaMA family, T5) ----------------------------------------------


def _ancestors(chunk: TrieChunk) -> torch.Tensor:
    """(nodes, nodes) bool: node j is node i or one of its ancestors."""
    n = len(chunk.tokens)
    seen = torch.eye(n, dtype=torch.bool)
    parents = torch.tensor(chunk.parents, dtype=torch.long)
    depths = torch.tensor(chunk.depths, dtype=torch.long)
    for depth in range(1, int(depths.max()) + 1 if n else 0):
        idx = (depths == depth).nonzero().squeeze(1)
        seen[idx] |= seen[parents[idx]]
    return seen


def _decoder_mask(chunk: TrieChunk, prefix_len: int, dtype: torch.dtype, device
                  ) -> torch.Tensor:
    """Additive (1, 1, nodes, prefix + nodes) mask: the prefix and a node's ancestors."""
    own = _ancestors(chunk)
    allowed = torch.cat([own.new_ones(len(own), prefix_len), own], dim=1)
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    return mask[None, None].to(device)


def _t5_bias(lm: torch.nn.Module, chunk: TrieChunk, dtype: torch.dtype, device) -> torch.Tensor:
    """(1, heads, nodes, 1 + nodes) T5 decoder self-attention bias and mask: the relative
    position bias between the nodes' positions (the start token at 0, a node at 1 + depth),
    as HF's `compute_bias` gives a sequence, and min where a key is not an ancestor."""
    attn = lm.decoder.block[0].layer[0].SelfAttention
    query = 1 + torch.tensor(chunk.depths, dtype=torch.long)
    keys = torch.cat([torch.zeros(1, dtype=torch.long), query])
    buckets = attn._relative_position_bucket(
        keys[None, :] - query[:, None], bidirectional=False,
        num_buckets=attn.relative_attention_num_buckets,
        max_distance=attn.relative_attention_max_distance)
    weight = attn.relative_attention_bias.weight
    bias = torch.nn.functional.embedding(buckets.to(weight.device), weight)  # (n, 1 + n, heads)
    bias = bias.permute(2, 0, 1)[None].to(device, dtype)
    own = _ancestors(chunk)
    allowed = torch.cat([own.new_ones(len(own), 1), own], dim=1).to(device)
    return bias.masked_fill(~allowed, torch.finfo(dtype).min)


def min_forward_tokens() -> int:
    """Token slots every trie forward fills at least (see MIN_FORWARD_ROWS_PER_THREAD)."""
    return max(MIN_FORWARD_TOKENS, MIN_FORWARD_ROWS_PER_THREAD * torch.get_num_threads())


@torch.no_grad()
def _tree_forward(lm: torch.nn.Module, states: Sequence[PrefixState],
                  chunks: Sequence[TrieChunk], pad_id: int) -> list[torch.Tensor]:
    """One forward of several trie chunks, one row each after its own sample's prefix: per
    chunk, the summed log-probs of its candidates' tokens after the first."""
    device = states[0].first_logprobs.device
    dtype = lm.get_input_embeddings().weight.dtype
    lengths = [len(c.tokens) for c in chunks]
    width = max(max(lengths), -(-min_forward_tokens() // len(chunks)))
    ids = torch.full((len(chunks), width), pad_id, dtype=torch.long)
    for b, chunk in enumerate(chunks):
        ids[b, : lengths[b]] = torch.tensor(chunk.tokens, dtype=torch.long)
    ids = ids.to(device)
    key = cache_kwarg(lm)
    if lm.config.is_encoder_decoder:
        biases = [_t5_bias(lm, c, dtype, device) for c in chunks]
        none = [None] * len(chunks)
        layers = range(len(states[0].self_kv))
        self_cache = Cache(layers=[RowsLayer([s.self_kv[i] for s in states], lengths, none,
                                             biases, grow=True) for i in layers])
        cross_cache = Cache(layers=[RowsLayer([s.cross_kv[i] for s in states], lengths, none,
                                              none, grow=False) for i in layers])
        # the cross keys/values come from the cache; the encoder states only need a shape
        hidden = states[0].encoder_states.shape[-1]
        encoder = BaseModelOutput(last_hidden_state=torch.zeros(
            len(chunks), 1, hidden, dtype=states[0].encoder_states.dtype, device=device))
        with rows_attention(lm):
            out = lm(encoder_outputs=encoder, decoder_input_ids=ids, use_cache=True,
                     **{key: EncoderDecoderCache(self_cache, cross_cache)})
    else:
        positions = torch.zeros(len(chunks), width, dtype=torch.long)
        for b, (state, chunk) in enumerate(zip(states, chunks, strict=True)):
            start = first_position(state)
            positions[b] = start
            positions[b, : lengths[b]] += torch.tensor(chunk.depths, dtype=torch.long)
        masks = [_decoder_mask(c, s.length, dtype, device) for s, c in zip(states, chunks,
                                                                          strict=True)]
        none = [None] * len(chunks)
        cache = Cache(layers=[RowsLayer([s.self_kv[i] for s in states], lengths, masks, none,
                                        grow=True) for i in range(len(states[0].self_kv))])
        with rows_attention(lm):
            out = lm(input_ids=ids, position_ids=positions.to(device), use_cache=True,
                     **{key: cache})
    sums = []
    for b, chunk in enumerate(chunks):
        logits = out.logits[b, : lengths[b]].float()
        place, node, target = (torch.tensor(col, dtype=torch.long, device=device)
                               for col in zip(*chunk.steps, strict=True))
        token_lp = logits[node, target] - logits.logsumexp(-1)[node]
        sums.append(torch.zeros(len(chunk.candidates), device=device).index_add_(
            0, place, token_lp))
    return sums


def _row_bytes(lm: torch.nn.Module, state: PrefixState, nodes: int, width: int, elt: int
               ) -> int:
    """Working memory of one chunk's row in a trie forward padded to `width` slots: its
    tokens' activations and logits, its attention, one layer's prefix + own keys/values."""
    hidden = _text_dims(lm.config)[0]
    keys = state.length + nodes
    return width * _token_bytes(lm, keys, elt) + 4 * keys * hidden * elt


def forward_groups(lm: torch.nn.Module, states: Sequence[PrefixState],
                   work: Sequence[tuple[int, TrieChunk]], budget_bytes: int | None = None
                   ) -> list[list[int]]:
    """Indices into `work` ((sample, chunk) pairs) per trie forward: the longest chunks first,
    as many rows per forward as fit the memory budget and MAX_FORWARD_TOKENS (at least one)."""
    budget, elt = _budget(lm, budget_bytes)
    order = sorted(range(len(work)), key=lambda i: (-len(work[i][1].tokens), i))
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i in order:
        sample, chunk = work[i]
        width = len(work[current[0]][1].tokens) if current else len(chunk.tokens)
        cost = _row_bytes(lm, states[sample], len(chunk.tokens), width, elt)
        if current and (used + cost > budget or (len(current) + 1) * width > MAX_FORWARD_TOKENS):
            groups.append(current)
            current, used = [], 0
            cost = _row_bytes(lm, states[sample], len(chunk.tokens), len(chunk.tokens), elt)
        current.append(i)
        used += cost
    if current:
        groups.append(current)
    return groups


def _tree_scores(lm: torch.nn.Module, states: Sequence[PrefixState],
                 plans: Sequence[CandidatePlan], pad_id: int, budget_bytes: int | None
                 ) -> list[list[float]]:
    """Every sample's candidate scores through the trie layout, chunks of several samples in
    one forward."""
    device = states[0].first_logprobs.device
    totals = [s.first_logprobs[torch.tensor([r[0] for r in p.rows], device=device)]
              for s, p in zip(states, plans, strict=True)]
    rest = [torch.zeros(len(p.rows), device=device) for p in plans]
    work = [(s, c) for s, p in enumerate(plans) for c in p.chunks if c.tokens]
    for group in forward_groups(lm, states, work, budget_bytes):
        items = [work[i] for i in group]
        sums = _tree_forward(lm, [states[s] for s, _ in items], [c for _, c in items], pad_id)
        for (sample, chunk), part in zip(items, sums, strict=True):
            rest[sample][torch.tensor(chunk.candidates, device=device)] = part
    return [(t + r).tolist() for t, r in zip(totals, rest, strict=True)]


def near_tie(scores: Sequence[float], margin: float) -> bool:
    """Whether the best two scores are within margin (a decision rounding could flip)."""
    if len(scores) < 2:
        return False
    best, second = sorted(scores, reverse=True)[:2]
    return best - second < margin


# ---- expanded layout (other decoder-only models; T5 when forced) ------------------------------


def _expanded(kv: list[tuple[torch.Tensor, torch.Tensor]], n: int) -> Cache:
    """A cache of frozen prefix layers, each expanded (as a view) to a chunk of n candidates."""
    layers = [FrozenPrefixLayer(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in kv]
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
    key = cache_kwarg(lm)
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


# ---- entry point ----------------------------------------------------------------------------


def _score_expanded_sample(lm: torch.nn.Module, state: PrefixState, rows: Sequence[Sequence[int]],
                          chunk_size: int | None, pad_id: int) -> list[float]:
    """One sample's scores through the expanded layout."""
    rows = [list(r) for r in rows]
    lengths = [len(r) for r in rows]
    if chunk_size is None:
        chunk_size = auto_chunk_size(lm, state.length, max(lengths) - 1, len(rows))
    scores = [0.0] * len(rows)
    for idx in length_chunks(lengths, chunk_size):
        got = _score_expanded(lm, state, [rows[i] for i in idx], pad_id)
        for i, value in zip(idx, got, strict=True):
            scores[i] = value
    return scores


PLAN_CACHE_LISTS = 16
_plans: dict[int, tuple[Sequence[Sequence[int]], CandidatePlan]] = {}


def cached_plan(rows: Sequence[Sequence[int]]) -> CandidatePlan:
    """`plan_candidates(rows)`, made once per row list: a model that tokenizes each candidate
    list once hands the same list object for every sample of a task (its vocabulary), so the
    last few plans are kept by that object's identity."""
    entry = _plans.get(id(rows))
    if entry is not None and entry[0] is rows:
        return entry[1]
    plan = plan_candidates(rows)
    _plans[id(rows)] = (rows, plan)  # holds rows, so its id is not reused while cached
    while len(_plans) > PLAN_CACHE_LISTS:
        _plans.pop(next(iter(_plans)))
    return plan


def score_batch(lm: torch.nn.Module, states: Sequence[PrefixState],
                candidates: Sequence[Sequence[Sequence[int]] | CandidatePlan],
                chunk_size: int | None = None, pad_id: int = 0, packed: bool | None = None,
                budget_bytes: int | None = None) -> list[list[float]]:
    """Summed log-likelihood of each sample's candidates (token rows, or a plan made once per
    candidate list by `plan_candidates`) after that sample's prefix.

    chunk_size: candidates per chunk at most (None: trie chunks of up to MAX_NODES nodes, or
    expanded chunks sized from the memory budget). packed: force the trie layout (True) or the
    expanded one (False); None: the trie where `tree_layout` allows it. A sample's scores are
    the same whatever other samples come with it (bitwise on CPU); where they shared a forward
    and their best two are within TIE_MARGIN, they are scored again alone, so a backend whose
    kernels round by batch shape cannot flip the decision.
    """
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    plans = [c if isinstance(c, CandidatePlan) and chunk_size is None else plan_candidates(
        c.rows if isinstance(c, CandidatePlan) else c, chunk_size) for c in candidates]
    if not plans:
        return []
    if not (tree_layout(lm) if packed is None else packed):
        return [_score_expanded_sample(lm, s, p.rows, chunk_size, pad_id)
                for s, p in zip(states, plans, strict=True)]
    scores = _tree_scores(lm, states, plans, pad_id, budget_bytes)
    if len(plans) > 1:
        margin = TIE_MARGIN.get(lm.get_input_embeddings().weight.dtype, 0.1)
        for i, got in enumerate(scores):
            if near_tie(got, margin):
                scores[i] = _tree_scores(lm, [states[i]], [plans[i]], pad_id, budget_bytes)[0]
    return scores


def score_candidates(lm: torch.nn.Module, state: PrefixState, candidates: Sequence[Sequence[int]],
                     chunk_size: int | None, pad_id: int, packed: bool | None = None
                     ) -> list[float]:
    """Summed log-likelihood of each candidate's token ids after one sample's prefix (see
    `score_batch`: chunk_size, packed)."""
    return score_batch(lm, [state], [candidates], chunk_size, pad_id, packed)[0]
