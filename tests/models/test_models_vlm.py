"""Other transformers vision-language models (models/vlm.py) on ibench's protocol.

The reference scores are the HF model's own full forward, one per (sample, candidate), over
the prompt text written out here by hand (the publishers' chat templates), the processor's
image tokens and the candidate's tokens; the greedy reference is a hand-written argmax loop.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import models_fixtures  # noqa: F401 - sets HF_HUB_OFFLINE before transformers loads
import pytest
import torch
from cli_helpers import run_cli
from models_fixtures import images

from ibench.records import GenerationSettings, ModelInput

PROMPTS = ("Question: what is this? Short answer:",
           'Based on the image, is this statement true or false? "a dog on a bed" Answer:')
CANDIDATES = ("yes", "a red bus", "skateboarding on the sidewalk", "no", "two cats")
_MEMO: dict[str, object] = {}


@pytest.fixture(scope="module")
def vlms(ibench_cache) -> dict[str, object]:
    """The tiny LLaVA-style and Qwen2-VL-style models, built into the session's cache (where
    the tiny-llava alias finds it) and loaded through ibench (fp32, CPU)."""
    from ibench.models import load_model
    from ibench.models.tiny.checkpoints import ensure_tiny

    if not _MEMO:
        _MEMO.update({kind: load_model(str(ensure_tiny(kind)), device="cpu")
                      for kind in ("llava", "qwen2vl")})
    return _MEMO


def llava_text(prompt: str, frames: int = 1) -> str:
    """llava-hf/llava-1.5-7b-hf's chat template, rendered by hand."""
    return "USER: " + "<image>\n" * frames + prompt + " ASSISTANT:"


def qwen_text(prompt: str, frames: int = 1) -> str:
    """Qwen2-VL-Instruct's chat template, rendered by hand."""
    return ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            + "<|vision_start|><|image_pad|><|vision_end|>" * frames + prompt
            + "<|im_end|>\n<|im_start|>assistant\n")


@torch.no_grad()
def naive(model, text: str, frames, candidates) -> list[float]:
    """Summed log-likelihood of each candidate by one full forward of the HF model."""
    enc = model.processor(text=[text], images=list(frames), return_tensors="pt")
    out = []
    for cand in candidates:
        ids = model.processor.tokenizer(cand, add_special_tokens=False)["input_ids"]
        extra = {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask",
                                                           "mm_token_type_ids")}
        if "mm_token_type_ids" in enc:  # Qwen2-VL: text tokens are type 0
            extra["mm_token_type_ids"] = torch.cat(
                [enc["mm_token_type_ids"], torch.zeros(1, len(ids), dtype=torch.long)], 1)
        full = torch.cat([enc["input_ids"], torch.tensor([ids])], 1)
        logp = model.hf(input_ids=full, **extra).logits[0].double().log_softmax(-1)
        start = enc["input_ids"].shape[1] - 1
        out.append(sum(logp[start + j, t].item() for j, t in enumerate(ids)))
    return out


@pytest.mark.parametrize("kind, text", [("llava", llava_text), ("qwen2vl", qwen_text)])
def test_rank_equals_a_full_forward_per_candidate(vlms, kind, text):
    model = vlms[kind]
    pics = images(3, seed=4)
    inputs = [ModelInput(PROMPTS[0], [pics[0]], CANDIDATES),
              ModelInput(PROMPTS[1], [pics[1]], CANDIDATES[:3]),
              ModelInput(PROMPTS[0], pics, CANDIDATES[2:])]  # a video: frames as images
    expected = [naive(model, text(item.prompt, len(item.frames)), item.frames, item.candidates)
                for item in inputs]
    for chunk in (None, 1, 2):
        got = model.rank(inputs, chunk_size=chunk)
        for g, e in zip(got, expected, strict=True):
            assert g == pytest.approx(e, abs=1e-4)
    assert model.rendered_prompt(PROMPTS[0], 3) == text(PROMPTS[0], 3)


def test_rank_batches_samples_and_tokenizes_a_list_once(vlms):
    """The candidates of several samples share trie forwards (one here, where scoring one at a
    time takes one per sample), scores bitwise those of each sample alone; a candidate list
    met again is not tokenized again."""
    model = vlms["llava"]
    pics = images(4, seed=6)
    inputs = [ModelInput(PROMPTS[i % 2], [pics[i]], CANDIDATES) for i in range(4)]
    alone = [model.rank([item])[0] for item in inputs]
    calls = []
    hook = model.text_lm.register_forward_hook(lambda *_: calls.append(1))
    try:
        before = model.candidate_tokenizations
        together = model.rank(inputs)
    finally:
        hook.remove()
    assert together == alone  # bitwise, on CPU
    assert len(calls) == 1
    assert model.candidate_tokenizations == before  # the list was tokenized for `alone`
    assert model.candidate_token_ids(CANDIDATES) is model.candidate_token_ids(tuple(CANDIDATES))


@pytest.mark.parametrize("kind, text", [("llava", llava_text), ("qwen2vl", qwen_text)])
def test_the_vision_encoder_runs_once_per_media_item(vlms, kind, text):
    """Questions on one image (and on one 3-frame video) run its vision encoder once; the
    reused features give the full forward's scores."""
    model = vlms[kind]
    pics = images(3, seed=21)
    inputs = [ModelInput(PROMPTS[0], [pics[0]], CANDIDATES, media_key="img-a"),
              ModelInput(PROMPTS[1], [pics[0]], CANDIDATES[:3], media_key="img-a"),
              ModelInput(PROMPTS[1], pics, CANDIDATES[1:], media_key="clip-b"),
              ModelInput(PROMPTS[0], pics, CANDIDATES[1:], media_key="clip-b")]
    calls = []
    vision = model.hf.model.get_image_features
    model.hf.model.get_image_features = lambda *a, **k: calls.append(1) or vision(*a, **k)
    before = model.vision_counts()
    try:
        got = model.rank(inputs)
    finally:
        del model.hf.model.get_image_features
    assert len(calls) == 2  # one per media item
    after = model.vision_counts()
    assert after["vision_encoder_calls"] - before["vision_encoder_calls"] == 2
    assert after["vision_encoder_reused"] - before["vision_encoder_reused"] == 2
    for item, scores in zip(inputs, got, strict=True):
        expected = naive(model, text(item.prompt, len(item.frames)), item.frames,
                         item.candidates)
        assert scores == pytest.approx(expected, abs=1e-4)


class _Refuses:
    def __call__(self, *args, **kwargs):
        raise AssertionError("the image processor ran on the model thread")


@pytest.mark.parametrize("kind", ["llava", "qwen2vl"])
def test_image_features_prepared_in_the_workers_are_not_computed_again(vlms, kind):
    """`preprocess` (what the media workers run) gives the features the processor would
    compute with the prompt: the model thread's encoding is bitwise the same, and its image
    processor is never called there."""
    model = vlms[kind]
    pics = images(4, seed=13)
    groups = [[pics[0]], [pics[1]], pics[1:]]  # two images of other sizes, frames as images
    plain = [ModelInput(PROMPTS[i % 2], g, CANDIDATES) for i, g in enumerate(groups)]
    prepared = [ModelInput(i.prompt, i.frames, i.candidates, pixels=model.preprocess(i.frames))
                for i in plain]
    expected = model._encode(plain)
    real = model.processor.image_processor
    model.processor.image_processor = _Refuses()
    try:
        got = model._encode(prepared)
    finally:
        model.processor.image_processor = real
    assert model.processor.image_processor is real
    assert set(got) == set(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    assert model.rank(prepared) == model.rank(plain)


def test_workers_use_the_image_settings_the_processor_call_gives(vlms):
    """A processor whose call hands its image processor other settings than the image
    processor's own (here: no center crop) gets those in the workers too."""
    import copy

    from ibench.models.vlm import VisionLanguageModel

    base = vlms["llava"]
    processor = copy.deepcopy(base.processor)
    merge = processor._merge_kwargs

    def merged(*args, **kwargs):
        out = merge(*args, **kwargs)
        out["images_kwargs"]["do_center_crop"] = False
        return out

    processor._merge_kwargs = merged
    model = VisionLanguageModel(base.hf, processor, name="no-crop")
    frame = images(1, seed=5)[0]  # 30x41: not square
    prepared = model.preprocess([frame])["pixel_values"]
    own = processor(text=[llava_text("a")], images=[frame], return_tensors="pt")["pixel_values"]
    assert prepared.shape[-2] != prepared.shape[-1]  # the crop was not applied
    assert torch.equal(prepared, own)


def test_an_image_the_processor_refuses_fails_its_request_only(vlms):
    from PIL import Image

    model = vlms["qwen2vl"]
    odd = Image.new("RGB", (2000, 8))  # Qwen2-VL refuses an aspect ratio over 200
    assert model.preprocess([odd]) is None  # the worker does not raise
    with pytest.raises(ValueError, match="aspect ratio"):
        model.rank([ModelInput(PROMPTS[0], [odd], CANDIDATES, media_key="odd")])


def test_the_kept_vision_output_is_the_models_own_and_a_bad_one_is_not_reused(vlms):
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    model = vlms["llava"]
    pic = images(1, seed=31)
    model.rank([ModelInput(PROMPTS[0], pic, CANDIDATES, media_key="kept")])
    kept = model._vision_cache[("kept", "image")]
    assert kept.pooler_output is not None and kept.last_hidden_state is not None
    assert kept.hidden_states is None  # the per-layer states are not kept
    model._vision_cache[("kept", "image")] = BaseModelOutputWithPooling()  # unusable
    try:
        got = model.rank([ModelInput(PROMPTS[1], pic, CANDIDATES, media_key="kept")])[0]
        assert got == pytest.approx(naive(model, llava_text(PROMPTS[1]), pic, CANDIDATES),
                                    abs=1e-4)
        assert model.takes_encoder_outputs is False
    finally:
        model.takes_encoder_outputs = True


def test_both_candidate_layouts_agree_with_the_reference(vlms):
    from ibench.models.rank.loglik import score_candidates

    for kind, text in (("llava", llava_text), ("qwen2vl", qwen_text)):
        model = vlms[kind]
        item = ModelInput(PROMPTS[1], images(1, seed=9), CANDIDATES)
        expected = naive(model, text(item.prompt), item.frames, CANDIDATES)
        ids = [model.candidate_ids(c) for c in CANDIDATES]
        for packed in (True, False):
            state = model.prefix(item)
            got = score_candidates(model.text_lm, state, ids, None, 0, packed=packed)
            assert got == pytest.approx(expected, abs=1e-4)


@torch.no_grad()
def test_generate_is_greedy_argmax_and_batch_invariant(vlms):
    model = vlms["llava"]
    pics = images(3, seed=2)
    inputs = [ModelInput(p, [im]) for p, im in zip((*PROMPTS, "A photo of"), pics, strict=True)]
    greedy = GenerationSettings(num_beams=1, max_new_tokens=4, min_new_tokens=1)
    stop = model.processor.tokenizer.eos_token_id
    for item, answer in zip(inputs, model.generate(inputs, greedy), strict=True):
        enc = model.processor(text=[llava_text(item.prompt)], images=item.frames,
                              return_tensors="pt")
        ids = enc["input_ids"]
        for step in range(4):
            logits = model.hf(input_ids=ids, pixel_values=enc["pixel_values"]).logits[0, -1]
            if step == 0:
                logits[stop] = -float("inf")  # min_new_tokens=1
            token = int(logits.argmax())
            if token == stop:
                break
            ids = torch.cat([ids, torch.tensor([[token]])], 1)
        new = ids[0, enc["input_ids"].shape[1]:]
        assert answer == model.processor.tokenizer.decode(new, skip_special_tokens=True).strip()
    beams = GenerationSettings(num_beams=3, max_new_tokens=6, repetition_penalty=1.5)
    assert model.generate(inputs, beams) == [model.generate([i], beams)[0] for i in inputs]


@torch.no_grad()
def test_qwen2vl_generate_is_batch_invariant(vlms):
    """Left padding under M-RoPE: each row's positions come from its own tokens."""
    model = vlms["qwen2vl"]
    pics = images(4, seed=8)
    inputs = [ModelInput(PROMPTS[0], [pics[0]]), ModelInput(PROMPTS[1], [pics[1]]),
              ModelInput("A photo of", pics[1:])]  # prompts and image sizes of other lengths
    for settings in (GenerationSettings(num_beams=1, max_new_tokens=5),
                     GenerationSettings(num_beams=3, max_new_tokens=5, repetition_penalty=1.5)):
        assert model.generate(inputs, settings) == [model.generate([i], settings)[0]
                                                    for i in inputs]


def test_identity_follows_the_published_configs(vlms):
    llava, qwen = vlms["llava"], vlms["qwen2vl"]
    cfg, tok = llava.hf.config, llava.tokenizer
    # llava-1.5-7b-hf: <image> = 32000 and <pad> = 32001, the two ids after LLaMA's 32,000
    assert cfg.image_token_index == tok.convert_tokens_to_ids("<image>") == 1000
    assert cfg.pad_token_id == tok.convert_tokens_to_ids("<pad>") == 1001
    assert (cfg.vision_feature_layer, cfg.vision_feature_select_strategy) == (-2, "default")
    assert cfg.vision_config.patch_size == 14 and tok("a")["input_ids"][0] == 1  # <s>
    info = llava.info()
    assert info["family"] == "llava" and info["image_tokens_336px"] == (56 // 14) ** 2
    assert info["processor"]["processor_patch_size"] == 14
    assert info["processor"]["processor_num_additional_image_tokens"] == 1
    template = llava.processor.chat_template
    assert info["chat_template_sha256"] == hashlib.sha256(template.encode()).hexdigest()
    # Qwen2-VL-2B-Instruct: <|endoftext|> = 151643 starts the added tokens; vision_start is 9
    # after it, image_pad 12, video_pad 13
    q = qwen.hf.config
    first = qwen.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert (q.vision_start_token_id - first, q.image_token_id - first,
            q.video_token_id - first) == (9, 12, 13)
    assert q.vision_config.spatial_merge_size == 2 and q.vision_config.temporal_patch_size == 2
    assert qwen.info()["family"] == "qwen2_vl" and qwen.info()["video_input"] == (
        "video" if getattr(qwen.processor, "video_processor", None) else "frames as images")


def test_eval_tiny_llava_held_out_beside_the_paper(capsys, vlms, tmp_path, monkeypatch):
    monkeypatch.delenv("IBENCH_DATA_ROOT", raising=False)
    code, out, err = run_cli(capsys, "eval", "--model", "tiny-llava", "--split", "held-out",
                             "--output", str(tmp_path), "--run-name", "llava")
    assert code == 0, err
    run = tmp_path / "llava"
    metrics = json.loads((run / "metrics.json").read_text())
    assert len([t for t, e in metrics["tasks"].items() if "value" in e]) == 13
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["model_info"]["family"] == "llava"
    assert manifest["model_info"]["chat_template_sha256"]
    line = json.loads((run / "predictions" / "gqa.jsonl").read_text().splitlines()[0])
    assert line["model_prompt"] == llava_text(line["prompt"])
    video = json.loads((run / "predictions" / "msvd_qa.jsonl").read_text().splitlines()[0])
    assert video["model_prompt"] == llava_text(video["prompt"], len(video["frames"]))
    code, board, _ = run_cli(capsys, "leaderboard", str(run), "--format", "md")
    assert code == 0 and "InstructBLIP (Vicuna-7B)" in board and "llava (tiny-llava" in board
    assert "difference to" not in board and "not InstructBLIP (no paper row)" in board
    assert "chat template" in board and "image tokens" in board


def test_a_hub_id_runs_from_the_hub_cache_offline(capsys, vlms, tmp_path, monkeypatch):
    """`--model llava-1.5-7b` (its hub id llava-hf/llava-1.5-7b-hf) found as a hub-cache
    snapshot, offline: the tiny LLaVA's files laid out as `hf download` leaves them."""
    import shutil

    import huggingface_hub.constants

    from ibench.models.tiny.checkpoints import ensure_tiny

    commit = "a272c74b2481d8aff3aa6fc2c4bf891fe57334fb"
    repo = tmp_path / "hub" / "models--llava-hf--llava-1.5-7b-hf"
    shutil.copytree(ensure_tiny("llava"), repo / "snapshots" / commit)
    (repo / "snapshots" / commit / "ibench_tiny.json").unlink()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("IBENCH_DATA_ROOT", raising=False)
    code, out, err = run_cli(capsys, "eval", "--model", "llava-1.5-7b", "--tasks", "vsr,msvd_qa",
                             "--output", str(tmp_path / "runs"), "--run-name", "hub")
    assert code == 0, err
    info = json.loads((tmp_path / "runs" / "hub" / "manifest.json").read_text())["model_info"]
    assert info["model_id"] == "llava-hf/llava-1.5-7b-hf" and info["revision"] == commit
    assert info["model_class"] == "LlavaForConditionalGeneration"


def test_make_tiny_llava(capsys, tmp_path):
    code, out, err = run_cli(capsys, "models", "make-tiny", "llava", str(tmp_path / "l"))
    assert code == 0, err
    config = json.loads((tmp_path / "l" / "config.json").read_text())
    assert config["model_type"] == "llava" and config["image_token_index"] == 1000


def _checkpoint(root: Path, config: dict, weights: bool = True) -> Path:
    root.mkdir()
    (root / "config.json").write_text(json.dumps(config))
    if weights:
        (root / "model.safetensors").write_bytes(b"")
    return root


@pytest.mark.parametrize("config, says", [
    ({"model_type": "no-such-vlm"}, "model_type 'no-such-vlm' is not a model transformers"),
    ({"model_type": "bert"}, "model_type 'bert' has no image-text-to-text class"),
    ({"model_type": "pix2struct"}, "pix2struct is an encoder-decoder model"),
])
def test_a_model_ibench_cannot_drive_is_one_line(capsys, sample_pack, tmp_path, config, says):
    path = _checkpoint(tmp_path / "m", config)
    code, out, err = run_cli(capsys, "eval", "--model", str(path), "--tasks", "gqa",
                             "--data-root", str(sample_pack), "--output", str(tmp_path / "runs"))
    assert code == 1 and says in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_a_processor_ibench_cannot_build_is_one_line(capsys, sample_pack, vlms, tmp_path):
    from ibench.models.tiny.checkpoints import ensure_tiny

    path = tmp_path / "no-tokenizer"
    path.mkdir()
    for item in ensure_tiny("llava").iterdir():
        if not item.name.startswith("tokenizer"):
            (path / item.name).write_bytes(item.read_bytes())
    code, _, err = run_cli(capsys, "eval", "--model", str(path), "--tasks", "gqa",
                           "--data-root", str(sample_pack), "--output", str(tmp_path / "runs"))
    assert code == 1 and "cannot build the processor" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
