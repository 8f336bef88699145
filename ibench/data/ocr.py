"""OCR tokens for scene-text tasks: the Rosetta OCR files of the TextVQA release."""

from __future__ import annotations

from ibench.data.annotation import Record
from ibench.data.data_error import DataError
from ibench.data.source import Source


def join_tokens(tokens: list[str], limit: int) -> str:
    """The first `limit` tokens joined with ', ' (as LAVIS formats them for InstructBLIP)."""
    return ", ".join(tokens[:limit])


def token_limit(source: Source) -> int:
    """The `ocr_tokens` option: how many OCR tokens go into the prompt (30 by default)."""
    limit = source.option("ocr_tokens", 30)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise DataError(
            source.task.source,
            f"must be a non-negative integer, got {limit!r}",
            field="data.options.ocr_tokens",
        )
    return limit


def load_rosetta(source: Source, role: str = "ocr") -> dict[str, list[str]]:
    """image_id -> OCR tokens from a Rosetta OCR file ({"data": [...]} or a bare list)."""
    path = source.path(role)
    data = source.json(role)
    records = data.get("data") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise DataError(path, "must hold a list of OCR records (a 'data' list)")
    tokens: dict[str, list[str]] = {}
    for i, raw in enumerate(records):
        rec = Record(raw, path, f"#{i}")
        image_id = rec.str("image_id")
        rec.rename(f"#{i} (image_id {image_id})")
        tokens[image_id] = rec.strings("ocr_tokens", min_len=0)
    return tokens


def ocr_for(
    tokens: dict[str, list[str]], image_id: str, source: Source, role: str = "ocr"
) -> list[str]:
    """The OCR tokens of one image; a DataError naming the OCR file if the image is absent."""
    if image_id not in tokens:
        raise DataError(source.path(role), "no OCR record for this image", f"image_id {image_id}")
    return tokens[image_id]


def rosetta_file(image_words: list[tuple[str, str]], split: str) -> dict:
    """A Rosetta OCR file: per image its tokens and their boxes."""
    data = []
    for image_id, word in image_words:
        tokens = [word, "ibench"]
        info = [
            {
                "word": t,
                "bounding_box": {
                    "top_left_x": 0.05,
                    "top_left_y": 0.03,
                    "width": 0.4,
                    "height": 0.15,
                    "rotation": 0,
                    "roll": 0,
                    "pitch": 0,
                    "yaw": 0,
                },
            }
            for t in tokens
        ]
        data.append({"image_id": image_id, "ocr_tokens": tokens, "ocr_info": info})
    return {
        "dataset_name": "textvqa",
        "dataset_type": split,
        "dataset_version": "0.2",
        "data": data,
    }
