"""Image features prepared off the model thread, handed to a transformers processor.

A vision-language processor's `__call__` runs its image processor and expands each image
placeholder in the text by the features' sizes (LLaVA: the pixel grid; Qwen2-VL:
`image_grid_thw`). ibench runs the image processor in its media workers, once per media item
(vlm.py `preprocess`), and on the model thread calls the processor with an image processor
that hands back those features (`prepared_images`), so the text is expanded exactly as if it
had computed them itself, and nothing is computed twice. The real image processor stays the
workers' own; only the model thread's processor call sees the stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch


def concat_features(items: Sequence[Any]) -> dict[str, torch.Tensor] | None:
    """Per-item image processor outputs (dicts of tensors, images along dim 0) as one batch's,
    or None where they cannot be stacked that way (an item not prepared, other keys, a
    non-tensor value, shapes that differ past dim 0: an image processor that pads a batch
    together must see the whole batch)."""
    if not items or any(not isinstance(item, dict) or not item for item in items):
        return None
    keys = list(items[0])
    out: dict[str, torch.Tensor] = {}
    for key in keys:
        values = [item.get(key) for item in items]
        if any(not isinstance(v, torch.Tensor) or v.dim() == 0 for v in values):
            return None
        if any(v.shape[1:] != values[0].shape[1:] for v in values):
            return None
        out[key] = torch.cat(values) if len(values) > 1 else values[0]
    if any(set(item) != set(keys) for item in items):
        return None
    return out


class _Prepared:
    """An image processor that returns the prepared features; any other attribute (patch
    size, merge size, ...) is the real one's."""

    def __init__(self, real: Any, features: dict[str, torch.Tensor]) -> None:
        self._real = real
        self._features = features

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from transformers import BatchFeature

        return BatchFeature(dict(self._features))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def prepared_images(processor: Any, features: dict[str, torch.Tensor], real: Any
                    ) -> Iterator[None]:
    """For the duration, `processor.image_processor` hands back `features`, its other
    attributes those of `real` (the model's image processor)."""
    before = processor.image_processor
    processor.image_processor = _Prepared(real, features)
    try:
        yield
    finally:
        processor.image_processor = before
