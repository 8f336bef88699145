"""`load_model`: an alias, hub id or local directory -> a ready InstructBLIP-family model, or
another transformers vision-language model (vlm_loading.py).

Hub checkpoints are read from the local Hugging Face cache first; a name not cached fails at
once when offline (HF_HUB_OFFLINE=1), and after one quick download attempt otherwise, with a
`ModelLoadError` saying how to point ibench at a local copy. Weights load as safetensors only
unless `allow_pickle`; remote code stays off unless asked.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibench.models.base import ModelLoadError, default_device, resolve_dtype
from ibench.models.families import find_alias, list_aliases
from ibench.models.instructblip import Family, InstructBlipFamilyModel

if TYPE_CHECKING:
    from ibench.models.vlm import VisionLanguageModel

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken"]
# model_type in config.json -> (transformers class name, family)
_MODEL_TYPES: dict[str, tuple[str, Family]] = {
    "instructblip": ("InstructBlipForConditionalGeneration", "instructblip"),
    "blip-2": ("Blip2ForConditionalGeneration", "blip2"),
    # InstructBLIP-Video: InstructBLIP's architecture and weights (blipvideo.py)
    "instructblipvideo": ("InstructBlipVideoForConditionalGeneration", "instructblip"),
}


@dataclass(frozen=True)
class Source:
    """Where a model name resolved to: its id, local directory and hub commit (if known)."""

    model_id: str
    path: Path
    revision: str | None = None


def _offline() -> bool:
    """Whether hub access is disabled (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, read now)."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)


def _not_cached(repo_id: str, reason: str) -> ModelLoadError:
    """The error for a hub checkpoint that is not available locally, with what to do."""
    return ModelLoadError(
        f"model {repo_id!r} is not in the local Hugging Face cache ({reason}).\n"
        f"Point ibench at a local copy: --model /path/to/dir (a folder with config.json and "
        f"*.safetensors), or fetch it on a machine with hub access:\n"
        f"  hf download {repo_id}\n"
        f"and copy the cache over, setting HF_HOME to the folder that holds hub/ "
        f"(default ~/.cache/huggingface)."
    )


def _hub_snapshot(repo_id: str, allow_pickle: bool = False, revision: str | None = None
                  ) -> Source:
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
    return Source(model_id=repo_id, path=Path(path), revision=Path(path).name)


def local_copy_revision(path: Path) -> str | None:
    """The hub commit a folder made by `hf download REPO --local-dir DIR` came from: the first
    line of the download metadata it leaves beside config.json (None for other folders)."""
    meta = path / ".cache" / "huggingface" / "download" / "config.json.metadata"
    try:
        first = meta.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    return first if re.fullmatch(r"[0-9a-f]{40}", first) else None


def published_checkpoint(config: dict[str, Any], claimed: str | None) -> str | None:
    """Which published checkpoint a local folder is a copy of: the one `--published-as` names
    (an alias or a hub id of the alias table), else the hub id its config.json records in
    `_name_or_path` when that is a known checkpoint; None when nothing says so."""
    known = {a.hub_id: a for a in list_aliases()
             if a.hub_id and a.family in ("instructblip", "blip2")}
    if claimed is not None:
        alias = find_alias(claimed)
        hub_id = alias.hub_id if alias is not None else claimed
        if hub_id not in known:
            raise ModelLoadError(f"--published-as {claimed!r}: not a published checkpoint of "
                                 f"the alias table ({', '.join(a.alias for a in known.values())})")
        return hub_id
    named = config.get("_name_or_path")
    return named if isinstance(named, str) and named in known else None


def resolve_source(name: str, allow_pickle: bool = False, revision: str | None = None
                   ) -> Source:
    """Resolve an alias, a local directory or a hub id (at `revision`) to a local directory."""
    alias = find_alias(name)
    if alias is not None and alias.tiny is not None:
        from ibench.models.tiny.blip import TINY_RECIPE_VERSION, ensure_tiny

        return Source(f"ibench/{alias.alias}", ensure_tiny(alias.tiny),
                      f"tiny-recipe-{TINY_RECIPE_VERSION}")
    target = alias.hub_id if alias is not None and alias.hub_id else name
    local = Path(target).expanduser()
    if local.is_dir():
        if revision is not None:
            raise ModelLoadError(f"--revision {revision}: {local} is a local folder, not a hub "
                                 f"repository; a folder has the revision it was copied at")
        return Source(model_id=str(local.resolve()), path=local.resolve(),
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


def _check_weights(path: Path, allow_pickle: bool) -> None:
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


# from_pretrained arguments that --model-args may not set: ibench sets them itself.
_RESERVED_MODEL_ARGS = ("dtype", "torch_dtype", "trust_remote_code", "use_safetensors",
                        "revision", "pretrained_model_name_or_path")


def parse_model_args(text: str) -> dict[str, Any]:
    """`--model-args attn_implementation=sdpa,low_cpu_mem_usage=true` as from_pretrained
    keyword arguments (true/false/none, integers and numbers typed; the rest strings)."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not key or not value or not key.isidentifier():
            raise ModelLoadError(f"--model-args: {part!r} is not name=value")
        if key in _RESERVED_MODEL_ARGS:
            raise ModelLoadError(f"--model-args: {key} is set by ibench (use --dtype, "
                                 f"--revision or --allow-pickle)")
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


def _load_hf_model(path: Path, model_type: str, torch_dtype: Any, allow_pickle: bool,
                   trust_remote_code: bool, model_args: dict[str, Any] | None = None) -> Any:
    """The transformers model for a checkpoint directory, with errors made ModelLoadErrors."""
    import transformers

    class_name = _MODEL_TYPES[model_type][0]
    cls = getattr(transformers, class_name)
    try:
        return cls.from_pretrained(
            path, dtype=torch_dtype, use_safetensors=None if allow_pickle else True,
            trust_remote_code=trust_remote_code, **(model_args or {}),
        )
    except Exception as err:  # noqa: BLE001 - surface any load failure with the path
        raise ModelLoadError(f"cannot load {class_name} from {path}: {err}") from err


def _load_processors(path: Path, family: Family, trust_remote_code: bool,
                     image_processor: Any = None) -> tuple[Any, Any, Any | None]:
    """(image processor (PIL backend, as LAVIS) unless given, LM tokenizer, Q-Former tokenizer
    or None)."""
    from transformers import AutoImageProcessor, AutoTokenizer

    try:
        if image_processor is None:
            image_processor = AutoImageProcessor.from_pretrained(path, backend="pil")
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        qformer_tokenizer = None
        if family == "instructblip":
            qformer_tokenizer = AutoTokenizer.from_pretrained(path, subfolder="qformer_tokenizer")
            qformer_tokenizer.truncation_side = "left"
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"cannot load the processor/tokenizers from {path}: {err}") from err
    return image_processor, tokenizer, qformer_tokenizer


def quiet_transformers() -> None:
    """Keep transformers' own progress bars and warnings out of ibench's output (ibench shows
    its own progress; errors still surface as exceptions)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


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
) -> InstructBlipFamilyModel | VisionLanguageModel:
    """Load an InstructBLIP / BLIP-2 model, or another decoder-only vision-language model
    transformers loads (vlm.py), by alias, hub id (at `revision`) or local directory, ready to
    run; `model_args` go to from_pretrained; `published_as` says which
    published checkpoint a local copy is (found in its config.json when it records it)."""
    quiet_transformers()
    name = os.fspath(name)
    source = resolve_source(name, allow_pickle, revision)
    device = device or default_device()
    torch_dtype = resolve_dtype(dtype, device)
    config = _read_config(source.path)
    model_type = config.get("model_type", "")
    if model_type not in _MODEL_TYPES:
        from ibench.models.vlm_loading import check_vlm_type, load_vlm

        check_vlm_type(source.path, model_type, tuple(_MODEL_TYPES))
        if not qformer_instruction:
            raise ModelLoadError(f"--no-qformer-instruction: {name} ({model_type}) has no "
                                 "Q-Former to take an instruction")
        if published_as is not None:
            raise ModelLoadError(f"--published-as {published_as}: {name} ({model_type}) is not "
                                 "a checkpoint of the paper's table")
        _check_weights(source.path, allow_pickle)
        model = load_vlm(source.path, name=name, model_id=source.model_id,
                         revision=source.revision, torch_dtype=torch_dtype, device=device,
                         allow_pickle=allow_pickle, trust_remote_code=trust_remote_code,
                         model_args=model_args)
        model.load_args = {"model_args": dict(model_args or {}), "published_as": None,
                           "requested_revision": revision}
        return model
    _check_weights(source.path, allow_pickle)
    family = _MODEL_TYPES[model_type][1]
    published = published_checkpoint(config, published_as)
    frames_from, video_notes = None, {}
    if model_type == "instructblipvideo":  # its frames: from its video processor's settings
        from ibench.models.blipvideo import frame_image_processor

        frames_from, video_notes = frame_image_processor(source.path)
    hf_model = _load_hf_model(source.path, model_type, torch_dtype, allow_pickle,
                              trust_remote_code, model_args)
    hf_model.to(device)
    image_processor, tokenizer, qformer_tokenizer = _load_processors(
        source.path, family, trust_remote_code, frames_from
    )
    model = InstructBlipFamilyModel(
        hf_model, image_processor, tokenizer, qformer_tokenizer, name=name, family=family,
        qformer_instruction=qformer_instruction, model_id=source.model_id,
        path=str(source.path), revision=source.revision,
    )
    model.load_args = {"model_args": dict(model_args or {}), "published_as": published,
                       "requested_revision": revision}
    model.load_args.update(video_notes)
    return model
