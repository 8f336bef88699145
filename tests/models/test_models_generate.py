"""generate: HF's own generate gives the same text; batch size never changes an output."""

from __future__ import annotations

import pytest
import torch
from models_fixtures import (  # noqa: F401 - fixtures
    PROMPTS,
    hf_processors_fixture,
    images,
    tiny_dirs_fixture,
    tiny_models_fixture,
    video_twin,
)

from ibench.records import GenerationSettings, ModelInput

KINDS = ("t5", "vicuna")
SHORT = GenerationSettings(num_beams=5, max_new_tokens=10, min_new_tokens=1, length_penalty=-1.0)
CAPTION = GenerationSettings(num_beams=5, max_new_tokens=20, min_new_tokens=10,
                             length_penalty=1.0, repetition_penalty=1.5)


@torch.no_grad()
def _hf_generate(model, proc, prompt: str, frames, settings: GenerationSettings) -> str:
    """HF's InstructBLIP (or InstructBLIP-Video) generate via its processor, prompt removed."""
    hf = model.hf
    enc = proc(images=frames[0], text=prompt, return_tensors="pt")
    kwargs = dict(num_beams=settings.num_beams, max_new_tokens=settings.max_new_tokens,
                  min_new_tokens=settings.min_new_tokens, length_penalty=settings.length_penalty,
                  repetition_penalty=settings.repetition_penalty, do_sample=False)
    if len(frames) > 1:
        ids = proc.tokenizer(prompt, return_tensors="pt")["input_ids"]
        n_query = hf.config.num_query_tokens * len(frames)
        image_ids = torch.full((1, n_query), hf.config.image_token_index)
        enc["input_ids"] = torch.cat([image_ids, ids], 1)
        enc["attention_mask"] = torch.ones_like(enc["input_ids"])
        pixels = proc.image_processor(images=frames, return_tensors="pt")["pixel_values"]
        enc["pixel_values"] = pixels.unsqueeze(0)
        hf = video_twin(hf)
    out = hf.generate(**enc, **kwargs)
    if not hf.config.text_config.is_encoder_decoder:
        out = out[:, enc["input_ids"].shape[1]:]  # HF returns the prompt ids too
    return proc.tokenizer.decode(out[0], skip_special_tokens=True).strip()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_frames", [1, 4])
def test_generate_equals_hf_generate(tiny_models, hf_processors, kind, n_frames):
    model, proc = tiny_models[kind], hf_processors[kind]
    frames = images(n_frames, seed=2)
    for prompt in PROMPTS[:2]:
        got = model.generate([ModelInput(prompt, frames)], SHORT)[0]
        assert got == _hf_generate(model, proc, prompt, frames, SHORT)
        assert got and got == got.strip()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("settings", [SHORT, CAPTION], ids=["short", "caption"])
def test_generate_same_whatever_batch_size(tiny_models, kind, settings):
    model = tiny_models[kind]
    inputs = [ModelInput(p, [f]) for p, f in zip(PROMPTS, images(5, seed=4), strict=True)]
    assert len({len(model.prompt_ids(x.prompt)) for x in inputs}) == len(inputs)
    batched = model.generate(inputs, settings)
    singles = [model.generate([x], settings)[0] for x in inputs]
    assert batched == singles
    assert len(set(batched)) > 1  # the tiny model's answers depend on the input


def test_generate_video_batch_mixes_frame_counts(tiny_models):
    model = tiny_models["vicuna"]
    inputs = [ModelInput(PROMPTS[0], images(4, seed=5)), ModelInput(PROMPTS[1], images(1, seed=6)),
              ModelInput(PROMPTS[2], images(3, seed=7))]
    assert model.generate(inputs, SHORT) == [model.generate([x], SHORT)[0] for x in inputs]


@pytest.mark.parametrize("kind", KINDS)
def test_generate_respects_max_new_tokens(tiny_models, kind):
    model = tiny_models[kind]
    settings = GenerationSettings(num_beams=2, max_new_tokens=2, min_new_tokens=2)
    out = model.generate([ModelInput(PROMPTS[1], images(1))], settings)[0]
    ids = model.tokenizer(out, add_special_tokens=False)["input_ids"]
    assert 1 <= len(ids) <= 3  # two tokens, re-tokenized (a merge can split differently)


def test_generate_empty_batch(tiny_models):
    assert tiny_models["t5"].generate([], SHORT) == []


@pytest.mark.filterwarnings("ignore:Passing `repetition_penalty`")
@pytest.mark.parametrize("kind", KINDS)
def test_repetition_penalty_matches_hf_on_generated_tokens(tiny_models, kind):
    # a batch of one has no pads, where transformers' own penalty is right: same tokens
    model = tiny_models[kind]
    item = ModelInput(PROMPTS[1], images(1, seed=8))
    with torch.no_grad():
        prefix = model.prefix_embeds([item])[0].unsqueeze(0)
        out = model.lm.generate(inputs_embeds=prefix, num_beams=5, max_new_tokens=20,
                                min_new_tokens=10, repetition_penalty=1.5, do_sample=False)
    expected = model.tokenizer.decode(out[0], skip_special_tokens=True).strip()
    assert model.generate([item], CAPTION)[0] == expected
