"""The Salesforce Vicuna checkpoints' special tokens, carried by the tiny Vicuna: generation
stops at the tokenizer's `</s>` (never the text_config's eos_token_id 1, which is `<s>`),
prompts start with `</s>`, a ranked candidate loses its leading `</s>`, and no `<unk>` or
`[PAD]` reaches an answer (LAVIS blip2_vicuna_instruct.py: `outputs[outputs == 0] = 2`)."""

from __future__ import annotations

import copy

import pytest
import torch
from models_fixtures import (  # noqa: F401 - fixtures
    CANDIDATES,
    PROMPTS,
    images,
    tiny_dirs_fixture,
    tiny_models_fixture,
)

from ibench.records import GenerationSettings, ModelInput

# the direct transformers calls below pass repetition_penalty with inputs_embeds, as LAVIS does
pytestmark = pytest.mark.filterwarnings("ignore:Passing `repetition_penalty`")

EOS, BOS_TOKEN_ID_IN_CONFIG = 2, 1  # </s>; the text_config's eos_token_id (<s>)
# LAVIS predict_answers for Vicuna: num_beams=5, max_length=10, min_length=1,
# length_penalty=0, generate's repetition_penalty=1.5.
LAVIS_SHORT = GenerationSettings(num_beams=5, max_new_tokens=10, min_new_tokens=1,
                                 length_penalty=0.0, repetition_penalty=1.5)


def _inputs(n: int = 16) -> list[ModelInput]:
    frames = images(n, seed=11)
    return [ModelInput(PROMPTS[i % len(PROMPTS)], [frames[i]]) for i in range(n)]


@torch.no_grad()
def _direct_ids(model, item: ModelInput, eos: int) -> list[int]:
    """A direct transformers generate on the same prefix with LAVIS's arguments (batch of one,
    so transformers' own repetition penalty sees only the generated tokens, as in LAVIS)."""
    prefix = model.prefix_embeds([item])[0].unsqueeze(0)
    out = model.lm.generate(inputs_embeds=prefix, num_beams=5, max_new_tokens=10,
                            min_new_tokens=1, length_penalty=0.0, repetition_penalty=1.5,
                            do_sample=False, eos_token_id=eos, pad_token_id=0)
    return out[0].tolist()


def test_checkpoint_says_eos_1_but_ibench_stops_on_the_tokenizers_eos(tiny_models):
    model = tiny_models["vicuna"]
    assert model.lm.config.eos_token_id == BOS_TOKEN_ID_IN_CONFIG  # the real inconsistency
    assert model.tokenizer.convert_ids_to_tokens(BOS_TOKEN_ID_IN_CONFIG) == "<s>"
    assert model.stop_token_ids() == [EOS]
    assert model.info()["stop_token_ids"] == [EOS]
    assert model.info()["stop_tokens"] == ["</s>"]


def test_a_generation_config_listing_bos_is_not_obeyed(tiny_models):
    model = copy.copy(tiny_models["vicuna"])
    model.hf = copy.copy(model.hf)
    model.hf.generation_config = copy.deepcopy(model.hf.generation_config)
    model.hf.generation_config.eos_token_id = [BOS_TOKEN_ID_IN_CONFIG, EOS]
    assert model.stop_token_ids() == [EOS]


@torch.no_grad()
def _eos_prone(model):
    """A copy whose </s> logit follows its most frequent first answer token, so that beams
    emit </s> often (the random tiny weights rarely do within 10 tokens)."""
    inputs = _inputs()
    firsts = [_direct_ids(model, x, eos=EOS)[0] for x in inputs]
    common = max(set(firsts), key=firsts.count)
    prone = copy.copy(model)
    prone.lm = copy.deepcopy(model.lm)
    head = prone.lm.get_output_embeddings()
    head.weight[EOS] = head.weight[EOS] + head.weight[common]
    return prone


def test_generation_stops_at_the_first_eos(tiny_models):
    model = _eos_prone(tiny_models["vicuna"])
    inputs = _inputs()
    got = model.generate(inputs, LAVIS_SHORT)
    stopped = run_on = 0
    for item, text in zip(inputs, got, strict=True):
        ids = _direct_ids(model, item, eos=EOS)
        expected = model.tokenizer.decode(ids, skip_special_tokens=True).strip()
        assert text == expected
        if EOS in ids:
            stopped += 1
            assert ids.index(EOS) == len(ids) - 1 or set(ids[ids.index(EOS):]) == {0}
            # what the checkpoint's own eos_token_id (1) would do: go on past </s>
            old = _direct_ids(model, item, eos=BOS_TOKEN_ID_IN_CONFIG)
            run_on += old[: len(ids)] == ids[: len(ids)] and len(old) > ids.index(EOS) + 1
    assert stopped >= 4, "the tiny Vicuna must emit </s> often enough to test stopping"
    assert run_on >= 1, "eos_token_id=1 would not have continued past </s>: the test is moot"


def test_prompts_start_with_eos_as_bos(tiny_models):
    model = tiny_models["vicuna"]
    ids = model.prompt_ids(PROMPTS[0])
    assert ids[0] == EOS and EOS not in ids[1:]
    assert model.info()["prompt_prefix_token"] == "</s>"


def test_ranked_candidate_loses_its_leading_eos(tiny_models):
    model = tiny_models["vicuna"]
    tok = model.tokenizer
    for cand in CANDIDATES:
        full = tok(cand)["input_ids"]
        assert full[0] == EOS  # LAVIS's concat_text_input_output drops output_ids[1:]
        assert model.candidate_ids(cand) == full[1:]
        assert EOS not in model.candidate_ids(cand) and 1 not in model.candidate_ids(cand)


@torch.no_grad()
def test_rank_equals_lavis_layout_full_forward(tiny_models):
    """LAVIS _predict_class: [query outputs][prompt ids with its </s>][candidate ids[1:]], one
    full forward per candidate, summed log-probabilities of the candidate tokens (no eos)."""
    model = tiny_models["vicuna"]
    item = ModelInput(PROMPTS[2], images(1, seed=3), candidates=CANDIDATES)
    got = model.rank([item])[0]
    visual = model.visual_prefix([item])[0]
    embed = model.lm.get_input_embeddings()
    prompt = model.tokenizer(item.prompt)["input_ids"]
    for cand, score in zip(CANDIDATES, got, strict=True):
        cand_ids = model.tokenizer(cand)["input_ids"][1:]
        ids = torch.tensor(prompt + cand_ids)
        logits = model.lm(inputs_embeds=torch.cat([visual, embed(ids)]).unsqueeze(0)).logits[0]
        logp = logits.double().log_softmax(-1)
        start = visual.shape[0] + len(prompt)
        expected = sum(logp[start - 1 + j, t].item() for j, t in enumerate(cand_ids))
        assert score == pytest.approx(expected, abs=1e-4)


def test_batched_finished_beams_are_padded_and_never_decoded(tiny_models):
    model = tiny_models["vicuna"]
    inputs = _inputs(8)
    batched = model.generate(inputs, LAVIS_SHORT)
    assert batched == [model.generate([x], LAVIS_SHORT)[0] for x in inputs]
    assert len({len(t) for t in batched}) > 1  # rows finished at different lengths
    for text in batched:
        assert "[PAD]" not in text and "<unk>" not in text and "</s>" not in text


@torch.no_grad()
def test_generated_unk_becomes_eos_before_decoding(tiny_models):
    """A model that emits id 0 (<unk>): LAVIS maps it to 2 and skips it when decoding."""
    model = copy.copy(tiny_models["vicuna"])
    lm = copy.deepcopy(model.lm)
    head = lm.get_output_embeddings()
    head.weight[0] = head.weight[0] + 3.0 * head.weight[5]  # <unk> shadows a common token
    model.lm = lm
    item = _inputs(4)
    settings = GenerationSettings(num_beams=1, max_new_tokens=6, min_new_tokens=6)
    raw = [lm.generate(inputs_embeds=model.prefix_embeds([x])[0].unsqueeze(0), do_sample=False,
                       max_new_tokens=6, min_new_tokens=6, eos_token_id=EOS,
                       pad_token_id=0)[0].tolist() for x in item]
    assert any(0 in ids for ids in raw), "the altered head must emit <unk>"
    got = model.generate(item, settings)
    for ids, text in zip(raw, got, strict=True):
        lavis = [EOS if t == 0 else t for t in ids]  # outputs[outputs == 0] = 2
        assert text == model.tokenizer.decode(lavis, skip_special_tokens=True).strip()
        assert "<unk>" not in text
