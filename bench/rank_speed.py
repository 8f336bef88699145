"""rank speed: ibench's shared-prefix ranking against the naive per-candidate full forward.

Both sides run in this process on the same random decoder-only InstructBLIP (tiny vision and
Q-Former, 32 query tokens, a LLaMA LM of 4 layers x 512 hidden, the tiny 1,001-word vocabulary)
on CPU. ibench's side is `model.rank`, the product's code path (vision + Q-Former included).
The naive side is one full LM forward over [query outputs, prompt, candidate] per candidate,
batch 1; it gets the visual prefix for free, and is timed on a subset of samples/candidates
when it would be slow (its per-sample time is then scaled up, and said so). For the
InstructBLIP model two real baselines follow, timed the same way: LAVIS's `_predict_class`
(image once, the candidates' full forwards batched in n_segments=1 right-padded batches) and
lmms-eval's loglikelihood requests (image and full forward again per candidate, batch 1).
Each case also prints the tokens ibench feeds per question through its candidate trie, and
how many a flat layout would feed (every candidate's tokens but its last).

Then the same on a random LLaVA-1.5-style model (tiny CLIP ViT, 16 image tokens per image, the
same LLaMA): ibench's side is models/vlm.py's `rank`, the naive side one full HF forward per
candidate over [chat-templated prompt with image tokens, candidate], vision tower included.

    python bench/rank_speed.py            # the two cases below, about 2 minutes, 1 thread
    python bench/rank_speed.py --threads 2
    python bench/rank_speed.py --quick    # a seconds-long smoke run (used by the tests)
    python bench/rank_speed.py --model llava   # only the LLaVA-style model

Cases: (a) Visual-Dialog-like: 100 candidates of 3-12 tokens after a 60-token prompt;
(b) MSRVTT-like: a 4-frame video, 1,500 candidates of 1-3 tokens.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ibench.models.rank.trie import plan_candidates  # noqa: E402
from ibench.models.tiny.base import corpus_lines
from ibench.models.tiny.blip import tiny_model
from ibench.models.tiny.llava_qwen import tiny_llava_model
from ibench.records import ModelInput  # noqa: E402


@dataclass(frozen=True)
class Case:
    """One benchmark case: how many samples, frames, candidates and tokens."""

    name: str
    samples: int
    frames: int
    prompt_tokens: int
    candidates: int
    cand_tokens: tuple[int, int]
    naive_samples: int
    naive_candidates: int


CASES = (
    Case("visdial-like", 3, 1, 60, 100, (3, 12), 2, 100),
    Case("msrvtt-like", 2, 4, 12, 1500, (1, 3), 1, 150),
)
QUICK = (
    Case("visdial-like", 2, 1, 20, 12, (3, 6), 1, 12),
    Case("msrvtt-like", 1, 4, 8, 40, (1, 3), 1, 10),
)


def _words() -> list[str]:
    """The tiny tokenizer's corpus words (most are single tokens)."""
    return sorted({w for line in corpus_lines()[:-1] for w in line.split()})


def _text_of_tokens(model, n: int, rng: random.Random) -> str:
    """A random word sequence of exactly n LM tokens (no special tokens)."""
    words = _words()
    while True:
        text = " ".join(rng.choice(words) for _ in range(n))
        ids = model.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) >= n:
            return model.tokenizer.decode(ids[:n]).strip() if len(ids) > n else text


def _candidates(model, case: Case, rng: random.Random) -> tuple[str, ...]:
    """case.candidates distinct texts with token lengths drawn from case.cand_tokens."""
    out: dict[str, None] = {}
    while len(out) < case.candidates:
        text = _text_of_tokens(model, rng.randint(*case.cand_tokens), rng)
        if case.cand_tokens[0] <= len(model.candidate_ids(text)) <= case.cand_tokens[1]:
            out[text] = None
    return tuple(out)


def make_inputs(model, case: Case, seed: int = 0) -> list[ModelInput]:
    """Deterministic inputs for a case: random frames, a prompt, candidates."""
    rng, rs = random.Random(seed), np.random.RandomState(seed)
    inputs = []
    for _ in range(case.samples):
        frames = [Image.fromarray((rs.rand(48, 64, 3) * 255).astype("uint8"))
                  for _ in range(case.frames)]
        tail = " Question: what is it? Short answer:"
        n_tail = _prompt_len(model, tail)  # includes BOS
        prompt = _text_of_tokens(model, case.prompt_tokens - n_tail, rng) + tail
        inputs.append(ModelInput(prompt, frames, _candidates(model, case, rng)))
    return inputs


def _prompt_len(model, text: str) -> int:
    """LM tokens of a prompt, BOS included."""
    if hasattr(model, "prompt_ids"):
        return len(model.prompt_ids(text))
    return len(model.tokenizer(text)["input_ids"])


@torch.no_grad()
def naive_rank_vlm(model, item: ModelInput, n_candidates: int) -> list[float]:
    """One full HF forward per candidate over [chat-templated prompt with images, candidate]."""
    enc = model.processor(text=[model.rendered_prompt(item.prompt, len(item.frames))],
                          images=list(item.frames), return_tensors="pt")
    scores = []
    for cand in item.candidates[:n_candidates]:
        ids = model.candidate_ids(cand)
        full = torch.cat([enc["input_ids"], torch.tensor([ids])], dim=1)
        logp = model.hf(input_ids=full, pixel_values=enc["pixel_values"]).logits[0]
        logp = logp.float().log_softmax(-1)
        start = enc["input_ids"].shape[1] - 1
        scores.append(sum(logp[start + j, t].item() for j, t in enumerate(ids)))
    return scores


@torch.no_grad()
def naive_rank(model, item: ModelInput, n_candidates: int) -> list[float]:
    """LAVIS-style scores: one full LM forward per candidate over prefix + candidate tokens."""
    if not hasattr(model, "prefix_embeds"):
        return naive_rank_vlm(model, item, n_candidates)
    prefix = model.prefix_embeds([item])[0]
    embed = model.lm.get_input_embeddings()
    scores = []
    for cand in item.candidates[:n_candidates]:
        ids = model.candidate_ids(cand)
        full = torch.cat([prefix, embed(torch.tensor(ids))]).unsqueeze(0)
        logp = model.lm(inputs_embeds=full).logits[0].float().log_softmax(-1)
        start = prefix.shape[0] - 1
        scores.append(sum(logp[start + j, t].item() for j, t in enumerate(ids)))
    return scores


@torch.no_grad()
def lavis_rank(model, item: ModelInput, n_candidates: int, n_segments: int = 1) -> list[float]:
    """LAVIS's `_predict_class` (blip2_vicuna_instruct.py): the image through the vision
    encoder and Q-Former once, then the language model over [query outputs, prompt,
    candidate] for every candidate, the candidates in `n_segments` right-padded batches (the
    prompt recomputed in each row)."""
    prefix = model.prefix_embeds([item])[0]
    embed = model.lm.get_input_embeddings()
    cands = [model.candidate_ids(c) for c in item.candidates[:n_candidates]]
    size = -(-len(cands) // n_segments)
    scores: list[float] = []
    for start in range(0, len(cands), size):
        part = cands[start:start + size]
        width = prefix.shape[0] + max(len(c) for c in part)
        rows = torch.zeros(len(part), width, prefix.shape[1], dtype=prefix.dtype)
        mask = torch.zeros(len(part), width, dtype=torch.long)
        for i, ids in enumerate(part):
            n = prefix.shape[0] + len(ids)
            rows[i, :n] = torch.cat([prefix, embed(torch.tensor(ids))])
            mask[i, :n] = 1
        logp = model.lm(inputs_embeds=rows, attention_mask=mask).logits.float().log_softmax(-1)
        begin = prefix.shape[0] - 1
        scores += [sum(logp[i, begin + j, t].item() for j, t in enumerate(ids))
                   for i, ids in enumerate(part)]
    return scores


@torch.no_grad()
def lmms_rank(model, item: ModelInput, n_candidates: int) -> list[float]:
    """lmms-eval's way (its loglikelihood requests): for every candidate, the whole model
    again (image through the vision encoder and Q-Former, then the language model over
    prompt and candidate), batch 1."""
    embed = model.lm.get_input_embeddings()
    scores = []
    for cand in item.candidates[:n_candidates]:
        prefix = model.prefix_embeds([item])[0]
        ids = model.candidate_ids(cand)
        full = torch.cat([prefix, embed(torch.tensor(ids))]).unsqueeze(0)
        logp = model.lm(inputs_embeds=full).logits[0].float().log_softmax(-1)
        start = prefix.shape[0] - 1
        scores.append(sum(logp[start + j, t].item() for j, t in enumerate(ids)))
    return scores


def baselines(model, case: Case) -> dict[str, tuple[float, float, float]]:
    """The two real baselines on the case's first sample: name -> (ms per sample, speed-up
    of ibench's batch-of-1 rank over it, max |score difference|), timed on the case's
    candidate subset and scaled."""
    item = make_inputs(model, case)[0]
    ours, t_ours = _timed(lambda: model.rank([item])[0])
    scale = case.candidates / case.naive_candidates
    out = {}
    for name, fn in (("LAVIS _predict_class", lavis_rank), ("lmms-eval loglikelihood",
                                                             lmms_rank)):
        ref, t = _timed(lambda fn=fn: fn(model, item, case.naive_candidates))
        diff = max(abs(a - b) for a, b in zip(ours, ref, strict=False))
        out[name] = (t * scale * 1000, t * scale / t_ours, diff)
    return out


def _timed(fn):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_case(model, case: Case) -> dict[str, float]:
    """Time ibench's rank and the naive baseline on one case; check they agree.

    The naive runs are bracketed by ibench runs on the same sample (before and after), so a
    machine shared with other work slows both sides alike.
    """
    inputs = make_inputs(model, case)
    model.rank(inputs[:1])  # warm-up (first-call allocations, at both batch shapes)
    model.rank(inputs)
    ours, t_ours = _timed(lambda: model.rank(inputs))
    t_naive = t_bracket = 0.0
    diff = 0.0
    for item, got in zip(inputs[: case.naive_samples], ours, strict=False):
        t_bracket += _timed(lambda: model.rank([item]))[1]  # noqa: B023 - called at once
        ref, t = _timed(lambda: naive_rank(model, item, case.naive_candidates))  # noqa: B023
        t_naive += t
        t_bracket += _timed(lambda: model.rank([item]))[1]  # noqa: B023
        diff = max(diff, *(abs(a - b) for a, b in zip(got, ref, strict=False)))
    scale = case.candidates / case.naive_candidates
    naive = t_naive / case.naive_samples * scale
    bracket = t_bracket / (2 * case.naive_samples)
    plans = [plan_candidates([model.candidate_ids(c) for c in x.candidates]) for x in inputs]
    return {"ours": t_ours / len(inputs), "bracket": bracket, "naive": naive,
            "ratio": naive / bracket, "scale": scale, "diff": diff,
            "fed": sum(p.fed_tokens for p in plans) / len(plans),
            "flat": sum(p.flat_tokens for p in plans) / len(plans)}


BATCHING = Case("options-like", 16, 1, 30, 4, (1, 3), 0, 4)


def batch_ratio(model, case: Case, rounds: int = 3) -> float:
    """Throughput of one rank call over case.samples inputs against one call per input, the
    two timed in alternation (rounds each)."""
    inputs = make_inputs(model, case, seed=3)
    model.rank(inputs)  # warm-up
    batched = single = 0.0
    for _ in range(rounds):
        batched += _timed(lambda: model.rank(inputs))[1]
        single += _timed(lambda: [model.rank([x]) for x in inputs])[1]
    return single / batched


def main(argv: list[str] | None = None) -> int:
    """Build the model, run both cases, print per-sample times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: steady ratios on a shared machine, "
                             "where idle OpenMP threads stall small ops)")
    parser.add_argument("--model", choices=("vicuna", "llava", "both"), default="both",
                        help="InstructBLIP (Vicuna-style), the LLaVA-style model, or both")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    hidden, layers = (64, 2) if args.quick else (512, 4)
    for kind in ("vicuna", "llava") if args.model == "both" else (args.model,):
        _run_model(kind, hidden, layers, args.quick)
    return 0


def _run_model(kind: str, hidden: int, layers: int, quick: bool) -> None:
    """Build one model and run every case on it."""
    if kind == "llava":
        model = tiny_llava_model(lm_hidden=hidden, lm_layers=layers)
        lm, visual = model.hf.model.language_model, f"{model.image_tokens()} image tokens"
    else:
        model = tiny_model("vicuna", lm_hidden=hidden, lm_layers=layers, num_query_tokens=32)
        lm, visual = model.lm, "32 query tokens"
    params = sum(p.numel() for p in lm.parameters()) / 1e6
    print(f"model ({kind}): LLaMA {layers} layers x {hidden} hidden ({params:.1f}M LM params), "
          f"{visual}, torch threads {torch.get_num_threads()}, cpu")
    for case in QUICK if quick else CASES:
        r = run_case(model, case)
        note = (f", timed on {case.naive_candidates} candidates x{r['scale']:g}"
                if r["scale"] != 1 else "")
        print(f"{case.name}: {case.candidates} candidates of {case.cand_tokens[0]}-"
              f"{case.cand_tokens[1]} tokens, {case.frames} frame(s) x {visual}, "
              f"{case.prompt_tokens}-token prompt")
        print(f"  ibench rank    {r['ours'] * 1000:9.1f} ms/sample (batch of {case.samples})")
        print(f"  ibench rank    {r['bracket'] * 1000:9.1f} ms/sample (batch of 1, around the "
              f"naive runs)")
        print(f"  tokens fed     {r['fed']:9.0f} per question through the trie "
              f"({r['flat']:.0f} without it)")
        naive = ("whole model per candidate, batch 1 (lmms-eval's way)" if kind == "llava"
                 else "LM per candidate, batch 1, visual prefix given")
        print(f"  {naive}: {r['naive'] * 1000:.1f} ms/sample ({case.naive_samples} "
              f"sample(s){note})")
        print(f"  speed-up       {r['ratio']:9.1f}x  (that / batch-of-1 ibench; "
              f"max |score diff| {r['diff']:.1e})")
        if kind == "vicuna":  # the harnesses' own ways, named for what they are
            for name, (ms, ratio, diff) in baselines(model, case).items():
                print(f"  {name:24s} {ms:9.1f} ms/sample: ibench is {ratio:.1f}x faster "
                      f"(max |score diff| {diff:.1e})")
    case = BATCHING if not quick else Case("options-like", 4, 1, 12, 4, (1, 3), 0, 4)
    print(f"{case.name}: {case.samples} samples, {case.candidates} candidates of "
              f"{case.cand_tokens[0]}-{case.cand_tokens[1]} tokens: one rank call over all of "
              f"them has {batch_ratio(model, case):.2f}x the throughput of one call per sample")


if __name__ == "__main__":
    raise SystemExit(main())
