"""How often ibench's old short-answer decoding (repetition penalty 1.0, one new token forced)
gives the same answer as LAVIS's arguments (the tasks' generation blocks), on the tiny models.

    python bench/decoding_agreement.py [--n 18]

Random tiny weights: the agreement, not the answers, is the point (issue 11, defect 2)."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ibench.models.loading import quiet_transformers  # noqa: E402
from ibench.models.tiny.blip import tiny_model
from ibench.protocol.suite import load_tasks
from ibench.records import GenerationSettings, ModelInput  # noqa: E402

WORDS = ("this", "on the table", "the man holding", "that color", "in the sky", "the dog doing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=18)
    args = parser.parse_args(argv)
    quiet_transformers()
    rs = np.random.RandomState(21)
    inputs = [ModelInput(f"Question: what is {WORDS[i % len(WORDS)]}? Short answer:",
                         [Image.fromarray((rs.rand(30 + i, 41, 3) * 255).astype("uint8"))])
              for i in range(args.n)]
    gqa = load_tasks()["gqa"]
    for kind in ("t5", "vicuna"):
        model = tiny_model(kind)
        lavis = gqa.generation_settings(model.architecture)
        old = GenerationSettings(lavis.num_beams, lavis.max_new_tokens, 1, lavis.length_penalty,
                                 1.0)
        a, b = model.generate(inputs, lavis), model.generate(inputs, old)
        same = sum(x == y for x, y in zip(a, b, strict=True))
        print(f"{kind}: LAVIS arguments {lavis}; old ibench settings agree on {same} of "
              f"{len(a)} answers; empty answers {a.count('')} (LAVIS) vs {b.count('')} (old)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
