"""InstructBLIP / BLIP-2 (FlanT5 encoder-decoder or Vicuna/LLaMA decoder-only) behind the model
interface.

The forward is assembled from the checkpoint's submodules (vision_model, qformer, query_tokens,
language_projection, language_model) so images and videos share one path: every frame goes
through the vision encoder and the Q-Former (instruction repeated per frame, left-truncated to
128 BERT tokens), the per-frame query outputs are projected and concatenated, and the prompt's
token embeddings follow them. This is the layout of LAVIS and of the HF processor
([query tokens][prompt tokens], BOS after the query tokens for LLaMA, `</s>` closing the T5
encoder input).

Padding (the issue asked for right padding for both; what matters is batch-size invariance):
- rank: each sample's prefix runs alone; the candidates of all samples then go through the
  LM together, a sample's trie chunk per row (right-padded), each row attending to its own
  prefix and tokens only (scoring.py, rowattn.py), so a score never depends on the other
  samples of the batch.
- generate, encoder-decoder: right padding of the encoder input with its attention mask (as
  LAVIS); T5's relative positions make masked right pads invisible.
- generate, decoder-only: left padding. HF beam search appends new tokens after the last
  column, so right pads would sit between the prompt and the answer; with left pads every row
  ends on a real token, and generate derives position ids from the attention mask
  (cumsum - 1), so a padded row sees the positions and keys it would see alone.
Only `inputs_embeds` go to the LM's generate (as LAVIS): outputs hold new tokens only (the
prompt is never in them) and the repetition penalty sees only generated tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from ibench.models.base import (
    CandidateTokens,
    TokenizesCandidateLists,
    context_length,
    dtype_name,
)
from ibench.models.beams import cache_kwargs, prefill_for_beams
from ibench.models.lavis_tokens import LavisTokens, lavis_tokens_in_memory
from ibench.models.rank.loglik import cached_plan, score_batch
from ibench.models.rank.prefix import prefix_state
from ibench.records import Architecture, GenerationSettings, ModelInput

QFORMER_MAX_TOKENS = 128
VISION_CHUNK_FRAMES = 64
BlipFamily = Literal["instructblip", "blip2"]  # registry names (families.py) this class runs


def _repetition_penalty(penalty: float) -> Any:
    """The repetition penalty as an explicit processor over the generated tokens only.

    transformers' own one (`repetition_penalty=`) exempts the first k generated tokens of a row
    with k left pads when only `inputs_embeds` are given (it takes the pads for prompt tokens),
    which made batched and single outputs differ; this one sees every generated token, as
    LAVIS's generate (inputs_embeds only) does for a batch of one.
    """
    from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor

    if penalty == 1.0:
        return LogitsProcessorList()
    return LogitsProcessorList([RepetitionPenaltyLogitsProcessor(penalty=float(penalty))])


class InstructBlipFamilyModel(TokenizesCandidateLists):
    """A loaded InstructBLIP or BLIP-2 checkpoint with batched `generate` and `rank`."""

    def __init__(
        self,
        hf_model: torch.nn.Module,
        image_processor: Any,
        tokenizer: Any,
        qformer_tokenizer: Any | None,
        *,
        name: str,
        family: BlipFamily = "instructblip",
        qformer_instruction: bool = True,
        model_id: str | None = None,
        path: str | None = None,
        revision: str | None = None,
        lm_tokens: LavisTokens | None = None,
    ) -> None:
        self.hf = hf_model.eval()
        self.lm = hf_model.language_model
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        # prompts and candidates to ids as LAVIS did (lavis_tokens.py); None: another LM
        self.lm_tokens = lm_tokens if lm_tokens is not None else lavis_tokens_in_memory(
            self.lm.config.model_type, tokenizer)
        self.qformer_tokenizer = qformer_tokenizer
        self.name = name
        self.family: BlipFamily = family
        self.qformer_instruction = qformer_instruction and family == "instructblip"
        self.model_id = model_id or name
        self.path = path
        self.revision = revision
        self.architecture: Architecture = (
            "encoder-decoder" if self.lm.config.is_encoder_decoder else "decoder-only"
        )
        if family == "instructblip" and qformer_tokenizer is None:
            raise ValueError("an InstructBLIP model needs its Q-Former tokenizer")
        self._vision_cache: dict[str, torch.Tensor] = {}
        self.vision_calls = 0  # vision-encoder runs (one per media item not in the cache)
        self.vision_reused = 0  # media items whose encoder output came from the cache
        self._candidate_tokens = CandidateTokens(self.candidate_ids)

    # ---- manifest -------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """Where the language model's weights live (inputs are sent there)."""
        return self.lm.get_input_embeddings().weight.device

    @property
    def dtype(self) -> torch.dtype:
        """The language model's weight dtype."""
        return self.lm.get_input_embeddings().weight.dtype

    def info(self) -> dict[str, Any]:
        """Model id, resolved path, revision, dtype, device, ablation switch, parameter count."""
        return {
            "name": self.name,
            "model_id": self.model_id,
            "path": self.path,
            "revision": self.revision,
            "family": self.family,
            "model_class": type(self.hf).__name__,
            "architecture": self.architecture,
            "dtype": dtype_name(self.dtype),
            "device": str(self.device),
            "qformer_instruction": self.qformer_instruction,
            "num_query_tokens": int(self.hf.query_tokens.shape[1]),
            "stop_token_ids": self.stop_token_ids(),
            "stop_tokens": self.tokenizer.convert_ids_to_tokens(self.stop_token_ids()),
            "pad_token_id": self._pad_id(),
            "prompt_prefix_token": (self.tokenizer.convert_ids_to_tokens(
                self.prompt_ids("a")[:1])[0] if self.architecture == "decoder-only" else None),
            "parameters": sum(p.numel() for p in self.hf.parameters()),
            "context_length": context_length(self.hf.config.get_text_config()),
            "lm_tokenizer": (self.lm_tokens.describe() if self.lm_tokens is not None
                             else {"reproduces": f"{type(self.tokenizer).__name__} as "
                                                "transformers loads it"}),
            **getattr(self, "load_args", {}),  # --model-args, --published-as, --revision
        }

    # ---- visual prefix --------------------------------------------------------------------

    def qformer_text(self, item: ModelInput) -> str:
        """The Q-Former's text for an input: "" under the ablation or for BLIP-2, else the
        input's qformer_prompt when set, else its prompt."""
        if not self.qformer_instruction:
            return ""
        return item.prompt if item.qformer_prompt is None else item.qformer_prompt

    def image_size(self) -> int:
        """The vision encoder's square input size (the image processor's)."""
        size = self.image_processor.size
        return int(size["height"] if "height" in size else size["shortest_edge"])

    def _geometry(self, item: ModelInput) -> list[Any]:
        """An input's frames as the image processor should get them: as they are (it resizes
        to a square), or resized on the shorter side and center-cropped first."""
        return self._shaped(list(item.frames), item.image_resize)

    def _shaped(self, frames: list[Any], image_resize: str) -> list[Any]:
        if image_resize == "square":
            return frames
        if image_resize != "shorter_side_center_crop":
            raise ValueError(f"unknown image_resize {image_resize!r}")
        from PIL import Image

        from ibench.media import resize_shorter_side_center_crop

        size = self.image_size()
        return [resize_shorter_side_center_crop(
            f if isinstance(f, Image.Image) else Image.fromarray(f), size) for f in frames]

    def preprocess(self, frames: list[Any], image_resize: str = "square") -> torch.Tensor:
        """One media item's frames as model-ready pixels (frames, 3, H, W), float32 on the
        host (pinned when a GPU is used): what the media workers run, off the model thread.
        The image processor works image by image, so these are the pixels a batched call
        gives, bit for bit."""
        pixels = self.image_processor(images=self._shaped(list(frames), image_resize),
                                      return_tensors="pt")["pixel_values"]
        if self.device.type == "cuda":
            pixels = pixels.pin_memory()
        return pixels

    def _pixels(self, frames: list[Any]) -> torch.Tensor:
        """Preprocess frames (PIL images or arrays) with the checkpoint's image processor."""
        pixels = self.image_processor(images=frames, return_tensors="pt")["pixel_values"]
        return pixels.to(self.hf.vision_model.device, self.hf.vision_model.dtype)

    def _qformer(self, image_embeds: torch.Tensor, texts: list[str]) -> torch.Tensor:
        """Query outputs (frames, queries, hidden) for frames that share one kind of text."""
        queries = self.hf.query_tokens.expand(image_embeds.shape[0], -1, -1)
        device = image_embeds.device
        image_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=device)
        if self.family == "blip2":
            out = self.hf.qformer(query_embeds=queries, encoder_hidden_states=image_embeds,
                                  encoder_attention_mask=image_mask)
        elif not texts[0]:
            out = self.hf.qformer(input_ids=None, query_embeds=queries,
                                  encoder_hidden_states=image_embeds,
                                  encoder_attention_mask=image_mask)
        else:
            enc = self.qformer_tokenizer(
                texts, padding="longest", truncation=True, max_length=QFORMER_MAX_TOKENS,
                return_tensors="pt",
            ).to(device)
            query_mask = torch.ones(queries.shape[:-1], dtype=torch.long, device=device)
            out = self.hf.qformer(
                input_ids=enc["input_ids"],
                attention_mask=torch.cat([query_mask, enc["attention_mask"]], dim=1),
                query_embeds=queries, encoder_hidden_states=image_embeds,
                encoder_attention_mask=image_mask,
            )
        return out.last_hidden_state[:, : queries.shape[1]]

    # Vision-encoder outputs kept for media items met again (the other templates of a sample,
    # the other questions on an image or a video): requests are grouped by media item, so a
    # small cache is enough.
    VISION_CACHE_ITEMS = 32

    def _image_embeds(self, item: ModelInput) -> torch.Tensor:
        """The vision encoder's output for one media item (frames, tokens, hidden), computed
        once per item (`media_key`) and alone, so it never depends on the rest of the batch."""
        cache = self._vision_cache
        key = item.media_key
        if key is not None and key in cache:
            cache[key] = cache.pop(key)  # most recently used last
            self.vision_reused += 1
            return cache[key]
        pixels = item.pixels if item.pixels is not None else self.preprocess(
            list(item.frames), item.image_resize)
        vision = self.hf.vision_model
        pixels = pixels.to(vision.device, vision.dtype, non_blocking=True)
        embeds = torch.cat([vision(pixel_values=pixels[i:i + VISION_CHUNK_FRAMES])
                            .last_hidden_state for i in range(0, len(pixels),
                                                              VISION_CHUNK_FRAMES)])
        self.vision_calls += 1
        if key is not None:
            cache[key] = embeds
            while len(cache) > self.VISION_CACHE_ITEMS:
                cache.pop(next(iter(cache)))
        return embeds

    def vision_counts(self) -> dict[str, int]:
        """Vision-encoder runs and reuses so far (the manifest records them per task)."""
        return {"vision_encoder_calls": self.vision_calls,
                "vision_encoder_reused": self.vision_reused}

    def visual_prefix(self, inputs: Sequence[ModelInput]) -> list[torch.Tensor]:
        """Per input, its frames' query outputs concatenated: (frames * queries, lm_hidden).
        Each input runs alone (its frames share its Q-Former text), so its prefix is the same
        whatever else is in the batch."""
        out = []
        for item in inputs:
            if not item.frames and item.pixels is None:
                raise ValueError("a model input needs at least one image or video frame")
            image_embeds = self._image_embeds(item)
            n = image_embeds.shape[0]
            query_out = self._qformer(image_embeds, [self.qformer_text(item)] * n)
            feats = self.hf.language_projection(query_out).to(self.device, self.dtype)
            out.append(feats.reshape(n * feats.shape[1], feats.shape[2]))
        return out

    def lm_ids(self, text: str) -> list[int]:
        """A text's LM token ids with the tokenizer's special tokens (BOS for LLaMA, </s> for
        T5) as LAVIS's tokenizer gave them; never stripped or truncated."""
        if self.lm_tokens is not None:
            return self.lm_tokens.encode(text)
        return self.tokenizer(text, add_special_tokens=True)["input_ids"]

    def prompt_ids(self, prompt: str) -> list[int]:
        """The LM prompt's token ids (lm_ids), never truncated."""
        return self.lm_ids(prompt)

    def prefix_embeds(self, inputs: Sequence[ModelInput]) -> list[torch.Tensor]:
        """Per input, [visual prefix, prompt token embeddings] as one (len, hidden) tensor."""
        embed = self.lm.get_input_embeddings()
        visual = self.visual_prefix(inputs)
        out = []
        for item, vis in zip(inputs, visual, strict=True):
            ids = torch.tensor(self.prompt_ids(item.prompt), dtype=torch.long, device=self.device)
            out.append(torch.cat([vis, embed(ids).to(vis.dtype)]))
        return out

    # ---- generate -------------------------------------------------------------------------

    def _pad_batch(self, embeds: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Stack prefixes, left-padded for decoder-only and right-padded for encoder-decoder."""
        width = max(e.shape[0] for e in embeds)
        batch = embeds[0].new_zeros(len(embeds), width, embeds[0].shape[1])
        mask = torch.zeros(len(embeds), width, dtype=torch.long, device=batch.device)
        left = self.architecture == "decoder-only"
        for i, e in enumerate(embeds):
            span = slice(width - e.shape[0], width) if left else slice(0, e.shape[0])
            batch[i, span] = e
            mask[i, span] = 1
        return batch, mask

    def stop_token_ids(self) -> list[int]:
        """The ids that end a generated answer: the tokenizer's eos plus whatever the
        checkpoint's generation_config.json lists, never `<s>`.

        The Salesforce Vicuna checkpoints' text_config says eos_token_id 1, which is `<s>`
        (LAVIS issue 509); LAVIS stops on its tokenizer's `</s>` (id 2), and so does ibench.
        The language model's own generation config is derived from that text_config, so it is
        not consulted.
        """
        ids = [self.tokenizer.eos_token_id]
        listed = getattr(self.hf, "generation_config", None)
        listed = None if listed is None else listed.eos_token_id
        ids += listed if isinstance(listed, list) else [listed]
        vocab = self.lm.get_input_embeddings().num_embeddings
        out = []
        for tid in ids:
            if tid is None or not 0 <= int(tid) < vocab or int(tid) in out:
                continue
            if self.tokenizer.convert_ids_to_tokens(int(tid)) == "<s>":
                continue
            out.append(int(tid))
        if not out:
            raise ValueError(f"{self.name}: neither the tokenizer nor the generation config "
                             "names an end-of-sequence token to stop generation on")
        return out

    def _pad_id(self) -> int:
        """What pads finished beams and short rows: the tokenizer's pad ([PAD] on Vicuna,
        <pad> on T5), else the first stop id."""
        pad = self.tokenizer.pad_token_id
        vocab = self.lm.get_input_embeddings().num_embeddings
        return int(pad) if pad is not None and 0 <= pad < vocab else self.stop_token_ids()[0]

    def _decode(self, out: torch.Tensor) -> list[str]:
        """Generated ids to stripped text. For decoder-only models, id 0 becomes the eos
        first (LAVIS blip2_vicuna_instruct.generate: `outputs[outputs == 0] = 2`), so a
        generated `<unk>` never reaches an answer; special tokens ([PAD], </s>) are dropped."""
        if self.architecture == "decoder-only" and (
                self.tokenizer.convert_ids_to_tokens(0) == "<unk>"):
            out = out.masked_fill(out == 0, self.stop_token_ids()[0])
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [t.strip() for t in texts]

    @torch.no_grad()
    def generate(self, inputs: Sequence[ModelInput], settings: GenerationSettings) -> list[str]:
        """Beam-search an answer per input; the same outputs whatever the batch size. For
        decoder-only models the prompt is prefilled once, not once per beam (beams.py)."""
        if not inputs:
            return []
        embeds, mask = self._pad_batch(self.prefix_embeds(inputs))
        cache = None
        if self.architecture == "decoder-only":
            cache = prefill_for_beams(self.lm, embeds, mask, settings.num_beams)
        out = self.lm.generate(
            inputs_embeds=embeds, attention_mask=mask, do_sample=False,
            **cache_kwargs(self.lm, cache),
            num_beams=settings.num_beams, num_return_sequences=1,
            max_new_tokens=settings.max_new_tokens, min_new_tokens=settings.min_new_tokens,
            length_penalty=settings.length_penalty, repetition_penalty=1.0,
            logits_processor=_repetition_penalty(settings.repetition_penalty),
            eos_token_id=self.stop_token_ids(), pad_token_id=self._pad_id(),
        )
        return self._decode(out)

    # ---- rank -----------------------------------------------------------------------------

    def candidate_ids(self, candidate: str) -> list[int]:
        """A candidate's scored tokens. T5: with its closing `</s>`. Decoder-only: tokenized
        on its own with the tokenizer's specials, then its leading special token dropped, as
        LAVIS's `concat_text_input_output` drops `output_ids[1:]` (on the Vicuna checkpoints
        that token is `</s>`, their bos); no eos is added. The candidate keeps its
        leading-space form (`▁yes`), as LAVIS's per-candidate tokenization gives it."""
        ids = self.lm_ids(candidate)
        if self.architecture == "encoder-decoder":
            return ids
        bos = self.tokenizer.bos_token_id
        return ids[1:] if bos is not None and ids and ids[0] == bos else ids

    @torch.no_grad()
    def rank(
        self, inputs: Sequence[ModelInput], chunk_size: int | None = None
    ) -> list[list[float]]:
        """Summed log-likelihood of each input's candidates: the prefix run once per input
        (alone), then the candidates of all inputs through the LM together, each input's
        through its own candidate list's trie (planned once per list), so its scores are the
        same whatever else is in the batch."""
        ranked = [item for item in inputs if item.candidates]
        if not ranked:
            return [[] for _ in inputs]
        pad_id = self._pad_id()  # fed after a candidate's last token: any valid id does
        states = [prefix_state(self.lm, prefix) for prefix in self.prefix_embeds(ranked)]
        plans = [cached_plan(self.candidate_token_ids(item.candidates)) for item in ranked]
        got = iter(score_batch(self.lm, states, plans, chunk_size, pad_id))
        return [next(got) if item.candidates else [] for item in inputs]
