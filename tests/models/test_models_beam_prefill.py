"""Beam search prefills the prompt once per input (decoder-only), with the same answers."""

from __future__ import annotations

import torch
from models_fixtures import (  # noqa: F401 - fixtures
    PROMPTS,
    images,
    tiny_dirs_fixture,
    tiny_models_fixture,
)

from ibench.models.instructblip import _repetition_penalty
from ibench.records import GenerationSettings, ModelInput

SETTINGS = GenerationSettings(num_beams=5, max_new_tokens=8, min_new_tokens=1,
                              length_penalty=1.0, repetition_penalty=1.5)


def _inputs() -> list[ModelInput]:
    """Prompts of different lengths (so the batch is left-padded)."""
    pictures = images(4, seed=13)
    return [ModelInput(p, [im]) for p, im in zip(PROMPTS, pictures, strict=False)]


def _widths(lm_body: torch.nn.Module, run) -> list[tuple[int, int]]:
    """(rows, columns) of every forward of the LM body while run() runs."""
    seen: list[tuple[int, int]] = []

    def hook(module, args, kwargs):
        x = kwargs.get("inputs_embeds")
        x = kwargs.get("input_ids") if x is None else x
        seen.append(tuple(x.shape[:2]))

    handle = lm_body.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return seen


@torch.no_grad()
def test_beam_search_prefills_once_with_the_same_answers(tiny_models):
    model = tiny_models["vicuna"]
    inputs = _inputs()
    embeds, mask = model._pad_batch(model.prefix_embeds(inputs))
    old: list[str] = []

    def before():  # the call ibench made before: generate prefills num_beams copies
        out = model.lm.generate(
            inputs_embeds=embeds, attention_mask=mask, do_sample=False, num_beams=5,
            num_return_sequences=1, max_new_tokens=8, min_new_tokens=1, length_penalty=1.0,
            repetition_penalty=1.0, logits_processor=_repetition_penalty(1.5),
            eos_token_id=model.stop_token_ids(), pad_token_id=model._pad_id())
        old.extend(model._decode(out))

    new: list[str] = []
    old_calls = _widths(model.lm.model, before)
    new_calls = _widths(model.lm.model, lambda: new.extend(model.generate(inputs, SETTINGS)))
    width = embeds.shape[1]
    assert old_calls[0] == (4 * 5, width)  # what transformers does on its own
    assert new_calls[0] == (4, width - 1)  # the prompt once per input
    assert all(cols == 1 for _, cols in new_calls[1:])  # then one column per step
    assert new == old and len(set(new)) > 1
    singles = [model.generate([item], SETTINGS)[0] for item in inputs]
    assert singles == new


@torch.no_grad()
def test_t5_encoder_already_runs_once_per_input(tiny_models):
    # transformers encodes first and repeats the encoder output to the beams, and the
    # decoder's prompt is its start token: nothing to save there.
    model = tiny_models["t5"]
    calls = _widths(model.lm.encoder, lambda: model.generate(_inputs(), SETTINGS))
    assert [rows for rows, _ in calls] == [4]


def test_one_beam_or_one_column_needs_no_prefill(tiny_models):
    from ibench.models.beams import prefill_for_beams

    lm = tiny_models["vicuna"].lm
    embeds, mask = torch.zeros(2, 5, lm.config.hidden_size), torch.ones(2, 5, dtype=torch.long)
    assert prefill_for_beams(lm, embeds, mask, 1) is None
    assert prefill_for_beams(lm, embeds[:, :1], mask[:, :1], 5) is None
    cache = prefill_for_beams(lm, embeds, mask, 3)
    assert cache.get_seq_length() == 4 and cache.layers[0].keys.shape[0] == 6
