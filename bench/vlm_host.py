"""vlm host: the model thread's time to encode a request for a LLaVA-1.5-style model, with its
image features computed there (as before) or prepared by the media workers (`preprocess`).

Both sides run `VisionLanguageModel._encode`, the product's code path, side by side on the
same requests: 640x480 photos (PIL), llava-1.5-7b-hf's processor settings (CLIP, shorter side
336, center crop, bicubic, 576 image tokens) with the tiny LLaVA's tokenizer and chat
template. No model forward runs: this measures only what the host adds to the model thread.

    python bench/vlm_host.py            # 64 requests, batches of 8
    python bench/vlm_host.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ibench.models.tiny.llava_qwen import build_tiny_vlm, llava_processor
from ibench.models.vlm import VisionLanguageModel  # noqa: E402
from ibench.records import ModelInput  # noqa: E402

PROMPT = "Question: what is the man holding in his left hand? Short answer:"


def photos(n: int) -> list[Image.Image]:
    """n 640x480 photos with some structure (not flat noise)."""
    rs = np.random.RandomState(0)
    out = []
    for _ in range(n):
        base = rs.rand(30, 40, 3) * 255
        img = Image.fromarray(base.astype("uint8")).resize((640, 480), Image.BILINEAR)
        out.append(img)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n, batch = (8, 4) if args.quick else (64, 8)
    hf, tok = build_tiny_vlm("llava", lm_hidden=64, lm_layers=1)
    processor = llava_processor(tok)
    real = dict(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336})
    for key, value in real.items():
        setattr(processor.image_processor, key, value)
    model = VisionLanguageModel(hf, processor, name="llava-1.5-shaped-processor")
    pics = photos(n)
    plain = [ModelInput(PROMPT, [p], ("yes", "no")) for p in pics]
    began = time.perf_counter()
    prepared = [ModelInput(i.prompt, i.frames, i.candidates, pixels=model.preprocess(i.frames))
                for i in plain]
    worker = (time.perf_counter() - began) / n
    tokens = int((model._encode(plain[:1])["input_ids"] == model._image_token_id()).sum())
    timings = {}
    for name, items in (("features on the model thread", plain),
                        ("features from the workers", prepared)):
        began = time.perf_counter()
        for start in range(0, n, batch):
            model._encode(items[start:start + batch])
        timings[name] = (time.perf_counter() - began) / n
    print(f"{n} requests of one 640x480 photo, batches of {batch}, {tokens} image tokens each")
    for name, seconds in timings.items():
        print(f"  {name:30s} {seconds * 1000:7.2f} ms of model-thread time per request")
    print(f"  worker time per request (preprocess, off the model thread): {worker * 1000:.2f} ms")
    ratio = timings["features on the model thread"] / timings["features from the workers"]
    print(f"  model-thread time: {ratio:.1f}x less with the features prepared in the workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
