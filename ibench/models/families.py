"""Model names -> checkpoints: the alias table, as plain records (for `ibench models list`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Family = Literal["instructblip", "blip2", "llava", "qwen2_vl"]
LlmKind = Literal["flan-t5", "vicuna", "llama", "qwen2"]


@dataclass(frozen=True)
class ModelAlias:
    """One short model name and what it loads.

    `hub_id` is the Hugging Face repository (None for a locally built tiny model); `resolves_to`
    says in words where the weights come from; `tiny` is the make_tiny kind for tiny aliases.
    """

    alias: str
    hub_id: str | None
    family: Family
    llm: LlmKind
    architecture: Literal["encoder-decoder", "decoder-only"]
    resolves_to: str
    description: str
    tiny: Literal["t5", "vicuna", "vicuna-video", "llava", "qwen2vl"] | None = None

    def as_dict(self) -> dict[str, str | None]:
        """A plain dict, for tables and JSON."""
        return asdict(self)


def _hub(alias: str, hub_id: str, family: Family, llm: LlmKind, description: str) -> ModelAlias:
    """An alias of a hub checkpoint."""
    arch = "encoder-decoder" if llm == "flan-t5" else "decoder-only"
    return ModelAlias(alias, hub_id, family, llm, arch, hub_id, description)


ALIASES: tuple[ModelAlias, ...] = (
    _hub("flan-t5-xl", "Salesforce/instructblip-flan-t5-xl", "instructblip", "flan-t5",
         "InstructBLIP, FlanT5-XL (3B) LLM"),
    _hub("flan-t5-xxl", "Salesforce/instructblip-flan-t5-xxl", "instructblip", "flan-t5",
         "InstructBLIP, FlanT5-XXL (11B) LLM"),
    _hub("vicuna-7b", "Salesforce/instructblip-vicuna-7b", "instructblip", "vicuna",
         "InstructBLIP, Vicuna-7B v1.1 LLM"),
    _hub("vicuna-13b", "Salesforce/instructblip-vicuna-13b", "instructblip", "vicuna",
         "InstructBLIP, Vicuna-13B v1.1 LLM"),
    _hub("blip2-flan-t5-xl", "Salesforce/blip2-flan-t5-xl", "blip2", "flan-t5",
         "BLIP-2 baseline (Q-Former takes no instruction), FlanT5-XL"),
    _hub("blip2-flan-t5-xxl", "Salesforce/blip2-flan-t5-xxl", "blip2", "flan-t5",
         "BLIP-2 baseline (Q-Former takes no instruction), FlanT5-XXL"),
    ModelAlias("tiny-t5", None, "instructblip", "flan-t5", "encoder-decoder",
               "built locally into $IBENCH_CACHE/tiny-t5 (default ~/.cache/ibench)",
               "tiny random-weight InstructBLIP with a T5 LM, for tests and demos", tiny="t5"),
    ModelAlias("tiny-vicuna", None, "instructblip", "vicuna", "decoder-only",
               "built locally into $IBENCH_CACHE/tiny-vicuna (default ~/.cache/ibench)",
               "tiny random-weight InstructBLIP with a LLaMA LM, for tests and demos",
               tiny="vicuna"),
    ModelAlias("tiny-vicuna-video", None, "instructblip", "vicuna", "decoder-only",
               "built locally into $IBENCH_CACHE/tiny-vicuna-video (default ~/.cache/ibench)",
               "tiny random-weight InstructBLIP-Video (transformers' InstructBlipVideo "
               "classes, LLaMA LM), for tests and demos", tiny="vicuna-video"),
    # Other vision-language models, run on the same protocol through vlm.py (any checkpoint
    # AutoModelForImageTextToText loads works by hub id or folder; these are short names).
    _hub("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", "llava", "vicuna",
         "LLaVA-1.5, Vicuna-7B v1.5 LLM (not InstructBLIP: no paper row)"),
    _hub("qwen2-vl-2b", "Qwen/Qwen2-VL-2B-Instruct", "qwen2_vl", "qwen2",
         "Qwen2-VL-2B-Instruct (not InstructBLIP: no paper row)"),
    ModelAlias("tiny-llava", None, "llava", "llama", "decoder-only",
               "built locally into $IBENCH_CACHE/tiny-llava (default ~/.cache/ibench)",
               "tiny random-weight LLaVA-1.5-style model (CLIP ViT, LLaMA), for tests and demos",
               tiny="llava"),
    ModelAlias("tiny-qwen2vl", None, "qwen2_vl", "qwen2", "decoder-only",
               "built locally into $IBENCH_CACHE/tiny-qwen2vl (default ~/.cache/ibench)",
               "tiny random-weight Qwen2-VL-style model (M-RoPE), for tests and demos",
               tiny="qwen2vl"),
)


def list_aliases() -> list[ModelAlias]:
    """All known aliases, in table order."""
    return list(ALIASES)


def find_alias(name: str) -> ModelAlias | None:
    """The alias record for a short name (case-insensitive), or None if name is not an alias."""
    key = name.strip().lower()
    return next((a for a in ALIASES if a.alias == key), None)
