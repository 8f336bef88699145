"""GPU throughput of ibench's generate and rank at the real InstructBLIP shapes, no hub needed.

Builds random-weight models with the real shapes (EVA ViT-g/14 at 224px, BERT-base Q-Former
with 32 queries, and Vicuna-7B or FlanT5-XL) in bf16 directly on the GPU (no weight init, then
a cheap normal fill), with locally built tokenizers, and runs them through the product's own
`InstructBlipFamilyModel`; with `--models llava`, LLaVA-1.5-7B's shapes (CLIP ViT-L/14 at
336px, 576 image tokens, a GELU projector, LLaMA-7B) through the product's
`VisionLanguageModel`. The images are preprocessed beforehand, as the media workers do (the
model thread gets `ModelInput.pixels`). Prints samples/second and peak GPU memory for
- generate, short answer: 5 beams, 1-10 new tokens;
- generate, caption: 5 beams, 10-80 new tokens, repetition penalty 1.5;
- rank: 100 candidates of 3-12 tokens after a ~60-token prompt (Visual-Dialog-like);
- rank: a 4-frame video and 1,500 candidates of 1-3 words (MSRVTT-QA-like: its vocabulary);
- rank: 4 options of 1-3 words (ScienceQA / IconQA choices, the yes/no/true/false verbalizers);
at increasing batch sizes, each section time-boxed, the whole run within --budget seconds
(default 540). Random weights rarely emit EOS, so generation runs to max_new_tokens.

Then a projection of the whole held-out suite for each model: per dataset, its requests (the
evaluation split's size, one template) times the measured time per request of the workload
that matches it (the best batch size measured), and the total. A projection, not a run: the
workloads stand in for the datasets (iVQA's 4 frames are timed as one image, MSVD-QA's
vocabulary as MSRVTT-QA's 1,500 answers), and real checkpoints stop at EOS sooner.

    python bench/gpu.py                 # on an H100/H200 (exits with a message without CUDA)
    python bench/gpu.py --models vicuna,t5,llava   # the LLaVA-1.5-7B shapes too
    python bench/gpu.py --smoke         # tiny shapes on CPU: checks the script end to end
    python bench/gpu.py --write         # and save the figures for `ibench paper plan`
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from ibench.paper.throughput import (  # noqa: E402
    throughput_file,
    workload,
    write_throughput,
)
from ibench.protocol.suite import load_tasks  # noqa: E402
from ibench.records import GenerationSettings, ModelInput  # noqa: E402

PROMPT = ("Dialog history: a man riding a horse on a beach next to the ocean. Q: is it sunny? "
          "A: yes Q: how many people are there? A: one Q: what color is the horse? A: brown "
          "Question: is the man wearing a hat? Short answer:")
# The tasks' own LAVIS decoding arguments (GQA short answers, NoCaps captions) per architecture.
_ARCH = {"vicuna": "decoder-only", "t5": "encoder-decoder", "llava": "decoder-only"}
SHORT = {k: load_tasks()["gqa"].generation_settings(a) for k, a in _ARCH.items()}
CAPTION = {k: load_tasks()["nocaps"].generation_settings(a) for k, a in _ARCH.items()}


@dataclass(frozen=True)
class Shapes:
    """Model sizes: real InstructBLIP, or tiny for --smoke."""

    vision: dict
    qformer: dict
    vicuna: dict
    t5: dict
    num_query_tokens: int
    clip: dict | None = None  # LLaVA-1.5's vision tower
    llava_vocab: int = 32064  # llava-1.5-7b-hf's text vocabulary (32000 + 2 added, padded)


REAL = Shapes(
    vision=dict(hidden_size=1408, intermediate_size=6144, num_hidden_layers=39,
                num_attention_heads=16, image_size=224, patch_size=14, qkv_bias=True),
    qformer=dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, cross_attention_frequency=2),
    vicuna=dict(vocab_size=32001, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=2048,
                rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2, pad_token_id=0),
    t5=dict(vocab_size=32128, d_model=2048, d_kv=64, d_ff=5120, num_layers=24,
            num_decoder_layers=24, num_heads=32, feed_forward_proj="gated-gelu",
            tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0),
    num_query_tokens=32,
    clip=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
              num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768,
              hidden_act="quick_gelu"),
)
SMOKE = Shapes(
    vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                image_size=28, patch_size=14, qkv_bias=True),
    qformer=dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, cross_attention_frequency=2),
    # vocabularies that hold the local tokenizers' ids (the LLaMA-style one: 3 specials, 256
    # byte tokens, ~1,000 pieces, [PAD], <image>)
    vicuna=dict(vocab_size=1280, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                bos_token_id=1, eos_token_id=2, pad_token_id=0),
    t5=dict(vocab_size=1280, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2,
            num_heads=4, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0),
    num_query_tokens=8,
    clip=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
              image_size=56, patch_size=14, projection_dim=32, hidden_act="quick_gelu"),
    llava_vocab=1024,
)


def build_config(kind: str, shapes: Shapes):
    """An InstructBlipConfig with the given shapes and a Vicuna (LLaMA) or FlanT5 LM."""
    from transformers import (
        InstructBlipConfig,
        InstructBlipQFormerConfig,
        InstructBlipVisionConfig,
        LlamaConfig,
        T5Config,
    )

    text = LlamaConfig(**shapes.vicuna) if kind == "vicuna" else T5Config(**shapes.t5)
    return InstructBlipConfig(
        vision_config=InstructBlipVisionConfig(**shapes.vision).to_dict(),
        qformer_config=InstructBlipQFormerConfig(**shapes.qformer).to_dict(),
        text_config=text.to_dict(), num_query_tokens=shapes.num_query_tokens,
        image_token_index=shapes.vicuna["vocab_size"] - 1 if kind == "vicuna" else 32100,
    )


def llava_config(shapes: Shapes, tok):
    """llava-hf/llava-1.5-7b-hf's config at these shapes: CLIP tower, second-to-last layer
    without CLS, GELU projector, Vicuna-7B (LLaMA) text model; the image and pad ids are the
    local tokenizer's."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    ids = tok.convert_tokens_to_ids
    text = {**shapes.vicuna, "vocab_size": shapes.llava_vocab, "pad_token_id": ids("<pad>"),
            "tie_word_embeddings": False}
    return LlavaConfig(vision_config=CLIPVisionConfig(**shapes.clip).to_dict(),
                       text_config=LlamaConfig(**text).to_dict(),
                       image_token_index=ids("<image>"), pad_token_id=ids("<pad>"),
                       vision_feature_layer=-2, vision_feature_select_strategy="default",
                       projector_hidden_act="gelu", tie_word_embeddings=False)


def _allocated(cls, config, device: str, dtype: torch.dtype):
    """cls(config) allocated on the device without init, filled with N(0, 0.02) (norms at 1)."""
    from transformers.initialization import no_init_weights

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device), no_init_weights():
            hf = cls(config)
    finally:
        torch.set_default_dtype(previous)
    generator = torch.Generator(device=device).manual_seed(0)
    for name, param in hf.named_parameters():
        if "norm" in name and param.dim() == 1 and name.endswith("weight"):
            param.fill_(1.0)
        elif param.dim() == 1:
            param.zero_()
        else:
            param.normal_(0.0, 0.02, generator=generator)
    return hf


@torch.no_grad()
def build_llava(shapes: Shapes, device: str, dtype: torch.dtype):
    """A random LLaVA-1.5-7B-shaped model behind ibench's VisionLanguageModel, its processor
    llava-1.5's (CLIP preprocessing at the tower's size, the chat template)."""
    from transformers import LlavaForConditionalGeneration

    from ibench.models.tiny.llava_qwen import llava_processor, llava_tokenizer
    from ibench.models.vlm import VisionLanguageModel

    tok = llava_tokenizer()
    hf = _allocated(LlavaForConditionalGeneration, llava_config(shapes, tok), device, dtype)
    processor = llava_processor(tok)
    side = shapes.clip["image_size"]
    processor.image_processor.size = {"shortest_edge": side}
    processor.image_processor.crop_size = {"height": side, "width": side}
    return VisionLanguageModel(hf.eval(), processor, name="random-llava")


@torch.no_grad()
def build_model(kind: str, shapes: Shapes, device: str, dtype: torch.dtype):
    """The model allocated on the device without init, filled with N(0, 0.02) (norms at 1)."""
    from transformers import InstructBlipForConditionalGeneration

    from ibench.models.instructblip import InstructBlipFamilyModel
    from ibench.models.tiny.base import build_image_processor, build_qformer_tokenizer
    from ibench.models.tiny.blip import build_lm_tokenizer

    if kind == "llava":
        return build_llava(shapes, device, dtype)
    hf = _allocated(InstructBlipForConditionalGeneration, build_config(kind, shapes), device,
                    dtype)
    hf.query_tokens.data = hf.query_tokens.data.float()  # kept in fp32, as from_pretrained does
    hf.eval()
    image_processor = build_image_processor(shapes.vision["image_size"])
    return InstructBlipFamilyModel(hf, image_processor, build_lm_tokenizer(kind),
                                   build_qformer_tokenizer(), name=f"random-{kind}")


WORDS = "yes no red blue two three dog cat man woman horse beach ocean hat brown".split()


def vocabulary(n: int, seed: int = 0) -> tuple[str, ...]:
    """n distinct answers of 1-3 words, the same tuple for every sample (a task vocabulary)."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        out[" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))] = None
    return tuple(out)


def _side(model) -> int:
    """The model's input image side (BLIP: height; CLIP: the shorter side it resizes to)."""
    size = model.image_processor.size
    return int(size["height"] if "height" in size else size["shortest_edge"])


def _prepared(model, frames: list[Image.Image], prompt: str, candidates: tuple[str, ...] = ()
              ) -> ModelInput:
    """A model input with its pixels preprocessed, as the media workers hand them over."""
    return ModelInput(prompt, frames, candidates, pixels=model.preprocess(frames))


def make_video_inputs(model, n: int, frames: int, answers: tuple[str, ...], seed: int = 0
                      ) -> list[ModelInput]:
    """n videos of `frames` random frames, each ranking the same answer vocabulary."""
    rs = np.random.RandomState(seed)
    size = _side(model)
    prompt = "Question: what is the man doing with the horse? Short answer:"
    return [_prepared(model, [Image.fromarray((rs.rand(size, size, 3) * 255).astype("uint8"))
                              for _ in range(frames)], prompt, answers) for _ in range(n)]


def make_option_inputs(model, n: int, n_options: int, seed: int = 0) -> list[ModelInput]:
    """n images, each with its own n_options options of 1-3 words (multiple choice)."""
    rs, rng = np.random.RandomState(seed), random.Random(seed)
    size = _side(model)
    return [_prepared(model, [Image.fromarray((rs.rand(size, size, 3) * 255).astype("uint8"))],
                      PROMPT, tuple(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
                                    for _ in range(n_options))) for _ in range(n)]


def make_inputs(model, n: int, n_candidates: int, seed: int = 0) -> list[ModelInput]:
    """n inputs with random 224px frames and candidates of 3-12 tokens (varied lengths)."""
    rs, rng = np.random.RandomState(seed), random.Random(seed)
    size = _side(model)
    words = WORDS
    inputs = []
    for _ in range(n):
        frame = Image.fromarray((rs.rand(size, size, 3) * 255).astype("uint8"))
        cands = tuple(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
                      for _ in range(n_candidates))
        inputs.append(_prepared(model, [frame], PROMPT, cands))
    return inputs


def _sync(device: str) -> None:
    """Wait for queued GPU work, so timings are real."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak_gib(device: str) -> float:
    """Peak GPU memory since the last reset, GiB (0 on CPU)."""
    return torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else 0.0


def measure(run, inputs: list[ModelInput], batch: int, device: str, box_s: float,
            repeats: int = 4) -> dict:
    """Samples/s of run() over batches of `batch` inputs: one warm-up, then up to `repeats`
    timed batches, stopping early once box_s has passed."""
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    run(inputs[:batch])
    _sync(device)
    done, start = 0, time.perf_counter()
    while True:
        run(inputs[:batch])
        _sync(device)
        done += batch
        elapsed = time.perf_counter() - start
        if elapsed >= box_s or done >= repeats * batch:
            return {"samples_per_s": done / elapsed, "s_per_batch": elapsed * batch / done,
                    "peak_gib": _peak_gib(device)}


def run_section(title: str, run, inputs, batches: list[int], device: str, box_s: float,
                deadline: float, repeats: int = 4) -> float | None:
    """One workload at increasing batch sizes, stopping at OOM, its time box or the deadline;
    the best seconds per request measured (None if no batch size ran)."""
    print(f"  {title}")
    best = None
    section_end = min(deadline, time.monotonic() + box_s)
    for batch in batches:
        if time.monotonic() >= section_end:
            print(f"    batch {batch:>3}: skipped (section time box reached)")
            break
        per_batch_box = max(1.0, (section_end - time.monotonic()) / 3)
        try:
            r = measure(run, inputs, batch, device, per_batch_box, repeats)
        except torch.cuda.OutOfMemoryError:
            print(f"    batch {batch:>3}: out of GPU memory")
            gc.collect()
            torch.cuda.empty_cache()
            break
        print(f"    batch {batch:>3}: {r['samples_per_s']:8.2f} samples/s  "
              f"{r['s_per_batch']:7.3f} s/batch  peak {r['peak_gib']:6.1f} GiB")
        per_request = 1.0 / r["samples_per_s"]
        best = per_request if best is None else min(best, per_request)
    return best


SECTIONS = 5  # workloads per model (time boxes)
VIDEO_FRAMES = 4
VOCABULARY = 1500


def bench_model(kind: str, shapes: Shapes, device: str, dtype: torch.dtype, box_s: float,
                deadline: float, smoke: bool) -> dict[str, float | None]:
    """Build one model, run the workloads, free it: seconds per request by workload."""
    start = time.perf_counter()
    model = build_model(kind, shapes, device, dtype)
    _sync(device)
    params = sum(p.numel() for p in model.hf.parameters()) / 1e9
    print(f"{kind}: {params:.2f}B parameters, {str(dtype).removeprefix('torch.')}, built in "
          f"{time.perf_counter() - start:.1f} s")
    gen_batches = [1, 2] if smoke else [1, 8, 32, 64]
    rank_batches = [1, 2] if smoke else [1, 4, 16]
    inputs = make_inputs(model, max(gen_batches + rank_batches), 4 if smoke else 100)
    caption = CAPTION[kind] if not smoke else GenerationSettings(2, 12, 10, 1.0, 1.5)
    short = SHORT[kind] if not smoke else GenerationSettings(2, 4, 1, 0.0, 1.0)
    repeats = 1 if smoke else 4
    n_vocab = 40 if smoke else VOCABULARY
    videos = make_video_inputs(model, max(rank_batches), VIDEO_FRAMES, vocabulary(n_vocab))
    options = make_option_inputs(model, max(rank_batches), 4)
    times = {
        "short": run_section("generate, short answer (max 10 new tokens)",
                             partial(model.generate, settings=short), inputs, gen_batches, device,
                             box_s, deadline, repeats),
        "caption": run_section("generate, caption (10-80 new tokens)",
                               partial(model.generate, settings=caption), inputs, gen_batches,
                               device, box_s, deadline, repeats),
        "visdial": run_section(f"rank, {len(inputs[0].candidates)} candidates of 3-12 words",
                               model.rank, inputs, rank_batches, device, box_s, deadline,
                               repeats),
        "vocabulary": run_section(f"rank, MSRVTT-like: {VIDEO_FRAMES} frames, {n_vocab} "
                                  "answers of 1-3 words", model.rank, videos, rank_batches,
                                  device, box_s, deadline, repeats),
        "options": run_section("rank, 4 options of 1-3 words", model.rank, options,
                               rank_batches, device, box_s, deadline, repeats),
    }
    del model
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return times


def held_out_plan() -> list[tuple[str, int, str]]:
    """(task, requests, workload) for every held-out task: one request per evaluation sample
    (the zero-shot template)."""
    tasks = load_tasks()
    return [(tid, int(t.eval_size), workload(t)) for tid, t in sorted(tasks.items())
            if t.split == "held-out"]


def projection(name: str, times: dict[str, float | None]) -> str:
    """The held-out suite's projected time for one model: requests x s/request per task."""
    lines = [f"held-out projection, {name} (requests x best measured s/request):"]
    total, missing = 0.0, []
    for tid, requests, kind in held_out_plan():
        per = times.get(kind)
        if per is None:
            missing.append(tid)
            lines.append(f"  {tid:14s} {requests:>7,} requests  {kind:10s}  not measured")
            continue
        total += requests * per
        lines.append(f"  {tid:14s} {requests:>7,} requests  {kind:10s} "
                     f"{per * 1000:8.1f} ms/request  {requests * per / 3600:7.2f} h")
    note = f" (without {', '.join(missing)})" if missing else ""
    lines.append(f"  total {total / 3600:.2f} h on one device{note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, check for CUDA (unless --smoke), run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny shapes on CPU")
    parser.add_argument("--models", default="vicuna,t5", help="comma list of vicuna, t5, llava")
    parser.add_argument("--budget", type=float, default=540.0, help="whole-run seconds")
    parser.add_argument("--write", nargs="?", const=str(throughput_file()), default=None,
                        help="write the seconds per request for `ibench paper plan` (default "
                             "path: $IBENCH_THROUGHPUT, else $IBENCH_CACHE/throughput.json)")
    args = parser.parse_args(argv)
    if args.smoke:
        device, dtype, shapes, box = "cpu", torch.float32, SMOKE, 5.0
    elif not torch.cuda.is_available():
        print("bench/gpu.py: no CUDA device visible; run it on a GPU machine (or use --smoke)")
        return 0
    else:
        device, dtype, shapes = "cuda", torch.bfloat16, REAL
        n_models = len([k for k in args.models.split(",") if k.strip()])
        box = args.budget / (n_models * (SECTIONS + 1))  # each model's sections and build
        torch.backends.cuda.matmul.allow_tf32 = True
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    deadline = time.monotonic() + args.budget
    measured = {}
    for kind in [k.strip() for k in args.models.split(",") if k.strip()]:
        if time.monotonic() >= deadline:
            print(f"{kind}: skipped (run budget reached)")
            continue
        measured[kind] = bench_model(kind, shapes, device, dtype, box, deadline, args.smoke)
    names = {"vicuna": "Vicuna-7B", "t5": "FlanT5-XL", "llava": "LLaVA-1.5-7B"}
    for kind, times in measured.items():
        name = names.get(kind, kind) + (" (smoke shapes, CPU)" if args.smoke else "")
        print(projection(name, times))
    if args.write:
        import datetime as dt

        where = "cpu (smoke shapes)" if args.smoke else torch.cuda.get_device_name()
        write_throughput(Path(args.write), where, dt.date.today().isoformat(),
                         {k: v for k, v in measured.items() if k in ("vicuna", "t5")})
        print(f"wrote {args.write} (read by ibench paper plan)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
