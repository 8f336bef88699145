"""TaskSpec: one dataset of the protocol as a plain record (data, prompt, mode, metric, reference
numbers, decisions), and its decoding arguments resolved per architecture."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ibench.errors import IbenchError
from ibench.records import Architecture, GenerationSettings

# "server": an evaluation split whose answers are not public (VizWiz test-dev): ibench writes
# the file its evaluation server takes; run it by name or with --split server.
SPLITS = ("held-in", "held-out", "server")
# A task id, template family name or template id: one short file-name-safe word, since each
# names files of a run folder (predictions/TASK.jsonl, scores/TASK.TEMPLATE.json).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NAME_RULE = ("letters, digits and _ . -, starting with a letter or digit, at most 64 "
             "characters")
# What --split offers: a split, or all (held-in and held-out).
SPLIT_CHOICES = (*SPLITS, "all")


MODES = ("generate", "rank")


MEDIA_KINDS = ("image", "video")


CANDIDATE_SOURCES = ("choices", "options", "vocabulary", "verbalizers")


# How an image becomes the vision encoder's square input (LAVIS's eval processors):
# blip_image_eval resizes to a square (the InstructBLIP default), clip_image_eval resizes the
# shorter side and center-crops (the InstructBLIP COCO and OK-VQA evaluation configs).
IMAGE_RESIZES = ("square", "shorter_side_center_crop")




class TaskError(IbenchError, ValueError):
    """A task file is missing, malformed, or refers to something that does not exist."""


@dataclass(frozen=True)
class DataSpec:
    """Where a dataset lives under the data root and how to read it."""

    format: str
    files: dict[str, str]
    media_dir: str
    published_at: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RankSpec:
    """How candidates are found and turned into a prediction in rank mode."""

    candidates: str
    verbalizers: dict[str, tuple[str, ...]] | None = None
    aggregation: str = "argmax"
    vocabulary: dict[str, Any] | None = None


@dataclass(frozen=True)
class Decision:
    """A choice the paper leaves open, written out so users see it (protocol.md [decision])."""

    name: str
    value: str
    why: str


@dataclass(frozen=True)
class TaskSpec:
    """One dataset of the protocol: data, prompt, inference mode, metric and reference numbers."""

    id: str
    title: str
    category: str
    split: str
    media: str
    frames: int | None
    data: DataSpec
    eval_split: str
    eval_size: int | None
    mode: str
    prompt: str
    templates: str
    metric: str
    generation: dict[str, Any] | None = None
    rank: RankSpec | None = None
    metric_options: dict[str, Any] = field(default_factory=dict)
    image_resize: str = "square"
    reference: dict[str, float] = field(default_factory=dict)
    train_size: int | None = None
    decisions: tuple[Decision, ...] = ()
    hub: dict[str, Any] | None = None  # a hub parquet mirror of the split (ibench.data.hub)
    source: Path | None = None
    # --gen-kwargs: decoding values that replace the task's (GenerationSettings field names)
    decoding_overrides: dict[str, Any] = field(default_factory=dict)

    def generation_settings(self, architecture: Architecture) -> GenerationSettings:
        """LAVIS's decoding arguments resolved for one architecture, in new tokens.

        The task file holds LAVIS's numbers (protocol.md section 3), counted as transformers
        4.33 (the version LAVIS ran) counted them: `max_length` is new tokens for both
        architectures (FlanT5: LAVIS passes it as max_new_tokens; Vicuna: generation from
        inputs_embeds only, so nothing else is counted); `min_length` counts FlanT5's decoder
        start token (min_length=1 allows an empty answer, 10 means 9 new tokens) but only new
        tokens for Vicuna. The length penalty may differ per architecture.
        """
        if self.generation is None:
            raise TaskError(f"task {self.id} has no generation settings (mode {self.mode})")
        gen = self.generation
        penalty = gen["length_penalty"]
        if isinstance(penalty, dict):
            penalty = penalty[architecture]
        min_length = int(gen["min_length"])
        min_new = max(0, min_length - 1) if architecture == "encoder-decoder" else min_length
        settings = GenerationSettings(
            num_beams=int(gen["num_beams"]), max_new_tokens=int(gen["max_length"]),
            min_new_tokens=min_new, length_penalty=float(penalty),
            repetition_penalty=float(gen["repetition_penalty"]),
        )
        return replace(settings, **self.decoding_overrides)
