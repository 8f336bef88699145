"""Decoder-only transformers vision-language models (LLaVA, Qwen2-VL, Idefics, ...) behind the
model interface: anything `AutoModelForImageTextToText` loads with an `AutoProcessor`.

Decisions (each recorded in `info()`, so the manifest and the leaderboard say them):
- Prompt: the task's rendered prompt is the text of one user turn, after its images, rendered
  by the processor's chat template with the generation prompt (LLaVA-1.5: "USER: <image>\\n
  {prompt} ASSISTANT:"); without a chat template, the image placeholders, a newline, the
  prompt. The exact text is `rendered_prompt`, recorded on every prediction line.
- Images: the model's own processor decides their geometry; the task's InstructBLIP resize
  (`image_resize`) is not applied. Its image processor runs in the media workers, once per
  media item (`preprocess`); on the model thread the processor only renders and tokenizes
  the text, handed those features (an image processor whose features cannot be stacked
  across a batch, or video through the video processor, runs there as before).
- Video: through the processor's video input where it has one (`video_input: video`); where
  it takes only images (or its video processor cannot be built), the sampled frames go as that
  many images in the one user turn (`video_input: frames as images`).
- Generate: one left-padded batch through the model's own `generate` with the task's beams,
  lengths and length penalty; the repetition penalty applies to generated tokens only (as
  for InstructBLIP, where only embeddings are given), not to the prompt.
- Rank: per sample one forward of the whole model over [prompt with images] (its cache and
  last logits), alone, so it never depends on the batch; a media item met again (another
  question on the same image or video) reuses its vision encoder output, handed to the
  forward as transformers' `mm_encoder_outputs` where the model's forward takes them. Then
  the candidates of all the batch's samples go as text tokens from those caches together
  (scoring.score_batch: each candidate list's token trie, planned once, one row per sample
  chunk attending to its own cache), at positions continuing the prompt's (Qwen2-VL's M-RoPE
  gives an image fewer positions than tokens). A candidate is tokenized alone without
  special tokens and follows the prompt directly; a task's candidate lists are tokenized
  once.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import torch

from ibench.models.base import (
    CandidateTokens,
    ModelLoadError,
    TokenizesCandidateLists,
    context_length,
    dtype_name,
)
from ibench.models.prepared import concat_features, prepared_images
from ibench.models.rank.loglik import cached_plan, score_batch
from ibench.models.rank.prefix import cache_kwarg, decoder_state, output_cache
from ibench.records import Architecture, GenerationSettings, ModelInput

VIDEO = "video"
FRAMES = "frames as images"


class TextOnly(torch.nn.Module):
    """The vision-language model seen as a causal LM over text tokens, for the candidates'
    forwards (scoring.py reads `.config` for the text model's type and sizes)."""

    def __init__(self, hf: torch.nn.Module) -> None:
        super().__init__()
        self.hf = hf
        self.config = hf.config.get_text_config()

    def get_input_embeddings(self) -> torch.nn.Module:
        """The token embeddings (their dtype sets the packed mask's)."""
        return self.hf.get_input_embeddings()

    def forward(self, input_ids: torch.Tensor | None = None, position_ids: Any = None,
                attention_mask: Any = None, cache: Any = None, use_cache: bool = True,
                logits_to_keep: int = 0) -> Any:
        """Logits (and the cache) of text tokens after a cached prefix."""
        return self.hf(input_ids=input_ids, position_ids=position_ids,
                       attention_mask=attention_mask, use_cache=use_cache,
                       logits_to_keep=logits_to_keep, **{cache_kwarg(self.hf): cache})


def _generated_repetition_penalty(penalty: float, prompt_len: int) -> Any:
    """The repetition penalty over the tokens generated after a prompt of prompt_len columns."""
    from transformers import LogitsProcessor, LogitsProcessorList, RepetitionPenaltyLogitsProcessor

    if penalty == 1.0:
        return LogitsProcessorList()
    inner = RepetitionPenaltyLogitsProcessor(penalty=float(penalty))

    class GeneratedOnly(LogitsProcessor):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            generated = input_ids[:, prompt_len:]
            return scores if generated.shape[1] == 0 else inner(generated, scores)

    return LogitsProcessorList([GeneratedOnly()])


def _image_call_kwargs(processor: Any) -> dict[str, Any] | None:
    """The settings a processor's call hands its image processor (its merged `images_kwargs`:
    Idefics3's row/column info, InternVL's tiling, ...), for the workers to use the same; None
    where they cannot be read (features are then never prepared in the workers)."""
    tokenizer = getattr(processor, "tokenizer", None)
    try:
        merged = processor._merge_kwargs(
            tokenizer_init_kwargs=getattr(tokenizer, "init_kwargs", None) or {},
            padding=True, return_tensors="pt")
        return dict(merged["images_kwargs"])
    except Exception:  # noqa: BLE001 - a processor without transformers' kwargs merging
        return None


class VisionLanguageModel(TokenizesCandidateLists):
    """A loaded transformers image-text-to-text model with batched `generate` and `rank`."""

    architecture: Architecture = "decoder-only"

    def __init__(self, hf_model: torch.nn.Module, processor: Any, *, name: str,
                 model_id: str | None = None, path: str | None = None,
                 revision: str | None = None, video_input: str | None = None) -> None:
        self.hf = hf_model.eval()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "left"
        self.name = name
        self.model_id = model_id or name
        self.path = path
        self.revision = revision
        self.family = str(hf_model.config.model_type)
        self.text_lm = TextOnly(self.hf)
        self.image_processor = getattr(processor, "image_processor", None)  # the workers' own
        self._images_kwargs = _image_call_kwargs(processor)
        self.image_token = getattr(processor, "image_token", None)
        if self.image_token is None:
            raise ModelLoadError(f"{self.model_id}: its processor ({type(processor).__name__}) "
                                 "names no image_token, the placeholder ibench puts in prompts")
        if video_input is None:
            takes_video = (getattr(processor, "video_processor", None) is not None
                           and getattr(processor, "video_token", None) is not None)
            video_input = VIDEO if takes_video else FRAMES
        self.video_input = video_input
        self._candidate_tokens = CandidateTokens(self.candidate_ids)
        self._vision_cache: dict[tuple[str, str], Any] = {}
        self.vision_calls = 0  # media items through the vision encoder
        self.vision_reused = 0  # media items whose encoder output came from the cache
        self.takes_encoder_outputs = "mm_encoder_outputs" in inspect.signature(
            self.hf.forward).parameters

    # ---- manifest -------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """Where the token embeddings live (inputs are sent there)."""
        return self.hf.get_input_embeddings().weight.device

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype (pixel values are cast to it)."""
        return self.hf.get_input_embeddings().weight.dtype

    def chat_template(self) -> str | None:
        """The processor's chat template (a dict of named templates: the default one)."""
        template = getattr(self.processor, "chat_template", None)
        if isinstance(template, dict):
            template = template.get("default")
        return template or None

    def image_tokens(self, size: int = 336) -> int:
        """Image placeholder tokens the processor gives a size x size image."""
        from PIL import Image

        enc = self.processor(text=[self.image_token], images=[Image.new("RGB", (size, size))],
                             return_tensors="pt")
        return int((enc["input_ids"] == self._image_token_id()).sum())

    def _image_token_id(self) -> int:
        return int(self.tokenizer.convert_tokens_to_ids(self.image_token))

    def processor_settings(self) -> dict[str, Any]:
        """The image processor's geometry and normalisation, as its config says them."""
        image = getattr(self.processor, "image_processor", None)
        keys = ("size", "crop_size", "do_center_crop", "resample", "image_mean", "image_std",
                "min_pixels", "max_pixels", "patch_size", "merge_size", "temporal_patch_size")
        values = image.to_dict() if image is not None else {}
        out = {k: values[k] for k in keys if values.get(k) is not None}
        for key in ("patch_size", "vision_feature_select_strategy", "num_additional_image_tokens"):
            if getattr(self.processor, key, None) is not None:
                out[f"processor_{key}"] = getattr(self.processor, key)
        return {"class": type(self.processor).__name__,
                "image_processor": type(image).__name__ if image is not None else None, **out}

    def protocol_differences(self) -> list[str]:
        """How this model's protocol differs from InstructBLIP's, for the leaderboard notes."""
        template = self.chat_template()
        prompt = ("the prompt is the user turn of its chat template" if template else
                  "no chat template: image placeholders, a newline, then the prompt")
        return [prompt, f"{self.image_tokens()} image tokens for a 336x336 image (InstructBLIP: "
                "32 query tokens)", "images preprocessed by its own processor (the tasks' "
                "image_resize not applied)", f"video frames: {self.video_input}"]

    def info(self) -> dict[str, Any]:
        """Model id, path, revision, family, processor settings, chat template hash, ..."""
        template = self.chat_template()
        stops = self.stop_token_ids()
        return {
            "name": self.name,
            "model_id": self.model_id,
            "path": self.path,
            "revision": self.revision,
            "family": self.family,
            "backend": "transformers-image-text-to-text",
            "model_class": type(self.hf).__name__,
            "architecture": self.architecture,
            "dtype": dtype_name(self.dtype),
            "device": str(self.device),
            "processor": self.processor_settings(),
            "image_tokens_336px": self.image_tokens(),
            "chat_template_sha256": (hashlib.sha256(template.encode()).hexdigest()
                                     if template else None),
            "video_input": self.video_input,
            "protocol_differences": self.protocol_differences(),
            "stop_token_ids": stops,
            "stop_tokens": self.tokenizer.convert_ids_to_tokens(stops),
            "pad_token_id": self._pad_id(),
            "parameters": sum(p.numel() for p in self.hf.parameters()),
            "context_length": context_length(self.hf.config.get_text_config()),
            **getattr(self, "load_args", {}),  # --model-args, --revision
        }

    # ---- prompts --------------------------------------------------------------------------

    def _video(self, frames: int) -> bool:
        """Whether an input of this many frames goes as one video (else as images)."""
        return frames > 1 and self.video_input == VIDEO

    def rendered_prompt(self, prompt: str, frames: int = 1) -> str:
        """The exact text the model is given for a prompt over `frames` frames (before the
        processor expands each image placeholder to its image tokens)."""
        video = self._video(frames)
        template = self.chat_template()
        if template is None:
            token = getattr(self.processor, "video_token", None) if video else self.image_token
            return f"{token}\n" * (1 if video else frames) + prompt
        media = [{"type": "video"}] if video else [{"type": "image"}] * frames
        turn = [{"role": "user", "content": [*media, {"type": "text", "text": prompt}]}]
        return self.processor.apply_chat_template(turn, add_generation_prompt=True,
                                                  tokenize=False)

    def preprocess(self, frames: list[Any], image_resize: str = "square") -> Any:
        """One media item's image features (the image processor's tensors, on the host), with
        the settings the processor's own call would give it: what the media workers run, off
        the model thread. None for frames that go as one video (the processor's video path
        runs with the prompt), and where the image processor fails: the model thread then
        runs the processor for that request, which records the error as its own."""
        if (not frames or self._video(len(frames)) or self.image_processor is None
                or self._images_kwargs is None):
            return None
        try:
            return dict(self.image_processor(list(frames), **self._images_kwargs))
        except Exception:  # noqa: BLE001 - see above: recorded per request on the model thread
            return None

    def _encode(self, inputs: Sequence[ModelInput]) -> Any:
        """The processor's tensors for a batch (left padded), on the model's device; image
        features the workers prepared are handed to the processor, not computed again."""
        for item in inputs:
            if not item.frames:
                raise ValueError("a model input needs at least one image or video frame")
        texts = [self.rendered_prompt(item.prompt, len(item.frames)) for item in inputs]
        features = None
        if any(self._video(len(item.frames)) for item in inputs):
            kwargs: dict[str, Any] = {"videos": [list(item.frames) for item in inputs]}
        else:
            kwargs = {"images": [frame for item in inputs for frame in item.frames]}
            features = concat_features([item.pixels for item in inputs])
        with (nullcontext() if features is None else
              prepared_images(self.processor, features, self.image_processor)):
            enc = self.processor(text=texts, padding=True, return_tensors="pt", **kwargs)
        enc = enc.to(self.device)
        for key, value in enc.items():
            if torch.is_floating_point(value):
                enc[key] = value.to(self.dtype)
        return enc

    # ---- generate -------------------------------------------------------------------------

    def stop_token_ids(self) -> list[int]:
        """The tokenizer's eos plus whatever the checkpoint's generation_config.json lists."""
        ids = [self.tokenizer.eos_token_id]
        listed = getattr(self.hf, "generation_config", None)
        listed = None if listed is None else listed.eos_token_id
        ids += listed if isinstance(listed, list) else [listed]
        vocab = self.hf.get_input_embeddings().num_embeddings
        out: list[int] = []
        for tid in ids:
            if tid is not None and 0 <= int(tid) < vocab and int(tid) not in out:
                out.append(int(tid))
        if not out:
            raise ValueError(f"{self.name}: neither the tokenizer nor the generation config "
                             "names an end-of-sequence token to stop generation on")
        return out

    def _pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        vocab = self.hf.get_input_embeddings().num_embeddings
        return int(pad) if pad is not None and 0 <= pad < vocab else self.stop_token_ids()[0]

    @torch.no_grad()
    def generate(self, inputs: Sequence[ModelInput], settings: GenerationSettings) -> list[str]:
        """An answer per input with the task's decoding settings; new tokens only, stripped."""
        if not inputs:
            return []
        enc = self._encode(inputs)
        self.vision_calls += len(inputs)  # batched with the prompts: no reuse here
        width = enc["input_ids"].shape[1]
        out = self.hf.generate(
            **enc, do_sample=False, num_beams=settings.num_beams, num_return_sequences=1,
            max_new_tokens=settings.max_new_tokens, min_new_tokens=settings.min_new_tokens,
            length_penalty=settings.length_penalty, repetition_penalty=1.0,
            logits_processor=_generated_repetition_penalty(settings.repetition_penalty, width),
            eos_token_id=self.stop_token_ids(), pad_token_id=self._pad_id(),
            temperature=None, top_p=None, top_k=None,
        )
        texts = self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        return [t.strip() for t in texts]

    # ---- rank -----------------------------------------------------------------------------

    def candidate_ids(self, candidate: str) -> list[int]:
        """A candidate's scored tokens: tokenized alone, no special tokens, no eos."""
        return self.tokenizer(candidate, add_special_tokens=False)["input_ids"]

    # Vision encoder outputs kept for media items met again; requests come grouped by media
    # item, so a few are enough (only the pooled features are kept, not hidden states).
    VISION_CACHE_ITEMS = 32

    def vision_counts(self) -> dict[str, int]:
        """Vision-encoder runs and reuses so far (the manifest records them per task)."""
        return {"vision_encoder_calls": self.vision_calls,
                "vision_encoder_reused": self.vision_reused}

    def _cached_vision(self, key: tuple[str, str] | None) -> Any:
        if key is None or not self.takes_encoder_outputs or key not in self._vision_cache:
            return None
        self._vision_cache[key] = self._vision_cache.pop(key)  # most recently used last
        return self._vision_cache[key]

    def _keep_vision(self, key: tuple[str, str] | None, outputs: Any) -> None:
        """Keep a media item's encoder output as the model returned it (every field its
        forward may read back: pooled features, DeepStack features, ...), less the per-layer
        hidden states and attentions."""
        from transformers.utils import ModelOutput

        if key is None or not self.takes_encoder_outputs or not isinstance(outputs, ModelOutput):
            return
        kept = {k: v for k, v in outputs.items() if k not in ("hidden_states", "attentions")}
        self._vision_cache[key] = type(outputs)(**kept)
        while len(self._vision_cache) > self.VISION_CACHE_ITEMS:
            self._vision_cache.pop(next(iter(self._vision_cache)))

    def _prefix_forward(self, enc: dict[str, Any]) -> Any:
        base = getattr(self.hf, "model", None)
        if hasattr(base, "rope_deltas"):
            base.rope_deltas = None  # computed afresh for this prompt, never a stale one
        return self.hf(**enc, use_cache=True, logits_to_keep=1), base

    @torch.no_grad()
    def prefix(self, item: ModelInput) -> Any:
        """One forward of the whole model over an input's images and prompt: its PrefixState.
        The vision encoder runs once per media item (`media_key`), alone; a forward that
        cannot take the kept output back runs again from the pixels."""
        enc = dict(self._encode([item]))
        kind = "video" if self._video(len(item.frames)) else "image"
        pixel_key = "pixel_values_videos" if kind == "video" else "pixel_values"
        key = None if item.media_key is None else (item.media_key, kind)
        cached = self._cached_vision(key) if pixel_key in enc else None
        out = None
        if cached is not None:
            reuse = {k: v for k, v in enc.items() if k != pixel_key}
            try:
                out, base = self._prefix_forward({**reuse, "mm_encoder_outputs": {kind: cached}})
                self.vision_reused += 1
            except torch.OutOfMemoryError:
                raise
            except Exception:  # noqa: BLE001 - this model reads more than was kept: no reuse
                self._vision_cache.pop(key, None)
                self.takes_encoder_outputs = False
        if out is None:
            out, base = self._prefix_forward(enc)
            self.vision_calls += 1
            self._keep_vision(key, getattr(out, f"{kind}_outputs", None))
        delta = getattr(base, "rope_deltas", None)
        length = int(enc["input_ids"].shape[1])
        position = None if delta is None else length + int(delta.reshape(-1)[0])
        return decoder_state(out.logits[0, -1], output_cache(out), position)

    @torch.no_grad()
    def rank(self, inputs: Sequence[ModelInput], chunk_size: int | None = None
             ) -> list[list[float]]:
        """Summed log-likelihood of each input's candidates: images and prompt run once per
        input (alone), then the candidates of all inputs together from their caches, each
        input's through its own list's trie, so its scores are the same whatever else is in
        the batch."""
        ranked = [item for item in inputs if item.candidates]
        if not ranked:
            return [[] for _ in inputs]
        states = [self.prefix(item) for item in ranked]
        plans = [cached_plan(self.candidate_token_ids(item.candidates)) for item in ranked]
        got = iter(score_batch(self.text_lm, states, plans, chunk_size, self._pad_id()))
        return [next(got) if item.candidates else [] for item in inputs]
