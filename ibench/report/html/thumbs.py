"""Thumbnails of the samples' images and sampled video frames, as base64 JPEG data URIs.

Prediction lines do not record the media path, so the samples are read again from the data
root the manifest records (the one place the report looks outside the run folder); whatever
cannot be shown becomes a placeholder with its reason.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ibench.media import MediaError, load_clip_frames, load_embedded_image, load_image
from ibench.records import Sample

IMAGE_SIDE = 256  # the long side of an image's thumbnail, at most
FRAME_SIDE = 160  # the long side of a video frame's thumbnail
JPEG_QUALITY = 70


@dataclass
class Thumb:
    """One embedded picture: its data URI, size and caption (a frame's index)."""

    src: str
    width: int
    height: int
    caption: str = ""


@dataclass
class Media:
    """What the data root shows of a sample: its pictures (or why there are none), and the
    texts of its candidates when it ranks them (for the candidate scores of its card)."""

    thumbs: list[Thumb] = field(default_factory=list)
    missing: str | None = None
    candidates: tuple[str, ...] | None = None


def thumbnail(image: Image.Image, side: int = IMAGE_SIDE, caption: str = "") -> Thumb:
    """Shrink to at most `side` px on the long side and encode as a JPEG data URI."""
    image = image.convert("RGB")
    image.thumbnail((side, side), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Thumb(f"data:image/jpeg;base64,{data}", image.width, image.height, caption)


def sample_media(sample: Sample, video: bool, frames: int, tolerance_s: float = 1.0) -> Media:
    """The thumbnails of one sample (an image, or its sampled frames with their indices)."""
    if sample.failure is not None:
        return Media(missing=f"bad record: {sample.failure}")
    try:
        if sample.media_row is not None:
            return Media([thumbnail(load_embedded_image(sample.media, *sample.media_row))])
        if not video:
            return Media([thumbnail(load_image(sample.media))])
        images, indices, _ = load_clip_frames(sample.media, frames, clip=sample.clip,
                                              tolerance_s=tolerance_s)
        return Media([thumbnail(image, FRAME_SIDE, f"frame {index}")
                      for image, index in zip(images, indices, strict=True)])
    except MediaError as exc:
        return Media(missing=str(exc))
    except (OSError, ValueError) as exc:
        return Media(missing=f"{sample.media}: cannot be shown: {exc}")


def task_media(settings: dict[str, Any], task_id: str, sample_ids: Iterable[str]
               ) -> dict[str, Media]:
    """Thumbnails for the wanted samples of a task, read from the run's data root; every
    wanted id gets an entry (a placeholder saying why when there is no picture)."""
    wanted = set(sample_ids)
    if not wanted:
        return {}
    root = Path(str(settings.get("data_root", "")))
    reason = _unreadable(root, task_id)
    if reason is not None:
        return {sid: Media(missing=reason) for sid in wanted}
    from ibench.data import DataError, read_samples
    from ibench.protocol.suite import load_tasks
    from ibench.run.plan import candidates_for

    task = load_tasks()[task_id]
    frames = int((settings.get("frames") or {}).get(task_id) or task.frames or 4)
    tolerance = float(task.data.options.get("clip_tolerance_s", 1.0))
    out: dict[str, Media] = {}
    try:
        for sample in read_samples(task, root):
            if sample.id in wanted and sample.id not in out:
                out[sample.id] = sample_media(sample, task.media == "video", frames, tolerance)
                out[sample.id].candidates = candidates_for(task, sample)
                if len(out) == len(wanted):
                    break
    except (DataError, OSError, ValueError) as exc:
        return {sid: out.get(sid) or Media(missing=f"the samples cannot be read: {exc}")
                for sid in wanted}
    for sid in wanted - set(out):
        out[sid] = Media(missing=f"sample {sid} is no longer in the data under {root}")
    return out


def _unreadable(root: Path, task_id: str) -> str | None:
    """Why a task's samples cannot be read at all, or None."""
    if not str(root) or not root.is_dir():
        return f"the run's data root {root} is not on this machine"
    from ibench.protocol.suite import load_tasks
    from ibench.protocol.taskspec import TaskError

    try:
        tasks = load_tasks()
    except TaskError as exc:
        return f"the task files cannot be read: {exc}"
    if task_id not in tasks:
        return f"no task file for {task_id} here (was it from an --include-path folder?)"
    return None
