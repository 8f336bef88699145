"""The model interface the runner calls (DESIGN.md "The model interface"), and its errors.

A model takes already-loaded media (`ModelInput.frames`: one image, or N video frames) and
the rendered prompt, and answers two batched calls: `generate` (beam search) and `rank`
(summed log-likelihood of each candidate). Nothing here imports torch, so listing models stays
fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ibench.errors import IbenchError
from ibench.records import Architecture, GenerationSettings, ModelInput

DTYPE_NAMES = ("bf16", "fp16", "fp32")


class ModelLoadError(IbenchError, RuntimeError):
    """A checkpoint could not be found, read or recognised; the message says what to do."""


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a loaded vision-language model."""

    name: str
    architecture: Architecture

    def generate(self, inputs: Sequence[ModelInput], settings: GenerationSettings) -> list[str]:
        """Beam-search an answer per input; outputs stripped, prompt not included."""
        ...

    def rank(
        self, inputs: Sequence[ModelInput], chunk_size: int | None = None
    ) -> list[list[float]]:
        """Summed log-likelihood of each input's candidates given its media and prompt."""
        ...

    def info(self) -> dict[str, Any]:
        """Model id, path, revision, dtype, device, ablation switches, size: for the manifest."""
        ...


@dataclass(frozen=True)
class Checkpoint:
    """Where a model name resolved to: its id, local directory and hub commit (if known)."""

    model_id: str
    path: Path
    revision: str | None = None


@dataclass(frozen=True)
class LoadRequest:
    """What a family's loader gets (models/families.py): the name asked for, the checkpoint
    it resolved to and its config.json, and the options of `load_model`."""

    name: str
    checkpoint: Checkpoint
    config: dict[str, Any]
    torch_dtype: Any
    device: str
    allow_pickle: bool = False
    trust_remote_code: bool = False
    qformer_instruction: bool = True
    revision: str | None = None  # as asked (--revision), recorded
    model_args: dict[str, Any] = field(default_factory=dict)
    published_as: str | None = None

    @property
    def model_type(self) -> str:
        """config.json's model_type."""
        return str(self.config.get("model_type", ""))

    def load_args(self, published: str | None) -> dict[str, Any]:
        """What the manifest records of how the model was loaded; `stand_in` when the folder
        is one of ibench's tiny random-weight checkpoints (its ibench_tiny.json marker), e.g.
        passed as a local copy of a published checkpoint in a test."""
        stand_in = None
        if (self.checkpoint.path / "ibench_tiny.json").is_file():
            stand_in = "an ibench tiny random-weight checkpoint (ibench_tiny.json)"
        return {"model_args": dict(self.model_args), "published_as": published,
                "requested_revision": self.revision, "stand_in": stand_in}


def check_weights(path: Path, allow_pickle: bool) -> None:
    """Refuse a checkpoint without safetensors weights unless pickled weights are allowed."""
    if any(path.glob("*.safetensors")):
        return
    if any(path.glob("*.bin")) or any(path.glob("*.pt")):
        if allow_pickle:
            return
        raise ModelLoadError(
            f"{path} has only pickled weights (*.bin), which can run code when loaded; "
            f"convert them to safetensors, or pass allow_pickle=True (--allow-pickle) if you "
            f"trust the source"
        )
    raise ModelLoadError(f"{path} holds no model weights (*.safetensors)")


class CandidateTokens:
    """Candidate lists tokenized once: a task's samples share one vocabulary (MSVD/MSRVTT's
    1,000-1,500 answers) or a few short lists, so the last `size` lists are kept, keyed by the
    list; the same list gets the same object back (scoring.cached_plan keys on it)."""

    def __init__(self, tokenize: Callable[[str], list[int]], size: int = 16) -> None:
        self.tokenize = tokenize
        self.size = size
        self.lists: dict[tuple[str, ...], list[list[int]]] = {}
        self.tokenizations = 0  # distinct lists tokenized

    def __call__(self, candidates: Sequence[str]) -> list[list[int]]:
        key = tuple(candidates)
        if key not in self.lists:
            self.lists[key] = [self.tokenize(c) for c in key]
            self.tokenizations += 1
            while len(self.lists) > self.size:
                self.lists.pop(next(iter(self.lists)))
        return self.lists[key]


class TokenizesCandidateLists:
    """For a model with `_candidate_tokens` (a CandidateTokens over its `candidate_ids`): each
    candidate list tokenized once, and how many lists were."""

    _candidate_tokens: CandidateTokens

    def candidate_token_ids(self, candidates: tuple[str, ...]) -> list[list[int]]:
        """`candidate_ids` of every candidate, computed once per distinct candidate list."""
        return self._candidate_tokens(candidates)

    @property
    def candidate_tokenizations(self) -> int:
        """Distinct candidate lists tokenized so far."""
        return self._candidate_tokens.tokenizations


def default_device() -> str:
    """cuda when a GPU is visible, else cpu."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str | None, device: str) -> Any:
    """The torch dtype for a name (bf16, fp16, fp32); default bf16 on CUDA, fp32 elsewhere."""
    import torch

    table = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if dtype is None:
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    key = dtype.lower().replace("bfloat16", "bf16").replace("float16", "fp16")
    key = key.replace("float32", "fp32")
    if key not in table:
        raise ValueError(f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPE_NAMES)}")
    return table[key]


def dtype_name(dtype: Any) -> str:
    """The short name (bf16, fp16, fp32) of a torch dtype, for manifests."""
    import torch

    names = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}
    return names.get(dtype, str(dtype).removeprefix("torch."))


def context_length(text_config: Any) -> int | None:
    """The positions a decoder-only language model holds (max_position_embeddings); None for an
    encoder-decoder one (T5's relative positions set no hard limit)."""
    if getattr(text_config, "is_encoder_decoder", False):
        return None
    value = getattr(text_config, "max_position_embeddings", None)
    return int(value) if isinstance(value, int) and value > 0 else None
