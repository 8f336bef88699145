"""Loading an InstructBLIP, InstructBLIP-Video or BLIP-2 checkpoint (the instructblip and
blip2 families): its transformers class, the image processor (PIL, as LAVIS), the LM and
Q-Former tokenizers, and which published checkpoint a local copy is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ibench.models.base import LoadRequest, ModelLoadError, check_weights
from ibench.models.families import FAMILIES, list_aliases
from ibench.models.instructblip import InstructBlipFamilyModel
from ibench.models.lavis_tokens import lavis_tokens_for

# config.json model_type -> its transformers class
MODEL_CLASSES = {
    "instructblip": "InstructBlipForConditionalGeneration",
    "blip-2": "Blip2ForConditionalGeneration",
    # InstructBLIP-Video: InstructBLIP's architecture and weights (blipvideo.py)
    "instructblipvideo": "InstructBlipVideoForConditionalGeneration",
}


def published_checkpoint(config: dict[str, Any], claimed: str | None) -> str | None:
    """Which published checkpoint a local folder is a copy of: the one `--published-as` names
    (an alias or a hub id of the alias table), else the hub id its config.json records in
    `_name_or_path` when that is a known checkpoint; None when nothing says so."""
    from ibench.models.families import find_alias

    known = {a.hub_id: a for a in list_aliases() if a.hub_id and a.paper_row}
    if claimed is not None:
        alias = find_alias(claimed)
        hub_id = alias.hub_id if alias is not None else claimed
        if hub_id not in known:
            raise ModelLoadError(f"--published-as {claimed!r}: not a published checkpoint of "
                                 f"the alias table ({', '.join(a.alias for a in known.values())})")
        return hub_id
    named = config.get("_name_or_path")
    return named if isinstance(named, str) and named in known else None


def _load_hf_model(path: Path, model_type: str, request: LoadRequest) -> Any:
    """The transformers model for a checkpoint directory, with errors made ModelLoadErrors."""
    import transformers

    class_name = MODEL_CLASSES[model_type]
    cls = getattr(transformers, class_name)
    try:
        return cls.from_pretrained(
            path, dtype=request.torch_dtype,
            use_safetensors=None if request.allow_pickle else True,
            trust_remote_code=request.trust_remote_code, **request.model_args,
        )
    except Exception as err:  # noqa: BLE001 - surface any load failure with the path
        raise ModelLoadError(f"cannot load {class_name} from {path}: {err}") from err


def _load_processors(path: Path, family: str, trust_remote_code: bool,
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


def load(request: LoadRequest) -> InstructBlipFamilyModel:
    """An InstructBLIP-family checkpoint ready to run behind the ibench interface."""
    path = request.checkpoint.path
    check_weights(path, request.allow_pickle)
    family = next(f.name for f in FAMILIES if request.model_type in f.model_types)
    published = published_checkpoint(request.config, request.published_as)
    frames_from, video_notes = None, {}
    if request.model_type == "instructblipvideo":  # frames: its video processor's settings
        from ibench.models.blipvideo import frame_image_processor

        frames_from, video_notes = frame_image_processor(path)
    hf_model = _load_hf_model(path, request.model_type, request)
    hf_model.to(request.device)
    image_processor, tokenizer, qformer_tokenizer = _load_processors(
        path, family, request.trust_remote_code, frames_from)
    lm_tokens = lavis_tokens_for(hf_model.language_model.config.model_type, path, tokenizer)
    model = InstructBlipFamilyModel(
        hf_model, image_processor, tokenizer, qformer_tokenizer, name=request.name,
        family=family, qformer_instruction=request.qformer_instruction,
        model_id=request.checkpoint.model_id, path=str(path),
        revision=request.checkpoint.revision, lm_tokens=lm_tokens,
    )
    model.load_args = {**request.load_args(published), **video_notes}
    return model
