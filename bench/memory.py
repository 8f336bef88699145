"""Peak memory of `ibench eval` against the number of requests: 5,000 and 50,000.

Each size runs in a fresh process: a synthetic VSR-format task (the official jsonl layout, a
few shared images) of N statements, the real runner (reading, planning, media loading,
batching, appending predictions, scoring), and a stub model that scores the verbalizers in
no time, so what is measured is the runner, not a network. Prints peak RSS per size after
running the requests (flat: requests, media and predictions stream) and after scoring (which
holds each sample's references and score: a small cost per sample).

    python bench/memory.py            # 5,000 and 50,000
    python bench/memory.py 2000 20000
    python bench/memory.py --mirror   # reading a hub parquet mirror of 10,000 and 100,000 rows
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image


def write_dataset(root: Path, n: int) -> None:
    """N VSR test.jsonl lines over 4 images, in the official format."""
    images = root / "vsr" / "images"
    images.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (32, 32), (60 * i, 80, 120)).save(images / f"{i:012d}.jpg")
    folder = root / "vsr" / "zeroshot"
    folder.mkdir(parents=True)
    with open(folder / "test.jsonl", "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({
                "image": f"{i % 4:012d}.jpg", "caption": f"The cat number {i} is on the mat.",
                "label": i % 2, "relation": "on", "subj": "cat", "obj": "mat",
                "vote_true_validator_id": "[1, 2]", "vote_false_validator_id": "[]",
            }) + "\n")


class StubModel:
    """Scores each candidate by its length; no tensors, so only the runner's memory shows."""

    architecture = "decoder-only"

    def generate(self, inputs, settings):
        return ["yes" for _ in inputs]

    def rank(self, inputs):
        return [[-float(len(c)) for c in item.candidates] for item in inputs]

    def info(self):
        return {"model_id": "stub", "dtype": "fp32", "device": "cpu"}


def peak_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int) -> dict[str, float]:
    """Run the eval on N requests in this process; return peak RSS after running the requests,
    after scoring, and the time."""
    from ibench.protocol.suite import load_tasks
    from ibench.run.evaluate import evaluate
    from ibench.run.hooks import EvalHooks
    from ibench.run.settings import EvalRequest, Runtime

    class Hooks(EvalHooks):
        run_peak = 0.0

        def task_finished(self, task: str) -> None:
            Hooks.run_peak = peak_mib()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_dataset(root / "data", n)
        before = peak_mib()
        start = time.perf_counter()
        request = EvalRequest(model="stub", tasks=(load_tasks()["vsr"],), data_root=root / "data")
        runtime = Runtime(output=root / "results", run_name="mem", batch_size=64)
        _, metrics, _ = evaluate(request, runtime, Hooks(), lambda *a, **k: StubModel())
        seconds = time.perf_counter() - start
        assert metrics["tasks"]["vsr"]["n"] == n
    return {"n": n, "before_mib": before, "run_mib": Hooks.run_peak, "peak_mib": peak_mib(),
            "seconds": seconds}


def write_mirror(root: Path, n: int) -> None:
    """A VizWiz-VQA parquet mirror of N rows (the lmms-lab card's columns, a small JPEG
    embedded in each row), in row groups of 1,000, as `hf download --local-dir` lays it out."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 30)).save(buffer, format="JPEG")
    image = buffer.getvalue()
    schema = pa.schema([("question_id", pa.string()),
                        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
                        ("question", pa.string()), ("answers", pa.list_(pa.string())),
                        ("category", pa.string())])
    path = root / "hub/lmms-lab/VizWiz-VQA/data/val-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, 1000):
            rows = [{"question_id": f"VizWiz_val_{i:08d}", "question": f"What is {i}?",
                     "image": {"bytes": image, "path": f"VizWiz_val_{i:08d}.jpg"},
                     "answers": ["unanswerable"] * 10, "category": "other"}
                    for i in range(start, min(n, start + 1000))]
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))


def measure_mirror(n: int) -> dict[str, float]:
    """Read every sample of an N-row hub mirror (read_samples, as eval's checking pass does);
    return peak RSS before and after."""
    from ibench.data import read_samples
    from ibench.protocol.suite import load_tasks

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_mirror(root, n)
        before = peak_mib()
        start = time.perf_counter()
        count = sum(1 for _ in read_samples(load_tasks()["vizwiz"], root))
        assert count == n
        seconds = time.perf_counter() - start
    return {"n": n, "before_mib": before, "run_mib": peak_mib(), "peak_mib": peak_mib(),
            "seconds": seconds}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(measure(int(sys.argv[2]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--one-mirror":
        print(json.dumps(measure_mirror(int(sys.argv[2]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--mirror":
        rows = []
        for n in [int(a) for a in sys.argv[2:]] or [10_000, 100_000]:
            out = subprocess.run([sys.executable, __file__, "--one-mirror", str(n)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        for row in rows:
            print(f"{row['n']:>10,} mirror rows: peak RSS {row['run_mib']:.1f} MiB "
                  f"(after imports and writing {row['before_mib']:.1f}), read in "
                  f"{row['seconds']:.1f} s")
        print(f"reading a mirror: peak RSS ratio {rows[-1]['n']:,} / {rows[0]['n']:,} rows = "
              f"{rows[-1]['run_mib'] / rows[0]['run_mib']:.3f}")
        return
    sizes = [int(a) for a in sys.argv[1:]] or [5_000, 50_000]
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True,
                             text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'requests':>10} {'after imports':>14} {'running':>8} {'+ scoring':>10} "
          f"{'seconds':>8}   (peak RSS, MiB)")
    for row in rows:
        print(f"{row['n']:>10,} {row['before_mib']:>14.1f} {row['run_mib']:>8.1f} "
              f"{row['peak_mib']:>10.1f} {row['seconds']:>8.1f}")
    first, last = rows[0], rows[-1]
    times = last["n"] / first["n"]
    print(f"running the requests: peak RSS ratio {last['n']:,} / {first['n']:,} = "
          f"{last['run_mib'] / first['run_mib']:.3f} for {times:.0f}x the requests")
    extra = (last["peak_mib"] - first["peak_mib"]) * 1024 / (last["n"] - first["n"])
    print(f"with scoring (per-sample scores are held in memory): ratio "
          f"{last['peak_mib'] / first['peak_mib']:.3f}, about {extra:.2f} KiB per extra sample")


if __name__ == "__main__":
    main()
