"""The registry of published formats: one module per format (its reader, its synthetic
writer, the layouts it reads). Adding a dataset = its task file + one module here, listed in
MODULES. Nothing in the format modules imports this registry."""

from __future__ import annotations

from ibench.data.format import Format
from ibench.data.formats import (
    aokvqa,
    capfilt,
    coco_captions,
    gqa,
    hateful_memes,
    iconqa,
    ivqa,
    karpathy,
    lavis,
    llava,
    ocrvqa,
    scienceqa,
    textcaps,
    textvqa,
    video_qa,
    visdial,
    vizwiz,
    vqa,
    vsr,
)

MODULES = (karpathy, coco_captions, textcaps, capfilt, vqa, vizwiz, textvqa, ocrvqa, gqa, vsr,
           iconqa, scienceqa, aokvqa, visdial, hateful_memes, video_qa, ivqa, llava, lavis)


def _collect() -> dict[str, Format]:
    formats: dict[str, Format] = {}
    for module in MODULES:
        for fmt in module.FORMATS:
            if fmt.name in formats:
                raise RuntimeError(f"format {fmt.name!r} is declared twice ({module.__name__})")
            formats[fmt.name] = fmt
    return formats


FORMATS: dict[str, Format] = _collect()

__all__ = ["FORMATS", "MODULES", "Format"]
