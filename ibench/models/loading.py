"""`load_model`: an alias, hub id or local directory -> a model ready to run, loaded by the
family that names the checkpoint's config type (families.py: blip_loading.py for InstructBLIP
and BLIP-2, vlm_loading.py for other transformers vision-language models).

Hub checkpoints are read from the local Hugging Face cache first; a name not cached fails at
once when offline (HF_HUB_OFFLINE=1), and after one quick download attempt otherwise, with a
`ModelLoadError` saying how to point ibench at a local copy. Weights load as safetensors only
unless `allow_pickle`; remote code stays off unless asked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ibench.models.base import (
    Checkpoint,
    LoadRequest,
    Model,
    ModelLoadError,
    default_device,
    resolve_dtype,
)
from ibench.models.families import family_for, find_alias, imported, list_aliases
from ibench.safetext import visible

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken"]


def _offline() -> bool:
    """Whether hub access is disabled (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, read now)."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)


def _not_cached(repo_id: str, reason: str) -> ModelLoadError:
    """The error for a hub checkpoint that is not available locally, with what to do."""
    return ModelLoadError(
        f"model {repo_id!r} is not in the local Hugging Face cache ({reason}).",
        "Point ibench at a local copy: --model /path/to/dir (a folder with config.json and "
        "*.safetensors), or fetch it on a machine with hub access:",
        f"  hf download {visible(repo_id)}",
        "and copy the cache over, setting HF_HOME to the folder that holds hub/ (default "
        "~/.cache/huggingface).",
    )


def _hub_snapshot(repo_id: str, allow_pickle: bool = False, revision: str | None = None
                  ) -> Checkpoint:
    """A hub repository's cached snapshot at `revision` (default: main), with one quick
    download attempt if online."""
    from huggingface_hub import snapshot_download

    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        path = snapshot_download(repo_id, revision=revision, local_files_only=True)
    except Exception as err:  # noqa: BLE001 - any miss means "not cached"
        if _offline():
            raise _not_cached(where, "offline mode, HF_HUB_OFFLINE=1") from err
        try:
            patterns = _DOWNLOAD_PATTERNS + (["*.bin"] if allow_pickle else [])
            path = snapshot_download(repo_id, revision=revision, allow_patterns=patterns,
                                     etag_timeout=10)
        except Exception as err2:  # noqa: BLE001
            raise _not_cached(where, f"download failed: {type(err2).__name__}") from err2
    return Checkpoint(model_id=repo_id, path=Path(path), revision=Path(path).name)


def local_copy_revision(path: Path) -> str | None:
    """The hub commit a folder made by `hf download REPO --local-dir DIR` came from: the first
    line of the download metadata it leaves beside config.json (None for other folders)."""
    meta = path / ".cache" / "huggingface" / "download" / "config.json.metadata"
    try:
        first = meta.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    return first if re.fullmatch(r"[0-9a-f]{40}", first) else None


def resolve_source(name: str, allow_pickle: bool = False, revision: str | None = None
                   ) -> Checkpoint:
    """Resolve an alias, a local directory or a hub id (at `revision`) to a local directory."""
    alias = find_alias(name)
    if alias is not None and alias.tiny is not None:
        from ibench.models.tiny.checkpoints import TINY_RECIPE_VERSION, ensure_tiny

        return Checkpoint(f"ibench/{alias.alias}", ensure_tiny(alias.tiny),
                      f"tiny-recipe-{TINY_RECIPE_VERSION}")
    target = alias.hub_id if alias is not None and alias.hub_id else name
    local = Path(target).expanduser()
    if local.is_dir():
        if revision is not None:
            raise ModelLoadError(f"--revision {revision}: {local} is a local folder, not a hub "
                                 f"repository; a folder has the revision it was copied at")
        return Checkpoint(model_id=str(local.resolve()), path=local.resolve(),
                      revision=local_copy_revision(local.resolve()))
    if local.exists() or target.startswith((".", "/", "~")) or not _HUB_ID.fullmatch(target):
        known = ", ".join(a.alias for a in list_aliases())
        raise ModelLoadError(
            f"{name!r} is neither a model directory nor a hub id (owner/name) nor an alias "
            f"({known})"
        )
    return _hub_snapshot(target, allow_pickle, revision)


def _read_config(path: Path) -> dict[str, Any]:
    """config.json of a checkpoint directory, or a ModelLoadError saying what is wrong."""
    try:
        return json.loads((path / "config.json").read_text())
    except FileNotFoundError as err:
        raise ModelLoadError(f"{path} has no config.json: not a model checkpoint") from err
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"{path}/config.json cannot be read: {err}") from err


# from_pretrained arguments that --model-args may not set: ibench sets them itself.
_RESERVED_MODEL_ARGS = ("dtype", "torch_dtype", "trust_remote_code", "use_safetensors",
                        "revision", "pretrained_model_name_or_path")


def parse_model_args(given: str | Mapping[str, Any]) -> dict[str, Any]:
    """from_pretrained keyword arguments: `--model-args attn_implementation=sdpa,
    low_cpu_mem_usage=true` (true/false/none, integers and numbers typed; the rest strings), or
    the same as a mapping (the Python API). Names ibench sets itself are refused."""
    if not isinstance(given, str):
        out = dict(given)
        for key in out:
            if not str(key).isidentifier():
                raise ModelLoadError(f"--model-args: {key!r} is not a keyword argument name")
            _check_reserved(str(key))
        return out
    out = {}
    for part in filter(None, (p.strip() for p in given.split(","))):
        key, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not key or not value or not key.isidentifier():
            raise ModelLoadError(f"--model-args: {part!r} is not name=value")
        _check_reserved(key)
        lowered = value.lower()
        if lowered in ("true", "false"):
            out[key] = lowered == "true"
        elif lowered in ("none", "null"):
            out[key] = None
        else:
            try:
                out[key] = int(value)
            except ValueError:
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
    return out


def _check_reserved(key: str) -> None:
    if key in _RESERVED_MODEL_ARGS:
        raise ModelLoadError(f"--model-args: {key} is set by ibench (use --dtype, --revision "
                             f"or --allow-pickle)")


def quiet_transformers() -> None:
    """Keep transformers' own progress bars and warnings out of ibench's output (ibench shows
    its own progress; errors still surface as exceptions)."""
    from transformers.utils import logging as hf_logging

    from ibench.safetext import escape_library_output

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    hf_logging.get_logger()  # its handler exists from here on: it escapes what it writes
    escape_library_output()


def load_model(
    name: str,
    *,
    dtype: str | None = None,
    device: str | None = None,
    allow_pickle: bool = False,
    qformer_instruction: bool = True,
    trust_remote_code: bool = False,
    revision: str | None = None,
    model_args: dict[str, Any] | None = None,
    published_as: str | None = None,
) -> Model:
    """Load a model by alias, hub id (at `revision`) or local directory, ready to run: the
    family whose config types name the checkpoint's `model_type` loads it (families.py);
    `model_args` go to from_pretrained; `published_as` says which published checkpoint a
    local copy is (found in its config.json when it records it)."""
    quiet_transformers()
    name = os.fspath(name)
    checkpoint = resolve_source(name, allow_pickle, revision)
    device = device or default_device()
    config = _read_config(checkpoint.path)
    request = LoadRequest(
        name=name, checkpoint=checkpoint, config=config,
        torch_dtype=resolve_dtype(dtype, device), device=device, allow_pickle=allow_pickle,
        trust_remote_code=trust_remote_code, qformer_instruction=qformer_instruction,
        revision=revision, model_args=dict(model_args or {}), published_as=published_as)
    family = family_for(request.model_type)
    return imported(family.loader)(request)
