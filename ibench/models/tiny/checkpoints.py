"""Tiny checkpoints on disk: `make_tiny` writes one (its family's writer), `ensure_tiny` builds it
once into the cache, atomically, and rebuilds it when the recipe changes."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ibench.cache import cache_dir as ibench_cache_dir
from ibench.errors import disk_fault

# Bump when the recipe changes: cached tiny checkpoints with another version are rebuilt.
TINY_RECIPE_VERSION = 3


_MARKER = "ibench_tiny.json"


def make_tiny(kind: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Write a tiny random-weight checkpoint of this kind (its family's writer) to out_dir;
    returns it."""
    from ibench.models.families import tiny_writer

    write = tiny_writer(kind)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file there, or a file for a parent folder
        from ibench.models.base import ModelLoadError

        raise ModelLoadError(f"{out}: cannot make the checkpoint's folder there "
                             f"({exc.strerror}); name a folder (new or empty)") from None
    write(kind, out, seed)
    return _finish(out, kind, seed)


def _finish(out: Path, kind: str, seed: int) -> Path:
    """Check the checkpoint was written, then mark it as this recipe's."""
    missing = [name for name in _REQUIRED if not (out / name).is_file()]
    if missing:  # transformers writes weights on distributed rank 0 only
        raise RuntimeError(f"{out}: save_pretrained wrote no {', '.join(missing)} (is this a "
                           "distributed process other than rank 0?)")
    marker = {"kind": kind, "seed": seed, "recipe_version": TINY_RECIPE_VERSION}
    (out / _MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    return out


_REQUIRED = ("config.json", "model.safetensors")


def _is_current(path: Path, kind: str) -> bool:
    """Whether path holds a complete tiny checkpoint of this kind built by this recipe."""
    try:
        marker = json.loads((path / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    complete = all((path / name).is_file() for name in _REQUIRED)
    return complete and marker.get("kind") == kind and (
        marker.get("recipe_version") == TINY_RECIPE_VERSION)


def ensure_tiny(kind: str, cache_dir: str | Path | None = None) -> Path:
    """The cached tiny checkpoint of this kind; built atomically (temp dir, rename) if absent."""
    root = Path(cache_dir) if cache_dir is not None else ibench_cache_dir()
    target = root / f"tiny-{kind}"
    if _is_current(target, kind):
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tiny-{kind}-", dir=root))
    try:
        try:
            make_tiny(kind, tmp)
        except Exception as exc:  # noqa: BLE001 - safetensors and tokenizers raise their own
            if disk_fault(exc) != "full":
                raise
            from ibench.models.base import ModelLoadError

            raise ModelLoadError(
                f"cannot build the tiny {kind} checkpoint in {root}: the disk is full "
                f"({exc}); free space there or point IBENCH_CACHE at another disk (nothing "
                f"partial was kept)") from exc
        if target.exists() and not _is_current(target, kind):
            stale = Path(tempfile.mkdtemp(prefix=f".stale-{kind}-", dir=root))
            try:
                os.replace(target, stale / "old")
            except FileNotFoundError:
                pass  # another process moved it first
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _is_current(target, kind):  # another process won the race: keep theirs
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
