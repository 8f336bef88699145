"""Running requests through a model in batches: media loaded ahead in worker threads, failures
recorded per request, one model error isolated to its culprit, lines appended per batch.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ibench.media import MediaError, load_clip_frames, load_embedded_image, load_image
from ibench.outcomes import failed_record, generate_record, rank_record
from ibench.records import GenerationSettings, ModelInput, Request
from ibench.results import append_lines
from ibench.tasks import TaskSpec


class Model(Protocol):
    """What the runner needs of a model (ibench.models implements it)."""

    architecture: str

    def generate(self, inputs: Sequence[ModelInput], settings: GenerationSettings) -> list[str]:
        """Generated text per input."""

    def rank(self, inputs: Sequence[ModelInput]) -> list[list[float]]:
        """Summed log-likelihood of each candidate per input."""


class StrictStop(RuntimeError):
    """--strict: the first failure stops the run."""


class StopRequested(KeyboardInterrupt):
    """Ctrl-C was pressed: the batch in flight finished and was saved, then the run stopped."""


# Starting batch sizes for --batch-size auto, halved on out-of-memory errors until they fit.
AUTO_BATCH = {("generate", "image"): 64, ("rank", "image"): 32, ("generate", "video"): 16,
              ("rank", "video"): 8}


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a CUDA (or CPU allocator) out-of-memory error: torch's OutOfMemoryError,
    Python's MemoryError (a host allocation under an address-space limit), and the
    RuntimeErrors the CPU allocator and oneDNN raise when memory runs out."""
    if type(exc).__name__ == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(s in text for s in _OOM_TEXTS)


# What RuntimeErrors say when memory runs out: CUDA and the CPU allocator; oneDNN fails to
# create a primitive when it cannot allocate its scratch space.
_OOM_TEXTS = ("out of memory", "can't allocate memory", "could not create a primitive",
              "defaultcpuallocator: not enough memory")


def release_memory() -> None:
    """Give cached GPU memory back after an out-of-memory error."""
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


@dataclass
class Loaded:
    """A request with its media loaded, or the media failure."""

    request: Request
    frames: list[Any] | None = None
    indices: list[int] | None = None
    window: str | None = None
    error: MediaError | None = None


def load_request_media(request: Request, frames: int | None,
                       clip_tolerance_s: float = 1.0) -> Loaded:
    """Load the image, or sample `frames` frames of the video (inside the request's clip when
    it has one); a MediaError is kept, not raised."""
    try:
        if frames is None and request.media_row is not None:
            return Loaded(request, [load_embedded_image(request.media, *request.media_row)])
        if frames is None:
            return Loaded(request, [load_image(Path(request.media))])
        images, indices, window = load_clip_frames(
            Path(request.media), frames, clip=request.clip, tolerance_s=clip_tolerance_s)
        return Loaded(request, images, list(indices), window)
    except MediaError as exc:
        return Loaded(request, error=exc)


def batched(items: Iterable[Request], size: int) -> Iterator[list[Request]]:
    """Consecutive batches of at most `size` items, read lazily."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def prefetched(
    batches: Iterator[Sequence[Request]], frames: int | None, workers: int,
    clip_tolerance_s: float = 1.0,
) -> Iterator[list[Loaded]]:
    """Yield batches with media loaded, loading the next batch while the current one runs."""
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ibench-media") as pool:
        pending: list[Future[Loaded]] | None = None
        for batch in batches:
            submitted = [pool.submit(load_request_media, r, frames, clip_tolerance_s)
                         for r in batch]
            if pending is not None:
                yield [f.result() for f in pending]
            pending = submitted
        if pending is not None:
            yield [f.result() for f in pending]


@dataclass
class TaskRunner:
    """Runs one task's requests on a model and appends the prediction lines."""

    task: TaskSpec
    model: Model
    out_path: Path
    batch_size: int | None  # None: auto (start large, halve on out-of-memory)
    frames: int | None
    qformer_instruction: bool = True
    strict: bool = False
    workers: int = 2
    on_progress: Callable[[int], None] | None = None
    should_stop: Callable[[], bool] | None = None
    oom_events: int = 0

    def __post_init__(self) -> None:
        self.current = self.batch_size or AUTO_BATCH[(self.task.mode, self.task.media)]

    def run(self, requests: Iterable[Request]) -> dict[str, int]:
        """Run all requests; return counts per status."""
        counts: dict[str, int] = {}
        tolerance = float(self.task.data.options.get("clip_tolerance_s", 1.0))
        for loaded in prefetched(batched(requests, self.current), self.frames, self.workers,
                                 tolerance):
            if self.should_stop is not None and self.should_stop():
                raise StopRequested()
            records = self.run_batch(loaded)
            append_lines(self.out_path, records)
            for record in records:
                counts[record["status"]] = counts.get(record["status"], 0) + 1
            if self.on_progress:
                self.on_progress(len(records))
        return counts

    def run_batch(self, loaded: list[Loaded]) -> list[dict[str, Any]]:
        """Records for one batch, in request order."""
        records: dict[int, dict[str, Any]] = {}
        ready: list[tuple[int, Loaded]] = []
        for i, item in enumerate(loaded):
            if item.error is not None:
                if self.strict:
                    raise StrictStop(f"{_where(item.request)}: {item.error.path}: "
                                     f"{item.error.reason}")
                records[i] = failed_record(item.request, "media_error",
                                           f"{item.error.path}: {item.error.reason}")
            else:
                ready.append((i, item))
        start = 0
        while start < len(ready):
            chunk = ready[start : start + self.current]
            start += len(chunk)
            began = time.perf_counter()
            outputs = self._call_guarded([item for _, item in chunk])
            seconds = (time.perf_counter() - began) / len(chunk)
            for (i, item), output in zip(chunk, outputs, strict=True):
                record = self._record(item, output)
                if item.indices is not None:
                    record["frames"] = item.indices
                    record["frame_window"] = item.window
                    if item.request.clip is not None:
                        record["clip"] = list(item.request.clip)
                record["seconds"] = round(seconds, 6)
                records[i] = record
        return [records[i] for i in range(len(loaded))]

    def _inputs(self, items: list[Loaded]) -> list[ModelInput]:
        return [
            ModelInput(
                prompt=item.request.prompt,
                frames=item.frames or [],
                candidates=tuple(item.request.candidates or ()),
                qformer_prompt=None if self.qformer_instruction else "",
                image_resize=self.task.image_resize,
            )
            for item in items
        ]

    def _call(self, items: list[Loaded]) -> list[Any]:
        inputs = self._inputs(items)
        if self.task.mode == "generate":
            settings = self.task.generation_settings(self.model.architecture)  # type: ignore[arg-type]
            return list(self.model.generate(inputs, settings))
        return list(self.model.rank(inputs))

    def _call_guarded(self, items: list[Loaded]) -> list[Any]:
        """The model's outputs for a batch; under --strict the first failure stops the run,
        naming the request."""
        outputs = self._call_recovering(items)
        if self.strict:
            for item, output in zip(items, outputs, strict=True):
                if isinstance(output, Exception):
                    raise StrictStop(f"{_where(item.request)}: {type(output).__name__}: "
                                     f"{output}") from output
        return outputs

    def _call_recovering(self, items: list[Loaded]) -> list[Any]:
        """Call the model; out of memory: halve the batch and retry both halves (the smaller
        size is kept for the rest of the task); another error: retry one by one, so only the
        culprit is recorded as a failure. Returns an output or an exception per item."""
        try:
            return self._call(items)
        except Exception as exc:  # noqa: BLE001 - every failure is handled or recorded
            if is_out_of_memory(exc):
                release_memory()
                self.oom_events += 1
                if len(items) == 1:
                    return [exc]
                self.current = min(self.current, (len(items) + 1) // 2)
                outputs: list[Any] = []
                while len(outputs) < len(items):  # chunks follow the size as it shrinks
                    chunk = items[len(outputs) : len(outputs) + self.current]
                    outputs += self._call_recovering(chunk)
                return outputs
            if len(items) == 1:
                return [exc]
        return [out for item in items for out in self._call_recovering([item])]

    def _record(self, item: Loaded, output: Any) -> dict[str, Any]:
        if isinstance(output, Exception):
            kind = "out_of_memory" if is_out_of_memory(output) else "model_error"
            return failed_record(item.request, kind, f"{type(output).__name__}: {output}")
        if self.task.mode == "generate":
            return generate_record(item.request, str(output))
        return rank_record(self.task, item.request, [float(s) for s in output])


def _where(request: Request) -> str:
    """Task, sample and template of a request, for messages."""
    return f"{request.task} sample {request.sample_id} template {request.template_id}"
