"""Synthetic scenes for the sample pack: coloured shapes a human can relate to their text.

Images are 64x64 (PNG or JPEG with fixed encoder settings) and videos 32x32 MPEG-4 (a shape
moving across the frame), so the same arguments always give the same bytes.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (250, 250, 250),
    "gray": (128, 128, 128),
    "black": (15, 15, 15),
}
SHAPES = ("square", "circle", "triangle")
IMAGE_SIZE = 64
VIDEO_SIZE = 32
VIDEO_FRAMES = 16
WORDS = ("stop", "open", "cafe", "exit", "sale", "taxi", "hotel", "bank", "pizza", "books")


@dataclass(frozen=True)
class Shape:
    """One filled shape: kind, colour name and bounding box (x0, y0, x1, y1)."""

    kind: str
    color: str
    box: tuple[int, int, int, int]

    @property
    def name(self) -> str:
        return f"{self.color} {self.kind}"


@dataclass(frozen=True)
class Scene:
    """A background colour, shapes drawn in order, and an optional word written at the top."""

    background: str
    shapes: tuple[Shape, ...]
    text: str | None = None

    def caption(self) -> str:
        """e.g. 'a red square on a white background'."""
        things = " and ".join(f"a {s.name}" for s in self.shapes)
        words = f" with the word {self.text}" if self.text else ""
        return f"{things} on a {self.background} background{words}"


def _box(rng: random.Random, region: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    size = rng.randint(14, min(24, x1 - x0, y1 - y0))
    left = rng.randint(x0, x1 - size)
    top = rng.randint(y0, y1 - size)
    return (left, top, left + size, top + size)


def random_scene(rng: random.Random, shapes: int = 1, text: str | None = None) -> Scene:
    """A scene of 1 or 2 shapes with distinct colours; two shapes sit left and right."""
    colors = rng.sample(sorted(COLORS), shapes)
    background = rng.choice(sorted(BACKGROUNDS))
    top = 16 if text else 4
    regions = [(4, top, 60, 60)] if shapes == 1 else [(2, top, 31, 60), (33, top, 62, 60)]
    drawn = tuple(
        Shape(rng.choice(SHAPES), color, _box(rng, region))
        for color, region in zip(colors, regions, strict=True)
    )
    return Scene(background, drawn, text)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: Shape) -> None:
    fill = COLORS[shape.color]
    x0, y0, x1, y1 = shape.box
    if shape.kind == "square":
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=fill)
    elif shape.kind == "circle":
        draw.ellipse((x0, y0, x1 - 1, y1 - 1), fill=fill)
    else:
        draw.polygon([((x0 + x1) // 2, y0), (x1 - 1, y1 - 1), (x0, y1 - 1)], fill=fill)


def render(scene: Scene, size: int = IMAGE_SIZE) -> Image.Image:
    """Draw a scene as an RGB image (shapes, then the word in the top strip)."""
    image = Image.new("RGB", (size, size), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        _draw_shape(draw, shape)
    if scene.text:
        ink = (0, 0, 0) if scene.background != "black" else (255, 255, 255)
        draw.text((3, 2), scene.text.upper(), fill=ink, font=ImageFont.load_default_imagefont())
    return image


def encode_image(image: Image.Image, suffix: str) -> bytes:
    """PNG or JPEG bytes with fixed encoder settings (no metadata, no timestamps)."""
    buffer = io.BytesIO()
    if suffix.lower() == ".png":
        image.save(buffer, format="PNG", compress_level=6)
    elif suffix.lower() in (".jpg", ".jpeg"):
        image.save(buffer, format="JPEG", quality=85, subsampling=2, optimize=False)
    else:
        raise ValueError(f"unsupported image suffix {suffix!r}")
    return buffer.getvalue()


DIRECTIONS = ("left", "right", "up", "down")


def moving_frames(
    kind: str, color: str, direction: str, frames: int = VIDEO_FRAMES, size: int = VIDEO_SIZE
) -> list[np.ndarray]:
    """Frames of one shape moving across a white frame in a direction (RGB uint8 arrays)."""
    side = size // 3
    span = size - side
    out = []
    for i in range(frames):
        step = round(i * span / max(frames - 1, 1))
        x, y = {
            "right": (step, (size - side) // 2),
            "left": (span - step, (size - side) // 2),
            "down": ((size - side) // 2, step),
            "up": ((size - side) // 2, span - step),
        }[direction]
        scene = Scene("white", (Shape(kind, color, (x, y, x + side, y + side)),))
        out.append(np.asarray(render(scene, size)))
    return out


def encode_video(frames: list[np.ndarray], container: str, rate: int = 8) -> bytes:
    """MPEG-4 Part 2 video bytes in an avi or mp4 container, bit-exact (no version strings)."""
    import av  # only the sample pack and tests write videos

    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 400_000  # small frames: a high rate keeps the colours clean
        stream.codec_context.gop_size = 4
        stream.codec_context.options = {"flags": "+bitexact"}
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()
