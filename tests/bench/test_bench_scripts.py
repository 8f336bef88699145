"""The bench scripts run end to end at tiny scale (bench/gpu.py --smoke, rank_speed --quick,
vlm_host --quick)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import models_fixtures  # noqa: F401 - sets HF_HUB_OFFLINE before transformers loads

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_gpu_bench_smoke(capsys):
    gpu = _load("gpu")
    assert gpu.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    for title in ("generate, short answer", "generate, caption", "rank, 4 candidates"):
        assert out.count(title) == 2  # vicuna and t5
    assert "samples/s" in out and "vicuna:" in out and "t5:" in out


def test_gpu_bench_real_shapes_are_the_papers():
    gpu = _load("gpu")
    vicuna, t5 = gpu.build_config("vicuna", gpu.REAL), gpu.build_config("t5", gpu.REAL)
    assert (vicuna.vision_config.hidden_size, vicuna.vision_config.num_hidden_layers) == (1408, 39)
    assert (vicuna.vision_config.image_size, vicuna.vision_config.patch_size) == (224, 14)
    assert vicuna.qformer_config.num_hidden_layers == 12 and vicuna.num_query_tokens == 32
    assert vicuna.qformer_config.encoder_hidden_size == 1408
    text = vicuna.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.intermediate_size) == (4096, 32, 11008)
    assert (t5.text_config.d_model, t5.text_config.num_layers, t5.text_config.vocab_size) == (
        2048, 24, 32128)
    assert t5.text_config.num_decoder_layers == 24 and t5.text_config.is_gated_act


def test_gpu_bench_llava_smoke_and_real_shapes(capsys):
    """--models llava runs end to end; its real shapes are llava-hf/llava-1.5-7b-hf's
    config.json (CLIP ViT-L/14 at 336 px, second-to-last layer without CLS: 576 image tokens;
    Vicuna-7B; text vocabulary 32,064)."""
    from ibench.models.tiny.llava_qwen import llava_tokenizer

    gpu = _load("gpu")
    assert gpu.main(["--smoke", "--models", "llava"]) == 0
    out = capsys.readouterr().out
    assert "llava:" in out and out.count("rank, ") == 3
    assert "held-out projection, LLaVA-1.5-7B" in out
    config = gpu.llava_config(gpu.REAL, llava_tokenizer())
    vision, text = config.vision_config, config.text_config
    assert (vision.hidden_size, vision.num_hidden_layers, vision.intermediate_size) == (
        1024, 24, 4096)
    assert (vision.image_size // vision.patch_size) ** 2 == 576
    assert (config.vision_feature_layer, config.vision_feature_select_strategy) == (-2, "default")
    assert (text.hidden_size, text.num_hidden_layers, text.intermediate_size) == (4096, 32, 11008)
    assert text.vocab_size == 32064 and config.projector_hidden_act == "gelu"


def test_rank_speed_quick(capsys):
    speed = _load("rank_speed")
    assert speed.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.count("speed-up") == 4  # two cases, InstructBLIP and the LLaVA-style model
    assert "model (llava)" in out
    # the two real baselines, for InstructBLIP, agreeing with ibench's scores
    for name in ("LAVIS _predict_class", "lmms-eval loglikelihood"):
        lines = [line for line in out.splitlines() if line.strip().startswith(name)]
        assert len(lines) == 2 and all("faster" in line for line in lines)
        assert all(float(line.rsplit(" ", 1)[-1].rstrip(")")) < 1e-4 for line in lines)


def test_vlm_host_bench_quick(capsys):
    bench = _load("vlm_host")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "576 image tokens each" in out  # llava-1.5's 336 px, patch 14, CLS dropped
    assert "features from the workers" in out and "less with the features prepared" in out
