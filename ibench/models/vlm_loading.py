"""Loading a transformers image-text-to-text checkpoint for vlm.py: what ibench can drive is
checked first, and what it cannot is one ModelLoadError naming what is missing.

ibench drives a decoder-only model that `AutoModelForImageTextToText` loads, with an
`AutoProcessor` that names its image placeholder. A processor whose video processor cannot be
built here (transformers' video processors need torchvision) is built without it: videos then
go as frames, and the manifest says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ibench.models.base import LoadRequest, ModelLoadError, check_weights
from ibench.models.vlm import FRAMES, VisionLanguageModel


def check_vlm_type(path: Path, model_type: str) -> None:
    """A ModelLoadError unless transformers loads model_type as a decoder-only
    image-text-to-text model."""
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    from ibench.models.families import FAMILIES

    named = [t for f in FAMILIES for t in f.model_types]
    expected = (f"ibench evaluates InstructBLIP-family models ({', '.join(named)}) "
                f"and decoder-only vision-language models that transformers loads with "
                f"AutoModelForImageTextToText")
    if not model_type:
        raise ModelLoadError(f"{path}/config.json names no model_type; {expected}")
    if model_type not in CONFIG_MAPPING_NAMES:
        raise ModelLoadError(f"{path}: model_type {model_type!r} is not a model transformers "
                             f"{transformers.__version__} knows (a newer transformers may); "
                             f"{expected}")
    if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        raise ModelLoadError(f"{path}: model_type {model_type!r} has no image-text-to-text "
                             f"class in transformers; {expected}")


def _chat_template(path: Path, tokenizer: Any) -> str | None:
    """The checkpoint's chat template file (chat_template.jinja / .json), else the tokenizer's."""
    jinja, as_json = path / "chat_template.jinja", path / "chat_template.json"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    if as_json.is_file():
        return json.loads(as_json.read_text(encoding="utf-8")).get("chat_template")
    return getattr(tokenizer, "chat_template", None)


def _image_only_processor(path: Path, model_type: str, trust_remote_code: bool) -> Any:
    """The model's processor class built from its image processor and tokenizer, with no video
    processor (for when that one cannot be built)."""
    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    cls = getattr(transformers, str(PROCESSOR_MAPPING_NAMES.get(model_type)), None)
    if cls is None or "video_processor" not in cls.get_attributes():
        raise ModelLoadError(f"{path}: no processor class to build for {model_type!r}")

    class ImageOnly(cls):  # type: ignore[misc, valid-type]
        """The processor without its video processor."""

        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    image = AutoImageProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
    others = [a for a in cls.get_attributes() if a not in ("image_processor", "tokenizer",
                                                           "video_processor")]
    if others:
        raise ModelLoadError(f"{path}: {cls.__name__} also needs {', '.join(others)}")
    return ImageOnly(image_processor=image, tokenizer=tokenizer, video_processor=None,
                     chat_template=_chat_template(path, tokenizer))


def load_processor(path: Path, model_type: str, trust_remote_code: bool
                   ) -> tuple[Any, str | None]:
    """(the checkpoint's processor, FRAMES when it had to be built without its video one)."""
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code), None
    except ImportError as err:
        if "torchvision" not in str(err).lower():
            raise ModelLoadError(f"cannot build the processor of {path}: {_first_line(err)}"
                                 ) from err
        try:
            return _image_only_processor(path, model_type, trust_remote_code), FRAMES
        except ModelLoadError:
            raise
        except Exception as err2:  # noqa: BLE001 - any failure: the one line below
            raise ModelLoadError(f"cannot build the processor of {path}: it needs torchvision "
                                 f"({_first_line(err2)})") from err2
    except Exception as err:  # noqa: BLE001
        raise ModelLoadError(f"cannot build the processor of {path} (AutoProcessor): "
                             f"{_first_line(err)}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}"


def load_vlm(path: Path, *, name: str, model_id: str, revision: str | None, torch_dtype: Any,
             device: str, allow_pickle: bool, trust_remote_code: bool,
             model_args: dict[str, Any] | None) -> VisionLanguageModel:
    """The checkpoint's model (AutoModelForImageTextToText) and processor behind vlm.py."""
    from transformers import AutoConfig, AutoModelForImageTextToText

    config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    text = config.get_text_config()
    if getattr(config, "is_encoder_decoder", False) or getattr(text, "is_encoder_decoder", False):
        raise ModelLoadError(f"{path}: {config.model_type} is an encoder-decoder model; ibench "
                             "drives decoder-only vision-language models (and InstructBLIP "
                             "FlanT5 through its own backend)")
    processor, video_input = load_processor(path, config.model_type, trust_remote_code)
    try:
        hf = AutoModelForImageTextToText.from_pretrained(
            path, dtype=torch_dtype, use_safetensors=None if allow_pickle else True,
            trust_remote_code=trust_remote_code, **(model_args or {}))
    except Exception as err:  # noqa: BLE001 - surface any load failure with the path
        raise ModelLoadError(f"cannot load {path} with AutoModelForImageTextToText: "
                             f"{_first_line(err)}") from err
    missing = [what for what, ok in (
        ("a tokenizer", getattr(processor, "tokenizer", None) is not None),
        ("an image_token", getattr(processor, "image_token", None) is not None),
        ("an image processor", getattr(processor, "image_processor", None) is not None),
    ) if not ok]
    if missing:
        raise ModelLoadError(f"{path}: its processor ({type(processor).__name__}) has no "
                             f"{', no '.join(m.split(' ', 1)[1] for m in missing)}: ibench "
                             "needs a tokenizer, an image processor and an image placeholder")
    hf.to(device)
    return VisionLanguageModel(hf, processor, name=name, model_id=model_id, path=str(path),
                               revision=revision, video_input=video_input)


def load(request: LoadRequest) -> VisionLanguageModel:
    """Any other checkpoint: a decoder-only image-text-to-text model behind vlm.py, or one line
    saying why ibench cannot drive it."""
    path, model_type = request.checkpoint.path, request.model_type
    check_vlm_type(path, model_type)
    if not request.qformer_instruction:
        raise ModelLoadError(f"--no-qformer-instruction: {request.name} ({model_type}) has no "
                             "Q-Former to take an instruction")
    if request.published_as is not None:
        raise ModelLoadError(f"--published-as {request.published_as}: {request.name} "
                             f"({model_type}) is not a checkpoint of the paper's table")
    check_weights(path, request.allow_pickle)
    model = load_vlm(path, name=request.name, model_id=request.checkpoint.model_id,
                     revision=request.checkpoint.revision, torch_dtype=request.torch_dtype,
                     device=request.device, allow_pickle=request.allow_pickle,
                     trust_remote_code=request.trust_remote_code,
                     model_args=request.model_args)
    model.load_args = request.load_args(None)
    try:  # a chat template transformers refuses (its Jinja sandbox) is one line, now
        model.rendered_prompt("ibench checks the chat template")
    except Exception as err:  # noqa: BLE001 - jinja2's SecurityError, TemplateError, ...
        raise ModelLoadError(f"{path}: its chat template cannot be rendered: "
                             f"{_first_line(err)}") from err
    return model
