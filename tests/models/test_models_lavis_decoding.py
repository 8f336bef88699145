"""Decoding with LAVIS's arguments (protocol.md section 3): the task files' numbers resolve to
what transformers 4.33 made of them, and ibench's output equals a direct transformers call
with LAVIS's own arguments (FlanT5) or their new-token equivalent (Vicuna)."""

from __future__ import annotations

import copy

import pytest
import torch
from models_fixtures import (  # noqa: F401 - fixtures
    PROMPTS,
    images,
    tiny_dirs_fixture,
    tiny_models_fixture,
)

from ibench.protocol.suite import load_tasks
from ibench.records import GenerationSettings, ModelInput

TASKS = load_tasks()
SHORT_TASKS = ("gqa", "textvqa", "vizwiz", "ivqa", "vqav2", "okvqa", "ocrvqa")
CAPTION_TASKS = ("nocaps", "flickr30k", "coco_caption", "textcaps")


@pytest.mark.parametrize("task", SHORT_TASKS)
def test_short_answer_settings_are_lavis_predict_answers(task):
    # predict_answers: num_beams=5, max_len=10, min_len=1, length_penalty -1 (FlanT5) / 0
    # (Vicuna), generate's repetition_penalty=1.5; FlanT5's min_length counts the decoder
    # start token, so 1 allows an empty answer (0 new tokens).
    spec = TASKS[task]
    assert spec.generation_settings("encoder-decoder") == GenerationSettings(
        num_beams=5, max_new_tokens=10, min_new_tokens=0, length_penalty=-1.0,
        repetition_penalty=1.5)
    assert spec.generation_settings("decoder-only") == GenerationSettings(
        num_beams=5, max_new_tokens=10, min_new_tokens=1, length_penalty=0.0,
        repetition_penalty=1.5)


@pytest.mark.parametrize("task", CAPTION_TASKS)
def test_caption_settings_are_lavis_caption_configs(task):
    # run.max_len 80, run.min_len 10, generate's length_penalty=1 and repetition_penalty=1.5:
    # 9 new tokens at least for FlanT5 (the decoder start counts), 10 for Vicuna.
    spec = TASKS[task]
    assert spec.generation_settings("encoder-decoder") == GenerationSettings(
        num_beams=5, max_new_tokens=80, min_new_tokens=9, length_penalty=1.0,
        repetition_penalty=1.5)
    assert spec.generation_settings("decoder-only").min_new_tokens == 10


@pytest.mark.parametrize("task", (*SHORT_TASKS, *CAPTION_TASKS, "vqg_vqav2", "llava_conv"))
def test_every_decoding_value_names_its_source(task):
    sources = TASKS[task].generation["sources"]
    assert set(sources) == {"num_beams", "max_length", "min_length", "length_penalty",
                            "repetition_penalty"}
    assert all(len(text) > 20 for text in sources.values())


@torch.no_grad()
def _lavis_t5(model, item: ModelInput) -> str:
    """blip2_t5_instruct.predict_answers -> generate, with LAVIS's literal arguments."""
    prefix = model.prefix_embeds([item])[0].unsqueeze(0)
    out = model.lm.generate(inputs_embeds=prefix, attention_mask=torch.ones(prefix.shape[:2]),
                            do_sample=False, num_beams=5, max_new_tokens=10, min_length=1,
                            repetition_penalty=1.5, length_penalty=-1.0)
    return model.tokenizer.decode(out[0], skip_special_tokens=True).strip()


@torch.no_grad()
def _lavis_vicuna(model, item: ModelInput) -> str:
    """blip2_vicuna_instruct.predict_answers -> generate: max_length=10, min_length=1 counted
    new tokens under transformers 4.33 (inputs_embeds only), which transformers 5 spells
    max_new_tokens / min_new_tokens; length_penalty=0, repetition_penalty=1.5, stop on </s>."""
    prefix = model.prefix_embeds([item])[0].unsqueeze(0)
    out = model.lm.generate(inputs_embeds=prefix, do_sample=False, num_beams=5,
                            max_new_tokens=10, min_new_tokens=1, repetition_penalty=1.5,
                            length_penalty=0.0, eos_token_id=2, pad_token_id=0)
    out[out == 0] = 2
    return model.tokenizer.decode(out[0], skip_special_tokens=True).strip()


def _inputs(n: int) -> list[ModelInput]:
    frames = images(n, seed=21)
    return [ModelInput(f"Question: what is {w}? Short answer:", [frames[i]])
            for i, w in zip(range(n), ("this", "on the table", "the man holding", "that color",
                                       "in the sky", "the dog doing") * 3, strict=False)]


@pytest.mark.filterwarnings("ignore:Passing `repetition_penalty`")
@pytest.mark.parametrize(("kind", "lavis"), [("t5", _lavis_t5), ("vicuna", _lavis_vicuna)])
def test_gqa_answers_equal_lavis_arguments(tiny_models, kind, lavis):
    model = tiny_models[kind]
    settings = TASKS["gqa"].generation_settings(model.architecture)
    inputs = _inputs(12)
    got = model.generate(inputs, settings)
    assert got == [lavis(model, x) for x in inputs]
    old = GenerationSettings(num_beams=5, max_new_tokens=10, min_new_tokens=1,
                             length_penalty=settings.length_penalty, repetition_penalty=1.0)
    assert got != model.generate(inputs, old)  # the repetition penalty changes answers


@torch.no_grad()
def _eos_prone_t5(model):
    """A tiny FlanT5 whose </s> logit is raised, as an EOS-prone model: LAVIS's min_length=1
    (decoder start counted) then lets it answer nothing at all."""
    prone = copy.copy(model)
    prone.lm = copy.deepcopy(model.lm)
    head = prone.lm.get_output_embeddings()
    start = prone.lm.config.decoder_start_token_id
    enc = _inputs(12)
    firsts = []
    for item in enc:
        prefix = model.prefix_embeds([item])[0].unsqueeze(0)
        logits = model.lm(inputs_embeds=prefix,
                          decoder_input_ids=torch.tensor([[start]])).logits[0, -1]
        firsts.append(int(logits.argmax()))
    common = max(set(firsts), key=firsts.count)
    head.weight[1] = head.weight[1] + head.weight[common]
    return prone


@pytest.mark.filterwarnings("ignore:Passing `repetition_penalty`")
def test_flant5_may_answer_nothing_as_lavis_does(tiny_models):
    model = _eos_prone_t5(tiny_models["t5"])
    settings = TASKS["gqa"].generation_settings("encoder-decoder")
    inputs = _inputs(12)
    got = model.generate(inputs, settings)
    lavis = [_lavis_t5(model, x) for x in inputs]
    assert got == lavis
    assert "" in got, "the EOS-prone tiny FlanT5 must give an empty answer under min_length=1"
    forced = model.generate(inputs, GenerationSettings(
        num_beams=5, max_new_tokens=10, min_new_tokens=1, length_penalty=-1.0,
        repetition_penalty=1.5))
    assert forced.count("") < got.count("")  # one new token forced: what ibench did before


def test_tasks_show_lists_each_decoding_value_with_its_source(capsys):
    from cli_helpers import run_cli, run_json

    record = run_json(capsys, "tasks", "show", "gqa", "--json")
    assert record["generation"]["repetition_penalty"] == 1.5
    assert "predict_answers" in record["generation"]["sources"]["max_length"]
    assert record["generation_effective"]["encoder-decoder"]["min_new_tokens"] == 0
    assert record["generation_effective"]["decoder-only"]["min_new_tokens"] == 1
    code, out, _ = run_cli(capsys, "tasks", "show", "nocaps")
    assert code == 0 and "Decoding" in out and "min 9 new tokens" in out
    assert "caption_coco_" in out  # the LAVIS config the value comes from
