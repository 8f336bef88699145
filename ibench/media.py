"""Image loading and uniform video frame sampling (protocol.md section 2); MediaError.

decord is imported only when a video is read, so image-only use never needs it.
"""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

from PIL import Image

from ibench.errors import IbenchError


class MediaError(IbenchError):
    """An image or video that is missing, unreadable, empty, corrupt, truncated or frameless."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _check_file(path: Path) -> None:
    """Raise MediaError for a missing path, a non-file or an empty (0-byte) file."""
    if not path.exists():
        raise MediaError(path, "file not found")
    if not path.is_file():
        raise MediaError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")


def load_image(path: Path | str) -> Image.Image:
    """Open and fully decode an image as RGB (decoding now surfaces truncated files here)."""
    path = Path(path)
    _check_file(path)
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise MediaError(path, f"image too large: {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # UnidentifiedImageError is an OSError
        raise MediaError(path, f"unreadable image: {exc}") from exc


def load_embedded_image(path: Path | str, group: int, row: int, column: str) -> Image.Image:
    """Decode an image embedded in a parquet file (a hub mirror), as RGB; a MediaError names
    the file and the row when it is null or unreadable."""
    path = Path(path)
    where = f"row {row} of row group {group}, column {column!r}"
    try:
        data = read_embedded_image(path, group, row, column)
        with Image.open(image_stream(data)) as image:
            return image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(path, f"{where}: unreadable embedded image: {exc}") from exc


def frame_indices(total: int, n: int) -> list[int]:
    """Uniform frame indices floor(arange(0, total, total/n)), computed exactly as i*total//n.

    A video shorter than n frames (total < n) gives all its frames, 0..total-1, so no frame is
    repeated ("fewer frames if the video is shorter", protocol.md section 2). Integer arithmetic
    matters: in floating point, arange(0, 17, 17/7) has 8 elements, the last (17) out of range.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ValueError(f"frame count must be a positive integer, got {total!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"number of frames to sample must be a positive integer, got {n!r}")
    if total <= n:
        return list(range(total))
    return [i * total // n for i in range(n)]


def load_frames(
    path: Path | str, n: int, min_frames: int = 1
) -> tuple[list[Image.Image], list[int]]:
    """Decode n uniformly sampled frames (PIL RGB) with decord, and return their indices too.

    Fails with MediaError for a missing, empty, corrupt or truncated file, a video without
    frames, or one with fewer than `min_frames` frames.
    """
    images, indices, _ = load_clip_frames(path, n, min_frames)
    return images, indices


# What a clip's (start, end) meant for a video file (recorded with every prediction).
WHOLE_FILE, FILE_IS_CLIP, CLIP_WINDOW = "whole_file", "file_is_clip", "clip_window"


def clip_frame_range(total: int, fps: float, clip: tuple[float, float] | None,
                     tolerance_s: float) -> tuple[int, int, str]:
    """(first frame, frame count, how) of the part of a video to sample from.

    Without a clip: the whole file. With one: the whole file again when it is already the clip
    (its duration equals end - start within `tolerance_s`), else the frames whose time lies in
    [start, end): first = floor(start * fps), last = ceil(end * fps), capped at the video.
    """
    if clip is None:
        return 0, total, WHOLE_FILE
    start, end = clip
    if fps <= 0:
        raise ValueError(f"the video reports {fps} frames per second")
    if abs(total / fps - (end - start)) <= tolerance_s:
        return 0, total, FILE_IS_CLIP
    first = math.floor(start * fps)
    last = min(total, math.ceil(end * fps))
    if first >= last:
        raise ValueError(f"clip {start:g}-{end:g} s lies outside the video "
                         f"({total} frames at {fps:g} fps = {total / fps:.2f} s)")
    return first, last - first, CLIP_WINDOW


def load_clip_frames(
    path: Path | str, n: int, min_frames: int = 1, clip: tuple[float, float] | None = None,
    tolerance_s: float = 1.0,
) -> tuple[list[Image.Image], list[int], str]:
    """load_frames inside a clip of the video (clip_frame_range): frames, their indices in the
    file, and which window was sampled (whole_file, file_is_clip or clip_window)."""
    path = Path(path)
    _check_file(path)
    import decord  # lazily: only video tasks need it

    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        total = len(reader)
    except (RuntimeError, decord.DECORDError) as exc:
        raise MediaError(path, f"unreadable video: {_first_line(exc)}") from exc
    if total < 1:
        raise MediaError(path, "video has no frames")
    if total < min_frames:
        raise MediaError(path, f"video has {total} frames, fewer than the {min_frames} required")
    try:
        fps = float(reader.get_avg_fps()) if clip is not None else 0.0
        first, count, window = clip_frame_range(total, fps, clip, tolerance_s)
    except ValueError as exc:
        del reader
        raise MediaError(path, str(exc)) from exc
    if count < min_frames:
        del reader
        raise MediaError(path, f"the clip has {count} frames, fewer than the {min_frames} "
                               "required")
    indices = [first + i for i in frame_indices(count, n)]
    try:
        batch = reader.get_batch(indices).asnumpy()
    except (RuntimeError, decord.DECORDError) as exc:
        raise MediaError(
            path, f"cannot decode frames {indices} of {total} (truncated?): {_first_line(exc)}"
        ) from exc
    finally:
        del reader
    if batch.ndim != 4 or batch.shape[0] != len(indices) or batch.shape[-1] != 3:
        raise MediaError(path, f"decoded {batch.shape} instead of {len(indices)} RGB frames")
    return [Image.fromarray(frame) for frame in batch], indices, window


def _first_line(exc: BaseException) -> str:
    """decord errors carry long C++ stack traces: keep the first line only."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def resize_shorter_side_center_crop(image: Image.Image, size: int) -> Image.Image:
    """LAVIS's clip_image_eval geometry: resize the shorter side to `size` (bicubic, the longer
    side scaled and truncated to an int, as torchvision's Resize(int)), then center-crop
    size x size (offsets rounded, as torchvision's CenterCrop)."""
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


_LOCAL = threading.local()


def read_embedded_image(path: Path, group: int, row: int, column: str) -> bytes:
    """The bytes of an embedded image (`{"bytes", "path"}` struct) of one row: the row group's
    image column is read once per worker thread and kept while its rows are asked for."""
    import pyarrow.parquet as pq

    key = (str(path), group, column)
    if getattr(_LOCAL, "key", None) != key:
        _LOCAL.column = pq.ParquetFile(path).read_row_group(group, columns=[column]).column(0)
        _LOCAL.key = key
    value = _LOCAL.column[row].as_py()
    data = value.get("bytes") if isinstance(value, dict) else None
    if not data:
        raise ValueError(f"row {row} of row group {group} has no embedded {column!r} bytes")
    return data


def image_stream(data: bytes) -> io.BytesIO:
    """A file object over image bytes, for PIL."""
    return io.BytesIO(data)
