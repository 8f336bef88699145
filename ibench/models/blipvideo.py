"""InstructBLIP-Video checkpoints: transformers' InstructBlipVideo* classes (model_type
`instructblipvideo`, an `InstructBlipVideoProcessor` with a video processor) in the InstructBLIP
backend (instructblip.py).

transformers' documentation: "InstructBLIPVideo uses the same architecture as InstructBLIP and
works with the same checkpoints as InstructBLIP. The only difference is the ability to process
videos." Its forward (modeling_instructblipvideo.py) runs every frame through the vision encoder
and the Q-Former with the instruction repeated per frame, projects the query outputs and
concatenates them frame after frame in front of the prompt: the path instructblip.py already
takes for a video. So such a checkpoint loads its own class (`InstructBlipVideoForConditional
Generation`, the same submodules) and runs through that backend. Two decisions, recorded in the
manifest (`frame_processor`, `video_frames`):

- Frames are preprocessed by a BLIP image processor (PIL) built from the checkpoint's video
  processor settings (size, resample, rescale, mean/std, RGB conversion): transformers' video
  processor needs torchvision, which ibench does not install. A setting the image processor
  cannot apply (a center crop) is a ModelLoadError naming it.
- The task's frame count applies (the protocol samples frames itself); transformers' own
  processor always inserts placeholders for 4 frames, and its `do_sample_frames` is not used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ibench.models.base import ModelLoadError

MODEL_TYPE = "instructblipvideo"
MODEL_CLASS = "InstructBlipVideoForConditionalGeneration"
VIDEO_TOKEN = "<video>"  # what InstructBlipVideoProcessor adds when the tokenizer has none
_OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# InstructBlipVideoVideoProcessor's class attributes (transformers 5.x,
# models/instructblipvideo/video_processing_instructblipvideo.py; rescale_factor from
# BaseVideoProcessor): what applies where the checkpoint's config says nothing.
VIDEO_PROCESSOR_DEFAULTS: dict[str, Any] = {
    "size": {"height": 384, "width": 384}, "resample": 3, "image_mean": _OPENAI_CLIP_MEAN,
    "image_std": _OPENAI_CLIP_STD, "do_resize": True, "do_rescale": True,
    "rescale_factor": 1 / 255, "do_normalize": True, "do_convert_rgb": True,
}
_IMAGE_KEYS = tuple(VIDEO_PROCESSOR_DEFAULTS)


def video_processor_settings(path: Path) -> tuple[dict[str, Any], str]:
    """The checkpoint's video processor config and the file it came from, looked up as
    transformers does: processor_config.json's nested `video_processor` (transformers 5),
    then video_preprocessor_config.json, then preprocessor_config.json."""
    nested = path / "processor_config.json"
    if nested.is_file():
        found = _read(nested).get("video_processor")
        if isinstance(found, dict):
            return found, f"{nested.name} (video_processor)"
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        if (path / name).is_file():
            return _read(path / name), name
    raise ModelLoadError(f"{path}: an InstructBLIP-Video checkpoint without a video processor "
                         "config (processor_config.json with a video_processor, "
                         "video_preprocessor_config.json or preprocessor_config.json)")


def _read(file: Path) -> dict[str, Any]:
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"cannot read {file}: {err}") from err
    if not isinstance(value, dict):
        raise ModelLoadError(f"{file}: expected a JSON object")
    return value


def frame_image_processor(path: Path) -> tuple[Any, dict[str, Any]]:
    """(a BLIP image processor, PIL backend, with the video processor's settings; a record of
    where they came from, for the manifest)."""
    from transformers import BlipImageProcessorPil

    settings, source = video_processor_settings(path)
    where = f"{path / source.split(' ')[0]}"
    if settings.get("do_center_crop"):
        raise ModelLoadError(f"{where}: do_center_crop is set; ibench preprocesses "
                             "InstructBLIP-Video frames with a BLIP image processor, which "
                             "resizes to a square and cannot crop")
    size = settings.get("size", VIDEO_PROCESSOR_DEFAULTS["size"])
    if not (isinstance(size, dict) and {"height", "width"} <= set(size)):
        raise ModelLoadError(f"{where}: size {size!r} is not {{'height': H, 'width': W}}, "
                             "the square resize the InstructBLIP-Video processor does")
    values = {key: settings.get(key, VIDEO_PROCESSOR_DEFAULTS[key]) for key in _IMAGE_KEYS}
    try:
        processor = BlipImageProcessorPil(**values)
    except Exception as err:  # noqa: BLE001 - a bad value in the config, named with its file
        raise ModelLoadError(f"{where}: cannot build an image processor from its settings "
                             f"({type(err).__name__}: {err})") from err
    record = {"frame_processor": f"BlipImageProcessor (PIL) from the video processor "
                                 f"settings in {source}",
              "video_frames": "the task's frame count (transformers' processor fixes 4)",
              "ignored_video_settings": sorted(k for k in ("do_sample_frames", "num_frames",
                                                           "fps") if settings.get(k))}
    return processor, record


def video_processor_config(image_processor: Any) -> dict[str, Any]:
    """What InstructBlipVideoVideoProcessor.to_dict writes for these settings (its class
    attributes, video_processor_type in place of image_processor_type): the tiny video
    checkpoint's processor_config.json `video_processor`, written without torchvision."""
    values = image_processor.to_dict()
    out = {key: values[key] for key in _IMAGE_KEYS}
    out["resample"] = int(out["resample"])
    out["image_mean"], out["image_std"] = list(out["image_mean"]), list(out["image_std"])
    out.update(default_to_square=True, do_sample_frames=False, return_metadata=False,
               video_processor_type="InstructBlipVideoVideoProcessor")
    return out
