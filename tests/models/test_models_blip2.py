"""The BLIP-2 baseline path: a Q-Former without instruction, scored against HF's own forward."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from models_fixtures import CANDIDATES, PROMPTS, images

from ibench.records import GenerationSettings, ModelInput


@pytest.fixture(scope="module")
def blip2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Blip2ForConditionalGeneration (T5 LM) + Blip2Processor, saved as safetensors."""
    from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2Processor
    from transformers import Blip2QFormerConfig as QFormerConfig

    from ibench.models.tiny import base
    from ibench.models.tiny import blip as tiny

    tok = tiny.build_lm_tokenizer("t5")
    ref = tiny.tiny_config("t5", len(tok), tok.convert_tokens_to_ids(tiny.IMAGE_TOKEN))
    known = QFormerConfig().to_dict()
    qformer = QFormerConfig(**{k: v for k, v in ref.qformer_config.to_dict().items() if k in known})
    config = Blip2Config(vision_config=ref.vision_config.to_dict(),
                         qformer_config=qformer.to_dict(), text_config=ref.text_config.to_dict(),
                         num_query_tokens=8, image_token_index=ref.image_token_index)
    torch.manual_seed(0)
    model = Blip2ForConditionalGeneration(config).eval()
    base.spread_init(model)
    out = tmp_path_factory.mktemp("blip2")
    model.save_pretrained(out)
    Blip2Processor(image_processor=base.build_image_processor(), tokenizer=tok,
                   num_query_tokens=8).save_pretrained(out)
    return out


def test_blip2_rank_equals_hf_forward(blip2_dir):
    from transformers import Blip2ForConditionalGeneration

    from ibench.models import load_model

    model = load_model(str(blip2_dir), device="cpu")
    assert model.family == "blip2" and model.architecture == "encoder-decoder"
    assert model.info()["qformer_instruction"] is False
    frame = images(1)[0]
    got = model.rank([ModelInput(PROMPTS[0], [frame], CANDIDATES)])[0]
    other_text = model.rank([ModelInput(PROMPTS[0], [frame], CANDIDATES, qformer_prompt="x")])[0]
    assert got == pytest.approx(other_text, abs=1e-6)  # BLIP-2's Q-Former reads no text

    hf = Blip2ForConditionalGeneration.from_pretrained(blip2_dir).eval()
    pixels = model.image_processor(images=[frame], return_tensors="pt")["pixel_values"]
    ids = [hf.config.image_token_index] * 8 + model.tokenizer(PROMPTS[0])["input_ids"]
    expected = []
    with torch.no_grad():
        for cand in CANDIDATES:
            labels = model.tokenizer(cand)["input_ids"]
            logits = hf(pixel_values=pixels, input_ids=torch.tensor([ids]),
                        labels=torch.tensor([labels])).logits[0].double().log_softmax(-1)
            expected.append(sum(logits[j, t].item() for j, t in enumerate(labels)))
    assert got == pytest.approx(expected, abs=1e-4)


def test_blip2_generate_runs_batched(blip2_dir):
    from ibench.models import load_model

    model = load_model(str(blip2_dir), device="cpu")
    inputs = [ModelInput(p, [f]) for p, f in zip(PROMPTS[:3], images(3), strict=True)]
    settings = GenerationSettings(num_beams=3, max_new_tokens=6, min_new_tokens=1)
    assert model.generate(inputs, settings) == [model.generate([x], settings)[0] for x in inputs]
