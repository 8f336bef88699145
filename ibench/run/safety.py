"""What keeps a run safe on an unlucky machine: the output folder checked before any work, a full
or read-only disk ended in one line with nothing torn, and stop signals turned into a clean stop
after the batch in flight."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

from ibench.errors import disk_fault
from ibench.run.folder import RunDir, RunError
from ibench.run.hooks import EvalHooks

MIN_FREE_BYTES = 64 * 1024 * 1024


def check_output_writable(output: Path, min_free: int = MIN_FREE_BYTES) -> None:
    """Fail before any work when the output folder cannot be written or its disk is full."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / f".ibench-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"cannot write to the output folder {output}: {exc.strerror}") from exc
    free = shutil.disk_usage(output).free
    if free < min_free:
        raise RunError(
            f"the disk holding {output} has only {free / 2**20:.0f} MiB free; ibench needs at "
            f"least {min_free / 2**20:.0f} MiB for predictions. Free some space or pass --output."
        )




def is_disk_full(exc: BaseException) -> bool:
    """An OSError of a full disk, an exceeded quota or a read-only file system."""
    return isinstance(exc, OSError) and disk_fault(exc) is not None


def disk_error(exc: BaseException, run: RunDir) -> RunError | None:
    """One line for a disk fault: the path, what happened, and what to do."""
    if not isinstance(exc, OSError):
        return None
    where = exc.filename or run.path
    what = ("is read-only" if disk_fault(exc) == "read-only" else
            f"is full ({exc.strerror})")
    return RunError(f"the disk holding {where} {what}: the run is saved up to the last "
                    f"finished batch and marked failed; free space (or remount it writable), "
                    f"then run the same command to resume")


class DiskReserve:
    """A small file kept in the run folder while the run is going, deleted when the disk
    fills so that the manifest can still be marked failed."""

    SIZE = 1 << 20

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".reserve"
        try:
            with self.path.open("wb") as handle:
                handle.write(b"\0" * self.SIZE)
        except OSError:
            self.path.unlink(missing_ok=True)

    def free(self) -> None:
        self.path.unlink(missing_ok=True)


# Signals that ask for a clean stop: Ctrl-C, and what schedulers (SLURM, Kubernetes) send
# before they kill a job.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# Under torchrun a Ctrl-C reaches each worker twice: from the terminal (the whole process group)
# and from the launcher, which passes the signal on. A repeat within this window is that same
# request, not a second press.
REPEAT_WINDOW_S = 2.0


def install_clean_stop(hooks: EvalHooks) -> Any:
    """First stop signal (Ctrl-C, SIGTERM, SIGHUP): finish and save the batch in flight, then
    stop, recording which signal; a second: stop at once (under torchrun, not the launcher's
    copy of the first)."""
    import threading
    import time

    if threading.current_thread() is not threading.main_thread():
        return None
    under_torchrun = "TORCHELASTIC_RUN_ID" in os.environ
    first: list[float] = []

    def handler(signum: int, frame: Any) -> None:
        if hooks.stop:
            if under_torchrun and first and time.monotonic() - first[0] < REPEAT_WINDOW_S:
                return  # the launcher passing the same stop on
            raise KeyboardInterrupt
        first.append(time.monotonic())
        hooks.stop = True
        hooks.stop_signal = signum
        what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        hooks.message(f"{what}: stopping after the batch in flight (again to stop at once)")

    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def restore_signals(previous: Any) -> None:
    if previous is not None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def discard_run(run: RunDir) -> None:
    """Remove a run folder this session made and did not keep (the model never loaded, or no
    task ran): what ibench writes there, then the folder if nothing else is in it."""
    import shutil

    for name in ("manifest.json", "metrics.json", "leaderboard.md", ".reserve", ".lock",
                 ".lock-manifest"):
        (run.path / name).unlink(missing_ok=True)
    for name in ("predictions", "references", "scores", "submissions", "shares"):
        shutil.rmtree(run.path / name, ignore_errors=True)
    try:
        run.path.rmdir()
    except OSError:  # something else is in it: leave it
        pass
