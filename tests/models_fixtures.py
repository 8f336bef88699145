"""Shared fixtures and the independent reference for the model tests.

The reference ("naive") scores come from the transformers model's own forward, one full
forward per (sample, candidate), as LAVIS does: the HF processor layout ([image tokens] +
prompt ids (+ candidate ids)), HF's own vision / Q-Former / placeholder-scatter path. For video,
HF's InstructBlipVideoForConditionalGeneration with the same weights.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

# The tiny models run thousands of microsecond-sized ops; with several OpenMP threads on a
# shared, busy machine each op can wait for a descheduled thread (tests went from 6 s to 3 min).
torch.set_num_threads(1)

PROMPTS = (
    "Question: what is this? Short answer:",
    "A short image description:",
    "Question: what color is the bus on the street next to the man? Short answer:",
    'Based on the image, is this statement true or false? "a dog on a bed" Answer:',
    "A photo of",
)
CANDIDATES = ("yes", "a red bus", "skateboarding on the sidewalk", "no", "two cats")


def images(n: int, seed: int = 0) -> list[Image.Image]:
    """n deterministic random RGB images of varied sizes."""
    rs = np.random.RandomState(seed)
    return [Image.fromarray((rs.rand(30 + 7 * i, 41 + 3 * i, 3) * 255).astype("uint8"))
            for i in range(n)]


# Test modules import these under *_fixture names (pytest registers them by `name=`), and
# each importing module gets its own fixture definition: the memo keeps one build per session.
_MEMO: dict[tuple[str, str], object] = {}


def _memo(key: tuple[str, str], build):
    """build() once per key for the whole session."""
    if key not in _MEMO:
        _MEMO[key] = build()
    return _MEMO[key]


@pytest.fixture(scope="session", name="tiny_dirs")
def tiny_dirs_fixture(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny checkpoints of both kinds, built once per session into a pytest tmp dir."""
    from ibench.models.tiny.checkpoints import make_tiny

    def build() -> dict[str, Path]:
        root = tmp_path_factory.mktemp("tiny-models")
        return {kind: make_tiny(kind, root / kind) for kind in ("t5", "vicuna")}

    return _memo(("dirs", str(tmp_path_factory.getbasetemp())), build)


@pytest.fixture(scope="session", name="tiny_models")
def tiny_models_fixture(tiny_dirs: dict[str, Path]) -> dict[str, object]:
    """Both tiny checkpoints loaded through ibench (fp32, CPU)."""
    from ibench.models import load_model

    return _memo(("models", str(tiny_dirs["t5"])), lambda: {
        kind: load_model(str(path), device="cpu") for kind, path in tiny_dirs.items()})


@pytest.fixture(scope="session", name="hf_processors")
def hf_processors_fixture(tiny_dirs: dict[str, Path]) -> dict[str, object]:
    """The HF InstructBlipProcessor of each tiny checkpoint."""
    from transformers import InstructBlipProcessor

    return _memo(("processors", str(tiny_dirs["t5"])), lambda: {
        kind: InstructBlipProcessor.from_pretrained(path) for kind, path in tiny_dirs.items()})


def _qformer_ids(proc, text: str, qformer_ids: list[int] | None) -> torch.Tensor:
    """The Q-Former input ids: given explicitly, or the processor's tokenization of text."""
    if qformer_ids is None:
        qformer_ids = proc.qformer_tokenizer(text)["input_ids"]
    return torch.tensor([qformer_ids])


@torch.no_grad()
def naive_scores(model, proc, prompt: str, frames: Sequence[Image.Image],
                 candidates: Sequence[str], qformer_text: str | None = None,
                 qformer_ids: list[int] | None = None,
                 lm_ids: dict[str, list[int]] | None = None) -> list[float]:
    """Summed candidate log-likelihoods by one full HF forward per candidate. `lm_ids` gives
    the ids (with special tokens) of the prompt and candidates instead of the processor's
    tokenizer (the bos of a decoder-only candidate is dropped, as LAVIS does)."""
    hf, tok = model.hf, proc.tokenizer
    decoder_only = not hf.config.text_config.is_encoder_decoder
    qids = _qformer_ids(proc, prompt if qformer_text is None else qformer_text, qformer_ids)
    pixels = proc.image_processor(images=list(frames), return_tensors="pt")["pixel_values"]
    n_query = hf.config.num_query_tokens * len(frames)
    image_token = hf.config.image_token_index
    if len(frames) > 1:
        hf, pixels = video_twin(hf), pixels.unsqueeze(0)
    prompt_ids = tok(prompt)["input_ids"] if lm_ids is None else lm_ids[prompt]
    scores = []
    for cand in candidates:
        if decoder_only:
            cand_ids = (tok(cand, add_special_tokens=False)["input_ids"] if lm_ids is None
                        else lm_ids[cand][1:])
            ids = [image_token] * n_query + prompt_ids + cand_ids
            logits = hf(pixel_values=pixels, qformer_input_ids=qids,
                        input_ids=torch.tensor([ids])).logits[0]
            logp = logits.double().log_softmax(-1)
            start = len(ids) - len(cand_ids)
            scores.append(sum(logp[start - 1 + j, t].item() for j, t in enumerate(cand_ids)))
        else:
            cand_ids = tok(cand)["input_ids"] if lm_ids is None else lm_ids[cand]
            ids = [image_token] * n_query + prompt_ids
            logits = hf(pixel_values=pixels, qformer_input_ids=qids, input_ids=torch.tensor([ids]),
                        labels=torch.tensor([cand_ids])).logits[0]
            logp = logits.double().log_softmax(-1)
            scores.append(sum(logp[j, t].item() for j, t in enumerate(cand_ids)))
    return scores


_TWINS: dict[int, torch.nn.Module] = {}


def video_twin(hf) -> torch.nn.Module:
    """HF's InstructBlipVideoForConditionalGeneration holding the same weights as hf."""
    from transformers import InstructBlipVideoConfig, InstructBlipVideoForConditionalGeneration

    if id(hf) not in _TWINS:
        cfg = hf.config
        video_cfg = InstructBlipVideoConfig(
            vision_config=cfg.vision_config.to_dict(), qformer_config=cfg.qformer_config.to_dict(),
            text_config=cfg.text_config.to_dict(), num_query_tokens=cfg.num_query_tokens,
            video_token_index=cfg.image_token_index,
        )
        twin = InstructBlipVideoForConditionalGeneration(video_cfg).eval()
        twin.load_state_dict(hf.state_dict())
        _TWINS[id(hf)] = twin
    return _TWINS[id(hf)]
