"""Running requests through a model in batches: media loaded ahead in worker threads, failures
recorded per request, one model error isolated to its culprit, lines appended per batch.
"""

from __future__ import annotations

import collections
import itertools
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ibench.errors import IbenchError
from ibench.media import MediaError, load_clip_frames, load_embedded_image, load_image
from ibench.models.base import Model
from ibench.protocol.taskspec import TaskSpec
from ibench.records import ModelInput, Request
from ibench.run.folder import append_lines
from ibench.run.predictions import failed_line, generate_line, rank_line
from ibench.run.schema import PredictionLine


class WorkerStuck(IbenchError, RuntimeError):
    """A worker thread stopped answering or died: the run stops in one line (and the command
    line leaves at once: a stuck thread cannot be stopped, nor waited for)."""

    stuck_threads = True


class StrictStop(IbenchError, RuntimeError):
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
    """A request with its media loaded (and preprocessed, when the model can), or the media
    failure."""

    request: Request
    frames: list[Any] | None = None
    indices: list[int] | None = None
    window: str | None = None
    error: MediaError | None = None
    pixels: Any = None
    key: str | None = None
    error_kind: str = "media_error"  # the failure status of `error` ("out_of_memory" too)


def media_key(request: Request, frames: int | None, image_resize: str,
              clip_tolerance_s: float = 1.0) -> str:
    """What identifies a request's media item: the file (and parquet row), the clip, the
    number of frames sampled, the clip tolerance (it decides the frames' window) and the
    preprocessing. The vision caches key on it across tasks too."""
    clip = None if request.clip is None else [*request.clip, clip_tolerance_s]
    return json.dumps([str(request.media), request.media_row, clip, frames, image_resize])


def load_request_media(request: Request, frames: int | None,
                       clip_tolerance_s: float = 1.0,
                       prepare: Callable[[list[Any], str], Any] | None = None,
                       image_resize: str = "square") -> Loaded:
    """Load the image, or sample `frames` frames of the video (inside the request's clip when
    it has one), then preprocess them with `prepare` when given; a MediaError is kept, not
    raised."""
    key = media_key(request, frames, image_resize, clip_tolerance_s)
    try:
        if frames is None and request.media_row is not None:
            loaded = Loaded(request, [load_embedded_image(request.media, *request.media_row)])
        elif frames is None:
            loaded = Loaded(request, [load_image(Path(request.media))])
        else:
            images, indices, window = load_clip_frames(
                Path(request.media), frames, clip=request.clip, tolerance_s=clip_tolerance_s)
            loaded = Loaded(request, images, list(indices), window)
    except MediaError as exc:
        return Loaded(request, error=exc, key=key)
    except MemoryError as exc:  # a host allocation that failed: this request's failure
        return Loaded(request, key=key, error=MediaError(
            request.media, f"out of memory while loading it ({exc or 'MemoryError'})"),
            error_kind="out_of_memory")
    loaded.key = key
    if prepare is not None:
        try:
            loaded.pixels = prepare(loaded.frames or [], image_resize)
        except MemoryError as exc:
            return Loaded(request, key=key, error=MediaError(
                request.media, f"out of memory while preprocessing it ({exc or 'MemoryError'})"),
                error_kind="out_of_memory")
    return loaded


class MediaMemo:
    """Media items loaded once and handed to every request that uses them: the workers share
    it, and a second request for an item being loaded waits for the first load instead of
    decoding the video again. Holds the most recent `size` items."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.items: dict[str, Future[Loaded]] = {}
        self.lock = threading.Lock()
        self.loads = 0

    def load(self, request: Request, *args: Any, **kwargs: Any) -> Loaded:
        key = media_key(request, args[0] if args else kwargs.get("frames"),
                        kwargs.get("image_resize", "square"),
                        args[1] if len(args) > 1 else kwargs.get("clip_tolerance_s", 1.0))
        with self.lock:
            future = self.items.get(key)
            mine = future is None
            if mine:
                future = self.items[key] = Future()
                while len(self.items) > self.size:
                    self.items.pop(next(iter(self.items)))
            else:
                self.items[key] = self.items.pop(key)  # most recently used last
        if mine:
            self.loads += 1
            try:
                future.set_result(load_request_media(request, *args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter
                future.set_exception(exc)
        first = future.result()
        return replace(first, request=request)


def batched(items: Iterable[Request], size: int) -> Iterator[list[Request]]:
    """Consecutive batches of at most `size` items, read lazily."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def prefetched(
    batches: Iterator[Sequence[Request]], frames: int | None, workers: int,
    clip_tolerance_s: float = 1.0, prepare: Callable[[list[Any], str], Any] | None = None,
    image_resize: str = "square", memo: MediaMemo | None = None,
) -> Iterator[list[Loaded]]:
    """Yield batches with media loaded (and preprocessed), loading the next PREFETCH_BATCHES
    batches while the current one runs; with a memo, each media item is loaded once."""
    load = memo.load if memo is not None else load_request_media
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ibench-media")
    try:
        pending: collections.deque[list[Future[Loaded]]] = collections.deque()
        for batch in batches:
            pending.append([pool.submit(load, r, frames, clip_tolerance_s, prepare=prepare,
                                        image_resize=image_resize) for r in batch])
            if len(pending) > PREFETCH_BATCHES:
                yield [_waited(f) for f in pending.popleft()]
        while pending:
            yield [_waited(f) for f in pending.popleft()]
    except BaseException:  # a stop, or a stuck worker: what is queued is not loaded, and no
        pool.shutdown(wait=False, cancel_futures=True)  # worker is waited for
        raise
    pool.shutdown(wait=True)


# How long the model thread waits for one media item before it says the workers are stuck
# (a video decode takes seconds; this is a hang, not a slow file).
MEDIA_WATCHDOG_S = 600.0


def _waited(future: Future[Loaded]) -> Loaded:
    """A media worker's result; a worker that gives none within MEDIA_WATCHDOG_S stops the run
    in one line (the finished batches are saved), never a silent hang."""
    try:
        return future.result(timeout=MEDIA_WATCHDOG_S)
    except FuturesTimeout:
        raise WorkerStuck(f"a media worker gave no result for {MEDIA_WATCHDOG_S:.0f} s: the run "
                          f"stops (finished batches are saved); run the same command to "
                          f"resume") from None


# Batches whose media are loading while the model runs the current one: the next media item
# (a video decode) starts that many batches before the model needs it.
PREFETCH_BATCHES = 3


class LineWriter:
    """Appends prediction lines on a thread of its own, so the model thread never waits for a
    disk: it hands each batch's lines over and goes on. Batches that queued up while the
    writer was busy are written with one write and one fsync (group commit), in order.
    `close` writes what is left and raises the writer's error (e.g. a full disk), if any."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.queue: queue.Queue[list[PredictionLine] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.commits = 0
        self.closed = False
        self.thread = threading.Thread(target=self._loop, name="ibench-writer", daemon=True)
        self.thread.start()

    def put(self, records: list[PredictionLine]) -> None:
        self._check()
        self.queue.put(records)

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self._check()

    def _check(self) -> None:
        """The writer's error on the model thread: a full disk as it is (the run's disk
        handling names it), an allocation that failed as one line."""
        if isinstance(self.error, MemoryError):
            raise WorkerStuck(f"out of memory while writing {self.path}: the run stops (what "
                              f"was written is saved); free memory, then run the same command "
                              f"to resume") from self.error
        if self.error is not None:
            raise self.error
        if not self.thread.is_alive() and not self.closed:
            raise WorkerStuck(f"the thread writing {self.path} stopped: the run stops (what was "
                              f"written is saved); run the same command to resume")

    def _loop(self) -> None:
        try:
            done = False
            while not done:
                group = [self.queue.get()]
                while not self.queue.empty():
                    group.append(self.queue.get_nowait())
                done = None in group
                lines = [r.to_json() for batch in group if batch is not None for r in batch]
                if lines and self.error is None:
                    append_lines(self.path, lines)
                    self.commits += 1
            self.closed = True
        except BaseException as exc:  # noqa: BLE001 - raised on the model thread
            self.error = exc


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
    work: dict[str, int] = field(default_factory=dict)  # media loads, vision-encoder calls

    def __post_init__(self) -> None:
        self.current = self.batch_size or AUTO_BATCH[(self.task.mode, self.task.media)]

    def run(self, requests: Iterable[Request]) -> dict[str, int]:
        """Run all requests; return counts per status. Media load and preprocess in the
        workers (once per media item), lines are written by the writer thread; the model
        thread only runs the model."""
        counts: dict[str, int] = {}
        tolerance = float(self.task.data.options.get("clip_tolerance_s", 1.0))
        prepare = getattr(self.model, "preprocess", None)
        vision_before = _vision_counts(self.model)
        memo = MediaMemo()
        writer = LineWriter(self.out_path)
        try:
            for loaded in prefetched(batched(requests, self.current), self.frames,
                                     self.workers, tolerance, prepare=prepare,
                                     image_resize=self.task.image_resize, memo=memo):
                if self.should_stop is not None and self.should_stop():
                    raise StopRequested()
                records = self.run_batch(loaded)
                writer.put(records)
                for record in records:
                    counts[record.status] = counts.get(record.status, 0) + 1
                if self.on_progress:
                    self.on_progress(len(records))
        except BaseException:
            try:
                writer.close()  # the finished batches are saved before the run stops
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
            raise
        writer.close()
        after = _vision_counts(self.model)
        self.work = {"media_loads": memo.loads, "writer_commits": writer.commits,
                     **{k: after[k] - vision_before.get(k, 0) for k in after}}
        return counts

    def run_batch(self, loaded: list[Loaded]) -> list[PredictionLine]:
        """Records for one batch, in request order."""
        records: dict[int, PredictionLine] = {}
        ready: list[tuple[int, Loaded]] = []
        for i, item in enumerate(loaded):
            if item.error is not None:
                if self.strict:
                    raise StrictStop(f"{_where(item.request)}: {item.error.path}: "
                                     f"{item.error.reason}")
                records[i] = failed_line(item.request, item.error_kind,
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
                    record.frames = item.indices
                    record.frame_window = item.window
                    if item.request.clip is not None:
                        record.clip = list(item.request.clip)
                record.seconds = round(seconds, 6)
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
                pixels=item.pixels,
                media_key=item.key,
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

    def _record(self, item: Loaded, output: Any) -> PredictionLine:
        record = self._outcome(item, output)
        render = getattr(self.model, "rendered_prompt", None)
        if callable(render):  # the exact text a chat-templated model was given (vlm.py)
            record.model_prompt = render(item.request.prompt, len(item.frames or []) or 1)
        return record

    def _outcome(self, item: Loaded, output: Any) -> PredictionLine:
        if isinstance(output, Exception):
            kind = "out_of_memory" if is_out_of_memory(output) else "model_error"
            return failed_line(item.request, kind, f"{type(output).__name__}: {output}")
        if self.task.mode == "generate":
            return generate_line(item.request, str(output))
        return rank_line(self.task, item.request, [float(s) for s in output])


def _vision_counts(model: Any) -> dict[str, int]:
    counts = getattr(model, "vision_counts", None)
    return dict(counts()) if callable(counts) else {}


def _where(request: Request) -> str:
    """Task, sample and template of a request, for messages."""
    return f"{request.task} sample {request.sample_id} template {request.template_id}"
