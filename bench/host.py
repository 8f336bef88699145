"""host: how long the host keeps the model thread busy per request, before and after issue 14.

Real media sizes: 640x480 JPEG photos and 10-second 30 fps H.264 videos (written here with
PyAV), the real InstructBLIP image processor settings (the tiny checkpoint carries them:
224 px, bicubic, CLIP mean/std), and a stand-in model of fixed cost (`--model-ms`, default
11 ms per request, roughly Vicuna-7B's H100 time per sample) that sleeps instead of computing.

Both sides run here, side by side, on the same requests:
- "before": the pipeline as it was: media loaded in worker threads, but preprocessing inside
  the model call on the model thread, every request loading and decoding its own media, and
  the prediction file appended and fsynced on the model thread after every batch;
- "ibench": `TaskRunner.run`, the product's code path (preprocessing in the workers, each
  media item loaded once, a writer thread).

Printed per case: main-thread host time per request (wall time of the run minus the model's
time, over the requests), worker time per request, and whether the host keeps up with the
model (main-thread host time under 1 ms per request is the goal).

    python bench/host.py                 # GQA-like, GQA-like --templates all, MSRVTT-like
    python bench/host.py --quick         # a seconds-long smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ibench.protocol.suite import load_tasks
from ibench.records import Request  # noqa: E402
from ibench.run.execute import TaskRunner, batched, load_request_media, prefetched  # noqa: E402
from ibench.run.folder import append_lines


def photos(root: Path, n: int) -> list[Path]:
    rs = np.random.RandomState(0)
    out = []
    for i in range(n):
        path = root / f"photo{i}.jpg"
        Image.fromarray((rs.rand(480, 640, 3) * 255).astype("uint8")).save(path, quality=90)
        out.append(path)
    return out


def videos(root: Path, n: int, seconds: int) -> list[Path]:
    import av

    rs = np.random.RandomState(1)
    out = []
    for i in range(n):
        path = root / f"video{i}.mp4"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("h264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
            stream.codec_context.gop_size = 30  # a keyframe a second, as camera/web videos
            base = (rs.rand(480, 640, 3) * 255).astype("uint8")
            for f in range(30 * seconds):
                frame = av.VideoFrame.from_ndarray(np.roll(base, f, axis=1), format="rgb24")
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        out.append(path)
    return out


class StandIn:
    """A model of fixed cost per request; `preprocess` is the real checkpoint's."""

    def __init__(self, real, ms: float, preprocess_inside: bool) -> None:
        self.real, self.ms, self.inside = real, ms, preprocess_inside
        self.architecture = real.architecture
        self.model_s = 0.0
        self.first_call: float | None = None
        if not preprocess_inside:
            self.preprocess = real.preprocess

    def _work(self, inputs) -> None:
        if self.first_call is None:
            self.first_call = time.perf_counter()
        if self.inside:  # the old path: the processor ran here, on the model thread
            for item in inputs:
                self.real.preprocess(item.frames, item.image_resize)
        began = time.perf_counter()
        time.sleep(self.ms / 1000 * len(inputs))
        self.model_s += time.perf_counter() - began

    def generate(self, inputs, settings):
        self._work(inputs)
        return ["yes" for _ in inputs]

    def rank(self, inputs):
        self._work(inputs)
        return [[0.0] * len(i.candidates) for i in inputs]


def before(task, model: StandIn, requests: list[Request], frames, out: Path, batch: int) -> None:
    """The pre-issue loop: per-request media loads, preprocessing in the model call, a
    synchronous fsynced append per batch on the model thread."""
    for loaded in prefetched(batched(requests, batch), frames, 2):
        runner = TaskRunner(task, model, out, batch, frames)
        records = runner.run_batch(loaded)
        append_lines(out, records)


def run_case(name: str, task_id: str, media: list[Path], per_item: int, templates: int,
             frames: int | None, candidates: int, ms: float, real, root: Path) -> None:
    task = load_tasks()[task_id]
    cands = tuple(f"answer {k}" for k in range(candidates)) if candidates else None
    mode = "rank" if cands else "generate"
    requests = [Request(task_id, f"{m.stem}-{q}", f"t{t}", f"Question: q{q}? Short answer:",
                        mode, m, cands)
                for m in media for q in range(per_item) for t in range(templates)]
    n = len(requests)
    rows = []
    for side in ("before", "ibench"):
        model = StandIn(real, ms, preprocess_inside=side == "before")
        out = root / f"{name}-{side}.jsonl"
        began = time.perf_counter()
        if side == "before":
            before(task, model, requests, frames, out, 8)
        else:
            TaskRunner(task, model, out, 8, frames).run(requests)
        wall = time.perf_counter() - began
        host = max(0.0, wall - model.model_s) / n * 1000
        # the same once the first media item is in (the start-up a long task amortizes)
        steady = max(0.0, wall - (model.first_call - began) - model.model_s) / n * 1000
        rows.append((side, wall, host, steady))
    # worker time per request: what the workers spend on one request's media, measured alone
    sample = requests[0]
    began = time.perf_counter()
    load_request_media(sample, frames, prepare=real.preprocess, image_resize=task.image_resize)
    worker_once = (time.perf_counter() - began) * 1000
    shares = per_item * templates
    print(f"\n{name}: {n} requests over {len(media)} media items ({shares} per item), "
          f"model {ms:.0f} ms/request (stand-in)")
    for side, wall, host, steady in rows:
        verdict = "keeps up" if steady < 1.0 else "the model waits"
        print(f"  {side:7s} wall {wall:7.2f} s   main-thread host {host:6.2f} ms/request, "
              f"{steady:6.2f} after the first item ({verdict})")
    ratio = rows[0][2] / max(rows[1][2], 1e-6)
    print(f"  ratio   main-thread host time before/after: {ratio:.1f}x; wall before/after: "
          f"{rows[0][1] / rows[1][1]:.2f}x")
    print(f"  worker  load + preprocess of one media item: {worker_once:.1f} ms "
          f"(once per item: {worker_once / shares:.2f} ms per request)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--model-ms", type=float, default=11.0)
    args = parser.parse_args()
    from ibench.models import load_model

    real = load_model("tiny-vicuna", device="cpu")
    with tempfile.TemporaryDirectory(prefix="ibench-host-") as tmp:
        root = Path(tmp)
        n_img, n_vid, secs = (2, 1, 2) if args.quick else (6, 3, 10)
        images, clips = photos(root, n_img), videos(root, n_vid, secs)
        # GQA: 12,578 questions over 398 images (about 32 a image); MSRVTT-QA: 72,821 over
        # 2,990 videos (about 24 a video) and a 1,500-answer vocabulary
        per_img, per_vid = (4, 3) if args.quick else (32, 24)
        run_case("GQA-like", "gqa", images, per_img, 1, None, 0, args.model_ms, real, root)
        run_case("GQA-like --templates all", "gqa", images, per_img // 2, 10, None, 0,
                 args.model_ms, real, root)
        run_case("MSRVTT-like", "msrvtt_qa", clips, per_vid, 1, 4, 1500, args.model_ms, real,
                 root)


if __name__ == "__main__":
    main()
