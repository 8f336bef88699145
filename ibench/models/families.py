"""The model families ibench drives, one registry entry each: the config types it loads, its
loader, its tiny stand-ins' writer, and its aliases (short names of published checkpoints and
of the stand-ins). Everything else derives from here: which loader a checkpoint takes,
`ibench models list`, `models make-tiny`'s choices, which checkpoints have a row in the paper.

Adding a family: its module (a `load(request)` and, for a stand-in, a `write_tiny(kind, out,
seed)`) and its entry below. Loaders and writers are named as "module:function" and imported
on first use, so listing models never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Architecture = Literal["encoder-decoder", "decoder-only"]


@dataclass(frozen=True)
class ModelAlias:
    """One short model name and what it loads.

    `hub_id` is the Hugging Face repository (None for a locally built tiny model); `resolves_to`
    says in words where the weights come from; `tiny` is the stand-in kind for tiny aliases;
    `paper_row` is the checkpoint's row in the paper's tables, when it has one.
    """

    alias: str
    hub_id: str | None
    family: str
    llm: str
    architecture: Architecture
    resolves_to: str
    description: str
    tiny: str | None = None
    paper_row: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """A plain dict, for tables and JSON."""
        return asdict(self)


@dataclass(frozen=True)
class ModelFamily:
    """One family of models ibench drives.

    `model_types`: the config.json `model_type` values it loads; the family with none takes
    every other checkpoint (and says in one line when it cannot drive it). `loader` and
    `tiny_writer` are "module:function" names (see the module docstring).
    """

    name: str
    description: str
    model_types: tuple[str, ...]
    loader: str
    tiny_writer: str | None
    aliases: tuple[ModelAlias, ...]


def _hub(alias: str, hub_id: str, family: str, llm: str, description: str,
         paper_row: str | None = None) -> ModelAlias:
    """An alias of a hub checkpoint."""
    arch: Architecture = "encoder-decoder" if llm == "flan-t5" else "decoder-only"
    return ModelAlias(alias, hub_id, family, llm, arch, hub_id, description,
                      paper_row=paper_row)


def _tiny(alias: str, family: str, llm: str, architecture: Architecture, description: str
          ) -> ModelAlias:
    """An alias of a tiny random-weight stand-in built locally (kind: the alias less tiny-)."""
    return ModelAlias(alias, None, family, llm, architecture,
                      f"built locally into $IBENCH_CACHE/{alias} (default ~/.cache/ibench)",
                      description, tiny=alias.removeprefix("tiny-"))


FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        "instructblip",
        "InstructBLIP: vision encoder, instruction-aware Q-Former, FlanT5 or Vicuna "
        "(transformers' InstructBlip and InstructBlipVideo classes)",
        ("instructblip", "instructblipvideo"),
        "ibench.models.blip_loading:load", "ibench.models.tiny.blip:write_tiny",
        (
            _hub("flan-t5-xl", "Salesforce/instructblip-flan-t5-xl", "instructblip", "flan-t5",
                 "InstructBLIP, FlanT5-XL (3B) LLM", "InstructBLIP (FlanT5XL)"),
            _hub("flan-t5-xxl", "Salesforce/instructblip-flan-t5-xxl", "instructblip",
                 "flan-t5", "InstructBLIP, FlanT5-XXL (11B) LLM", "InstructBLIP (FlanT5XXL)"),
            _hub("vicuna-7b", "Salesforce/instructblip-vicuna-7b", "instructblip", "vicuna",
                 "InstructBLIP, Vicuna-7B v1.1 LLM", "InstructBLIP (Vicuna-7B)"),
            _hub("vicuna-13b", "Salesforce/instructblip-vicuna-13b", "instructblip", "vicuna",
                 "InstructBLIP, Vicuna-13B v1.1 LLM", "InstructBLIP (Vicuna-13B)"),
            _tiny("tiny-t5", "instructblip", "flan-t5", "encoder-decoder",
                  "tiny random-weight InstructBLIP with a T5 LM, for tests and demos"),
            _tiny("tiny-vicuna", "instructblip", "vicuna", "decoder-only",
                  "tiny random-weight InstructBLIP with a LLaMA LM, for tests and demos"),
            _tiny("tiny-vicuna-video", "instructblip", "vicuna", "decoder-only",
                  "tiny random-weight InstructBLIP-Video (transformers' InstructBlipVideo "
                  "classes, LLaMA LM), for tests and demos"),
        ),
    ),
    ModelFamily(
        "blip2",
        "BLIP-2: the InstructBLIP architecture without the instruction-aware Q-Former",
        ("blip-2",),
        "ibench.models.blip_loading:load", None,
        (
            _hub("blip2-flan-t5-xl", "Salesforce/blip2-flan-t5-xl", "blip2", "flan-t5",
                 "BLIP-2 baseline (Q-Former takes no instruction), FlanT5-XL",
                 "BLIP-2 (FlanT5XL)"),
            _hub("blip2-flan-t5-xxl", "Salesforce/blip2-flan-t5-xxl", "blip2", "flan-t5",
                 "BLIP-2 baseline (Q-Former takes no instruction), FlanT5-XXL",
                 "BLIP-2 (FlanT5XXL)"),
        ),
    ),
    ModelFamily(
        "vlm",
        "Any other decoder-only vision-language model transformers loads with "
        "AutoModelForImageTextToText and an AutoProcessor (chat-templated prompts); no paper "
        "row",
        (),
        "ibench.models.vlm_loading:load", "ibench.models.tiny.llava_qwen:write_tiny",
        (
            _hub("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", "vlm", "vicuna",
                 "LLaVA-1.5, Vicuna-7B v1.5 LLM (not InstructBLIP: no paper row)"),
            _hub("qwen2-vl-2b", "Qwen/Qwen2-VL-2B-Instruct", "vlm", "qwen2",
                 "Qwen2-VL-2B-Instruct (not InstructBLIP: no paper row)"),
            _tiny("tiny-llava", "vlm", "llama", "decoder-only",
                  "tiny random-weight LLaVA-1.5-style model (CLIP ViT, LLaMA), for tests and "
                  "demos"),
            _tiny("tiny-qwen2vl", "vlm", "qwen2", "decoder-only",
                  "tiny random-weight Qwen2-VL-style model (M-RoPE), for tests and demos"),
        ),
    ),
)


def list_aliases() -> list[ModelAlias]:
    """All known aliases, family by family, in table order."""
    return [alias for family in FAMILIES for alias in family.aliases]


def find_alias(name: str) -> ModelAlias | None:
    """The alias record for a short name (case-insensitive), or None if name is not an alias."""
    key = name.strip().lower()
    return next((a for a in list_aliases() if a.alias == key), None)


def family_named(name: str) -> ModelFamily:
    """The registry entry of a family name."""
    return next(f for f in FAMILIES if f.name == name)


def family_for(model_type: str) -> ModelFamily:
    """The family that loads checkpoints of this config.json `model_type` (the catch-all family
    for a type no family names)."""
    named = [f for f in FAMILIES if model_type in f.model_types]
    return named[0] if named else next(f for f in FAMILIES if not f.model_types)


def tiny_kinds() -> tuple[str, ...]:
    """Every tiny stand-in kind (`ibench models make-tiny KIND`)."""
    return tuple(a.tiny for a in list_aliases() if a.tiny is not None)


def tiny_writer(kind: str) -> Callable[..., None]:
    """The function that writes a tiny stand-in of this kind: (kind, folder, seed)."""
    alias = next((a for a in list_aliases() if a.tiny == kind), None)
    if alias is None:
        raise ValueError(f"unknown tiny kind {kind!r}: expected one of {', '.join(tiny_kinds())}")
    writer = family_named(alias.family).tiny_writer
    if writer is None:  # pragma: no cover - every stand-in's family has a writer
        raise ValueError(f"family {alias.family} has no tiny stand-in")
    return imported(writer)


def paper_rows() -> dict[str, str]:
    """Hub checkpoint id -> its row in the paper's tables."""
    return {a.hub_id: a.paper_row for a in list_aliases() if a.hub_id and a.paper_row}


def imported(name: str) -> Any:
    """The object a "module:function" name points at, imported now."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)
