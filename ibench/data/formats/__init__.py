"""The registry of published formats: one module per format (its reader, its synthetic
writer, the layouts it reads), each declaring FORMATS. Every module of this package is one:
adding a dataset = its task file + one module here. Nothing in the format modules imports
this registry."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ibench.data.format import Format

MODULES: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name))


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
