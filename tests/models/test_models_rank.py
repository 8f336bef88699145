"""rank: equals one full HF forward per candidate (LAVIS's way), whatever batch or chunk size."""

from __future__ import annotations

import pytest
import torch
from models_fixtures import (  # noqa: F401 - fixtures
    CANDIDATES,
    PROMPTS,
    hf_processors_fixture,
    images,
    naive_scores,
    tiny_dirs_fixture,
    tiny_models_fixture,
)

from ibench.records import ModelInput

KINDS = ("t5", "vicuna")


def _close(a: list[float], b: list[float], tol: float, rel: float = 0.0) -> bool:
    """Element-wise |a - b| <= tol + rel * |b|."""
    pairs = zip(a, b, strict=True)
    return len(a) == len(b) and all(abs(x - y) <= tol + rel * abs(y) for x, y in pairs)


@pytest.mark.parametrize("kind", KINDS)
def test_candidates_have_different_token_lengths(tiny_models, kind):
    lengths = {len(tiny_models[kind].candidate_ids(c)) for c in CANDIDATES}
    assert len(lengths) >= 3


@pytest.mark.parametrize("kind", KINDS)
def test_rank_equals_naive_full_forward(tiny_models, hf_processors, kind):
    model, proc = tiny_models[kind], hf_processors[kind]
    frames = images(2)
    inputs = [ModelInput(PROMPTS[i], [frames[i]], CANDIDATES) for i in (0, 1)]
    got = model.rank(inputs)
    for item, scores in zip(inputs, got, strict=True):
        expected = naive_scores(model, proc, item.prompt, item.frames, CANDIDATES)
        assert _close(scores, expected, 1e-4), (scores, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_rank_video_equals_hf_video_model(tiny_models, hf_processors, kind):
    model, proc = tiny_models[kind], hf_processors[kind]
    frames = images(4, seed=3)
    got = model.rank([ModelInput(PROMPTS[2], frames, CANDIDATES)])[0]
    expected = naive_scores(model, proc, PROMPTS[2], frames, CANDIDATES)
    assert _close(got, expected, 1e-4), (got, expected)
    one_frame = model.rank([ModelInput(PROMPTS[2], frames[:1], CANDIDATES)])[0]
    assert not _close(got, one_frame, 1e-3)  # the other frames matter


@pytest.mark.parametrize("kind", KINDS)
def test_rank_same_whatever_batch_and_chunk_size(tiny_models, kind):
    model = tiny_models[kind]
    frames = images(5, seed=1)
    inputs = [ModelInput(p, [f], CANDIDATES[: 2 + i])
              for i, (p, f) in enumerate(zip(PROMPTS, frames, strict=True))]
    batched = model.rank(inputs)
    singles = [model.rank([x])[0] for x in inputs]
    # batched vision matmuls differ from single ones by fp32 rounding (~1e-7 relative per op),
    # which the tiny T5's peaky logits amplify to ~1e-6 relative on scores of ~10-100.
    for a, b in zip(batched, singles, strict=True):
        assert _close(a, b, 1e-5, rel=1e-5)
    for chunk in (1, 2, 3, 100):
        for a, b in zip(model.rank(inputs, chunk_size=chunk), batched, strict=True):
            assert _close(a, b, 1e-5, rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_qformer_prompt_is_honoured(tiny_models, hf_processors, kind):
    model, proc = tiny_models[kind], hf_processors[kind]
    frame = images(1)[0]
    other = "What is the dog doing in the park?"
    got = model.rank([ModelInput(PROMPTS[0], [frame], CANDIDATES, qformer_prompt=other)])[0]
    expected = naive_scores(model, proc, PROMPTS[0], [frame], CANDIDATES, qformer_text=other)
    assert _close(got, expected, 1e-4)
    plain = model.rank([ModelInput(PROMPTS[0], [frame], CANDIDATES)])[0]
    assert not _close(got, plain, 1e-3)


@pytest.mark.parametrize("kind", KINDS)
def test_qformer_text_left_truncated_to_128_bert_tokens(tiny_models, hf_processors, kind):
    model, proc = tiny_models[kind], hf_processors[kind]
    frame = images(1)[0]
    long_prompt = " ".join(f"word{i}" for i in range(100)) + " Question: what is it? Answer:"
    words = proc.qformer_tokenizer(long_prompt, add_special_tokens=False)["input_ids"]
    assert len(words) > 126
    cls, sep = proc.qformer_tokenizer.cls_token_id, proc.qformer_tokenizer.sep_token_id
    by_hand = [cls, *words[-126:], sep]  # LAVIS: truncation_side="left", max_length=128
    got = model.rank([ModelInput(long_prompt, [frame], CANDIDATES[:3])])[0]
    expected = naive_scores(model, proc, long_prompt, [frame], CANDIDATES[:3], qformer_ids=by_hand)
    assert _close(got, expected, 1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_ablation_gives_the_qformer_no_text(tiny_dirs, tiny_models, kind):
    from ibench.models import load_model

    ablated = load_model(str(tiny_dirs[kind]), device="cpu", qformer_instruction=False)
    assert ablated.info()["qformer_instruction"] is False
    frame = images(1)[0]
    base = tiny_models[kind].rank([ModelInput(PROMPTS[0], [frame], CANDIDATES)])[0]
    empty_input = ModelInput(PROMPTS[0], [frame], CANDIDATES, qformer_prompt="")
    empty = tiny_models[kind].rank([empty_input])[0]
    got = ablated.rank([ModelInput(PROMPTS[0], [frame], CANDIDATES, qformer_prompt="ignored")])[0]
    assert _close(got, empty, 1e-5)
    assert not _close(got, base, 1e-3)
    # no text: the query outputs are those of HF's Q-Former run on the queries alone
    hf = ablated.hf
    pixels = ablated._pixels([frame])
    with torch.no_grad():
        img = hf.vision_model(pixel_values=pixels).last_hidden_state
        q = hf.qformer(input_ids=None, query_embeds=hf.query_tokens, encoder_hidden_states=img)
        expected = hf.language_projection(q.last_hidden_state)
    torch.testing.assert_close(ablated.visual_prefix([ModelInput("x", [frame])])[0], expected[0])


def test_decoder_only_candidate_keeps_its_leading_space_form(tiny_models):
    model = tiny_models["vicuna"]
    ids = model.candidate_ids("yes")
    assert model.tokenizer.convert_ids_to_tokens(ids) == ["▁yes"]
    assert model.tokenizer.bos_token_id not in ids and model.tokenizer.eos_token_id not in ids


def test_t5_candidate_ends_with_eos(tiny_models):
    model = tiny_models["t5"]
    ids = model.candidate_ids("yes")
    assert ids[-1] == 1 and len(ids) == 2


def test_empty_candidate_is_an_error(tiny_models):
    # (a T5 candidate always holds </s>, so only a decoder-only one can be empty)
    with pytest.raises(ValueError, match="empty"):
        tiny_models["vicuna"].rank([ModelInput(PROMPTS[0], images(1), ("yes", ""))])


def test_rank_without_candidates(tiny_models):
    model = tiny_models["vicuna"]
    assert model.rank([]) == []
    assert model.rank([ModelInput(PROMPTS[0], images(1))]) == [[]]


def test_packed_and_expanded_layouts_agree(tiny_models):
    from ibench.models.rank.loglik import score_candidates
    from ibench.models.rank.prefix import packable, prefix_state

    model = tiny_models["vicuna"]
    assert packable(model.lm) and not packable(tiny_models["t5"].lm)
    item = ModelInput(PROMPTS[2], images(1, seed=9), CANDIDATES)
    ids = [model.candidate_ids(c) for c in CANDIDATES]
    with torch.no_grad():
        state = prefix_state(model.lm, model.prefix_embeds([item])[0])
        packed = score_candidates(model.lm, state, ids, None, 0, packed=True)
        for chunk in (None, 2):
            expanded = score_candidates(model.lm, state, ids, chunk, 0, packed=False)
            assert _close(packed, expanded, 1e-5, rel=1e-5)
    assert _close(packed, model.rank([item])[0], 1e-5, rel=1e-5)
