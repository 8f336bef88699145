"""The synthetic sample pack's writing kit: a Pack that writes files under the pack root
(deterministic bytes, one content per path), and the small question and caption helpers the
format modules' writers share. Each format module writes its own files (formats/)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from ibench.data import synth
from ibench.data.ocr import rosetta_file
from ibench.data.synth import Scene


class Pack:
    """Writes files under the pack root, refusing to write one path twice with other bytes."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.seed = seed
        self.written: dict[Path, bytes] = {}
        self.ocr: dict[Path, list[tuple[str, str]]] = {}

    def rng(self, name: str) -> random.Random:
        """A generator of its own per dataset, so datasets do not shift each other."""
        return random.Random(f"ibench-sample-pack/{self.seed}/{name}")

    def write_bytes(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        if path in self.written:
            if self.written[path] != data:
                raise RuntimeError(f"sample pack writes {rel} twice with different content")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.written[path] = data

    def write_json(self, rel: str, data: object) -> None:
        self.write_bytes(rel, json.dumps(data).encode("utf-8"))

    def rosetta(self, rel: str, image_words: list[tuple[str, str]], split: str) -> None:
        """Add images to a Rosetta OCR file that several datasets share (TextVQA val and
        TextCaps val: both use TextVQA_Rosetta_OCR_v0.2_val.json) and rewrite it."""
        path = self.root / rel
        words = self.ocr.setdefault(path, [])
        words.extend(image_words)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(rosetta_file(words, split)).encode("utf-8")
        path.write_bytes(data)
        self.written[path] = data

    def write_lines(self, rel: str, lines: list[str]) -> None:
        self.write_bytes(rel, "".join(f"{line}\n" for line in lines).encode("utf-8"))

    def image(self, media_dir: str, rel: str, scene: Scene) -> None:
        suffix = Path(rel).suffix
        self.write_bytes(f"{media_dir}/{rel}", synth.encode_image(synth.render(scene), suffix))

    def video(self, media_dir: str, rel: str, frames: list) -> None:
        container = "avi" if rel.endswith(".avi") else "mp4"
        self.write_bytes(f"{media_dir}/{rel}", synth.encode_video(frames, container))


def hex_id(rng: random.Random, n: int) -> str:
    """n random hexadecimal digits."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def tokens_of(text: str) -> list[str]:
    """Lower-cased words of a caption, as the caption files tokenize them."""
    return text.lower().rstrip(".?").replace(",", "").split()


def scene_qa(scene: Scene, k: int) -> tuple[str, str]:
    """The k-th question about a one-shape scene and its answer."""
    shape = scene.shapes[0]
    questions = [
        (f"what color is the {shape.kind}?", shape.color),
        ("what shape is in the picture?", shape.kind),
        ("what color is the background?", scene.background),
        (f"is there a {shape.kind} in the image?", "yes"),
    ]
    return questions[k % len(questions)]


def captions_of(scene: Scene, n: int) -> list[str]:
    """n different captions of a scene."""
    shape = scene.shapes[0]
    forms = [
        f"A {shape.name} on a {scene.background} background.",
        f"a {shape.color} {shape.kind} in front of a plain {scene.background} backdrop",
        f"A simple picture of a {shape.kind} colored {shape.color}.",
        f"The image shows one {shape.color} {shape.kind}.",
        f"A {scene.background} picture with a {shape.name} in it.",
    ]
    return [forms[i % len(forms)] + ("" if i < len(forms) else f" ({i})") for i in range(n)]


def choice_question(scene: Scene, k: int) -> tuple[str, list[str], int]:
    """A multiple-choice question about a one-shape scene: (question, choices, answer index)."""
    shape = scene.shapes[0]
    if k % 2 == 0:
        choices = sorted(synth.SHAPES)
        return "What shape is shown?", choices, choices.index(shape.kind)
    others = [c for c in sorted(synth.COLORS) if c != shape.color][: 2 + k % 2]
    choices = sorted([shape.color, *others])
    return f"What color is the {shape.kind}?", choices, choices.index(shape.color)


def video_question(rng: random.Random, k: int) -> tuple[tuple[str, str, str], str, str]:
    kind, color = rng.choice(synth.SHAPES), rng.choice(sorted(synth.COLORS))
    direction = rng.choice(synth.DIRECTIONS)
    question, answer = [
        (f"what color is the moving {kind}?", color),
        ("what is moving?", kind),
        (f"which way does the {kind} move?", direction),
    ][k % 3]
    return (kind, color, direction), question, answer
