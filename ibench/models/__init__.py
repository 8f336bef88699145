"""Models behind one interface: load by name, then `generate` and `rank` (see base.py).

torch and transformers are imported on first use, so `list_aliases` (for `ibench models
list`) stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ibench.models.base import Model, ModelLoadError
from ibench.models.zoo import ModelAlias, find_alias, list_aliases

if TYPE_CHECKING:
    from ibench.models.instructblip import InstructBlipFamilyModel


def load_model(
    name: str,
    *,
    dtype: str | None = None,
    device: str | None = None,
    allow_pickle: bool = False,
    qformer_instruction: bool = True,
    trust_remote_code: bool = False,
) -> InstructBlipFamilyModel:
    """Load a model by alias, hub id or local directory (ibench.models.loading.load_model)."""
    from ibench.models.loading import load_model as _load

    return _load(name, dtype=dtype, device=device, allow_pickle=allow_pickle,
                 qformer_instruction=qformer_instruction, trust_remote_code=trust_remote_code)


def make_tiny(kind: Literal["t5", "vicuna"], out_dir: str | Path, seed: int = 0) -> Path:
    """Write a tiny random-weight checkpoint to out_dir (ibench.models.tiny.make_tiny)."""
    from ibench.models.tiny import make_tiny as _make

    return _make(kind, out_dir, seed=seed)


__all__ = ["Model", "ModelAlias", "ModelLoadError", "find_alias", "list_aliases", "load_model",
           "make_tiny"]
