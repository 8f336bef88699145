"""InstructBLIP-Video checkpoints (transformers' InstructBlipVideo* classes) in the InstructBLIP
backend (models/blipvideo.py).

The reference is HF's own InstructBlipVideoForConditionalGeneration forward over the
checkpoint's weights, one full forward per candidate, with the layout its processor builds
([<video>] * 16 query tokens * frames, then the prompt with its </s> bos, then the candidate)
and pixels computed here by hand from the published preprocessing (bicubic resize to a square,
/255, OpenAI-CLIP mean and std), not by ibench's image processor.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import models_fixtures  # noqa: F401 - sets HF_HUB_OFFLINE before transformers loads
import numpy as np
import pytest
import torch
from cli_helpers import run_cli
from models_fixtures import images
from PIL import Image

from ibench.records import GenerationSettings, ModelInput

PROMPT = "Question: what is the man doing in the video? Short answer:"
CANDIDATES = ("yes", "a red bus", "skateboarding on the sidewalk", "no", "two cats")
MEAN = np.array([0.48145466, 0.4578275, 0.40821073])
STD = np.array([0.26862954, 0.26130258, 0.27577711])
_MEMO: dict[str, object] = {}


@pytest.fixture(scope="module")
def video_model(ibench_cache):
    """The tiny InstructBLIP-Video checkpoint, built where the tiny-vicuna-video alias finds
    it, loaded through ibench (fp32, CPU)."""
    from ibench.models import load_model
    from ibench.models.tiny.checkpoints import ensure_tiny

    if not _MEMO:
        _MEMO["model"] = load_model("tiny-vicuna-video", device="cpu")
        _MEMO["path"] = ensure_tiny("vicuna-video")
    return _MEMO["model"]


def hand_pixels(frames, size: int = 32) -> torch.Tensor:
    """(frames, 3, size, size): PIL bicubic resize, /255, CLIP mean/std."""
    out = []
    for frame in frames:
        arr = np.asarray(frame.convert("RGB").resize((size, size), Image.BICUBIC)) / 255.0
        out.append(((arr - MEAN) / STD).transpose(2, 0, 1))
    return torch.tensor(np.stack(out), dtype=torch.float32)


@torch.no_grad()
def naive(model, prompt: str, frames, candidates) -> list[float]:
    hf, tok = model.hf, model.tokenizer
    pixels = hand_pixels(frames)[None]  # (1, frames, 3, H, W): a video for HF's class
    video = [hf.config.video_token_index] * hf.config.num_query_tokens * len(frames)
    qids = torch.tensor([model.qformer_tokenizer(prompt)["input_ids"]])
    prompt_ids = tok(prompt)["input_ids"]
    assert prompt_ids[0] == tok.convert_tokens_to_ids("</s>")  # the Vicuna checkpoints' bos
    scores = []
    for cand in candidates:
        cand_ids = tok(cand, add_special_tokens=False)["input_ids"]
        ids = video + prompt_ids + cand_ids
        logits = hf(pixel_values=pixels, qformer_input_ids=qids,
                    input_ids=torch.tensor([ids])).logits[0]
        logp = logits.double().log_softmax(-1)
        start = len(ids) - len(cand_ids)
        scores.append(sum(logp[start - 1 + j, t].item() for j, t in enumerate(cand_ids)))
    return scores


def test_it_loads_its_own_class_and_settings(video_model):
    from transformers import InstructBlipVideoForConditionalGeneration

    assert isinstance(video_model.hf, InstructBlipVideoForConditionalGeneration)
    info = video_model.info()
    assert info["model_class"] == "InstructBlipVideoForConditionalGeneration"
    assert "video processor settings in processor_config.json" in info["frame_processor"]
    assert video_model.image_size() == 32
    config = json.loads((Path(_MEMO["path"]) / "config.json").read_text())
    tok = video_model.tokenizer
    assert config["model_type"] == "instructblipvideo"
    assert config["video_token_index"] == tok.convert_tokens_to_ids("<video>") == len(tok) - 1


@pytest.mark.parametrize("frames", [4, 1])
def test_rank_equals_hf_video_forward(video_model, frames):
    pics = images(frames, seed=11)
    inputs = [ModelInput(PROMPT, pics, CANDIDATES), ModelInput(PROMPT, pics[:1], CANDIDATES[:3])]
    expected = [naive(video_model, i.prompt, i.frames, i.candidates) for i in inputs]
    for chunk in (None, 2):
        got = video_model.rank(inputs, chunk_size=chunk)
        for g, e in zip(got, expected, strict=True):
            assert g == pytest.approx(e, abs=1e-4)


@torch.no_grad()
def test_greedy_generate_is_hf_video_argmax(video_model):
    pics = images(4, seed=3)
    hf, tok = video_model.hf, video_model.tokenizer
    answer = video_model.generate([ModelInput(PROMPT, pics)],
                                  GenerationSettings(num_beams=1, max_new_tokens=3))[0]
    video = [hf.config.video_token_index] * hf.config.num_query_tokens * len(pics)
    ids = video + tok(PROMPT)["input_ids"]
    qids = torch.tensor([video_model.qformer_tokenizer(PROMPT)["input_ids"]])
    new: list[int] = []
    for _ in range(3):
        logits = hf(pixel_values=hand_pixels(pics)[None], qformer_input_ids=qids,
                    input_ids=torch.tensor([ids + new])).logits[0, -1]
        token = int(logits.argmax())
        if token == tok.convert_tokens_to_ids("</s>"):
            break
        new.append(token)
    assert answer == tok.decode(new, skip_special_tokens=True).strip()


def test_settings_come_from_the_file_transformers_reads(tmp_path, video_model):
    from ibench.models.base import ModelLoadError
    from ibench.models.blipvideo import frame_image_processor

    settings = json.loads((Path(_MEMO["path"]) / "processor_config.json").read_text())
    legacy = dict(settings["video_processor"], size={"height": 48, "width": 48})
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps(legacy))
    assert frame_image_processor(tmp_path)[0].size == {"height": 48, "width": 48}
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps(
        {"video_processor_type": "InstructBlipVideoVideoProcessor"}))
    processor = frame_image_processor(tmp_path)[0]  # the class defaults (384, CLIP mean)
    assert processor.size == {"height": 384, "width": 384}
    assert list(processor.image_mean) == pytest.approx(MEAN.tolist())
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps(
        dict(legacy, do_center_crop=True, crop_size={"height": 40, "width": 40})))
    with pytest.raises(ModelLoadError, match="do_center_crop"):
        frame_image_processor(tmp_path)
    (tmp_path / "video_preprocessor_config.json").unlink()
    with pytest.raises(ModelLoadError, match="without a video processor config"):
        frame_image_processor(tmp_path)


def test_a_checkpoint_without_its_video_processor_is_one_line(capsys, sample_pack, tmp_path,
                                                              video_model):
    copy = tmp_path / "ckpt"
    shutil.copytree(_MEMO["path"], copy)
    (copy / "processor_config.json").unlink()
    code, out, err = run_cli(capsys, "eval", "--model", str(copy), "--tasks", "msvd_qa",
                             "--data-root", str(sample_pack), "--output", str(tmp_path / "runs"))
    assert code == 1
    assert err.startswith("error: ") and "without a video processor config" in err
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1


def test_eval_video_tasks_with_the_video_classes(capsys, tmp_path, video_model):
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-vicuna-video", "--tasks",
                             "msvd_qa,msrvtt_qa,ivqa", "--output", str(tmp_path))
    assert code == 0, err
    run = next(tmp_path.iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["model_info"]["model_class"] == "InstructBlipVideoForConditionalGeneration"
    metrics = json.loads((run / "metrics.json").read_text())["tasks"]
    assert set(metrics) == {"msvd_qa", "msrvtt_qa", "ivqa"}
    for task in metrics:
        lines = (run / "predictions" / f"{task}.jsonl").read_text().splitlines()
        assert lines and all(json.loads(line).get("error") is None for line in lines)
