"""Plain records that flow between readers, the runner, models and metrics (DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Mode = Literal["generate", "rank"]
Architecture = Literal["encoder-decoder", "decoder-only"]


@dataclass(frozen=True)
class Sample:
    """One evaluation item as a reader yields it.

    `media` is the absolute path of the image or video, already resolved inside the data root.
    `fields` feed the templates (question, caption, options, context, ocr_tokens, history, ...).
    `references` feed the metric (captions, answers, answer, answer_index, label, ...).
    `candidates` are the texts to rank (choices, answer options, vocabulary); None when generating.
    """

    id: str
    media: Path
    fields: dict[str, Any]
    references: dict[str, Any]
    candidates: tuple[str, ...] | None = None
    clip: tuple[float, float] | None = None  # (start, end) seconds of the clip in its video
    failure: Exception | None = None  # a bad record: the DataError naming file, record, field
    # an image embedded in a parquet file (`media`): (row group, row in the group, column)
    media_row: tuple[int, int, str] | None = None


@dataclass(frozen=True)
class GenerationSettings:
    """Beam-search settings of one task, already resolved for one architecture."""

    num_beams: int = 5
    max_new_tokens: int = 10
    min_new_tokens: int = 1
    length_penalty: float = 1.0
    repetition_penalty: float = 1.0


@dataclass
class ModelInput:
    """What a model needs for one request: the rendered prompt and the loaded media.

    `frames` holds one PIL image for an image task, N frames for a video task; every frame goes
    through the vision encoder and Q-Former and the query outputs are concatenated.
    `qformer_prompt` is the text given to the Q-Former (the prompt itself unless the ablation
    gives it none: then "").
    `image_resize` is the task's preprocessing (tasks.IMAGE_RESIZES): "square", or
    "shorter_side_center_crop" as LAVIS's clip_image_eval.
    `pixels`, when set, are the frames already preprocessed by the model's `preprocess` (in a
    media worker, off the model thread); `media_key` names the media item (file, clip, frame
    count, preprocessing), so that a model may run its vision encoder once per item.
    """

    prompt: str
    frames: list[Any]
    candidates: tuple[str, ...] = ()
    qformer_prompt: str | None = None
    image_resize: str = "square"
    pixels: Any = None
    media_key: str | None = None


@dataclass(frozen=True)
class Request:
    """One (sample, template) pair to run."""

    task: str
    sample_id: str
    template_id: str
    prompt: str
    mode: Mode
    media: Path
    candidates: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    clip: tuple[float, float] | None = None
    media_row: tuple[int, int, str] | None = None
