"""Models behind one interface (base.py): load by name, then `generate` and `rank`.

families.py is the registry of the model families ibench drives. torch and transformers are
imported on first use, so `list_aliases` (for `ibench models list`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ibench.models.base import Model, ModelLoadError
from ibench.models.families import ModelAlias, find_alias, list_aliases

if TYPE_CHECKING:
    from ibench.models.loading import load_model
    from ibench.models.tiny.checkpoints import make_tiny


def __getattr__(name: str) -> Any:
    """`load_model` and `make_tiny` import torch and transformers on first use."""
    if name == "load_model":
        from ibench.models.loading import load_model

        return load_model
    if name == "make_tiny":
        from ibench.models.tiny.checkpoints import make_tiny

        return make_tiny
    raise AttributeError(f"module 'ibench.models' has no attribute {name!r}")


__all__ = ["Model", "ModelAlias", "ModelLoadError", "find_alias", "list_aliases", "load_model",
           "make_tiny"]
