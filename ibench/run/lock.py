"""One run folder, one writer: run names that stay inside --output, and an exclusive lock.

The lock is a `flock` on `RUN/.lock`, held by process 0 for the whole run. The kernel drops it
when the process ends, however it ends, so a `kill -9` leaves no stale lock: the next command
takes it at once. The lock file says who holds it (pid, host, start, command), for the message
the second writer gets.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import socket
import sys
from pathlib import Path
from typing import IO, Any

from ibench.run.folder import RunError

# A run name is one path component of these characters, starting with a letter or digit.
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=,@-]{0,199}")
RUN_NAME_RULE = ("a run name is one folder name: letters, digits and . _ + = , @ -, starting "
                 "with a letter or digit, at most 200 characters")


def check_run_name(name: str) -> str:
    """`name` if it is a single safe path component, else a RunError saying what is allowed."""
    if not RUN_NAME.fullmatch(name) or name in (".", ".."):
        raise RunError(f"--run-name {name!r} is refused: {RUN_NAME_RULE} (no '/', '..', "
                       f"spaces or control characters)")
    return name


class RunLock:
    """The exclusive lock on one run folder (a context manager; `acquire` raises RunError
    naming the run and the process holding it when another process has it)."""

    def __init__(self, run_path: Path) -> None:
        self.path = run_path / ".lock"
        self.handle: IO[str] | None = None

    def acquire(self) -> RunLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(handle)
            handle.close()
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
                raise RunError(f"cannot lock the run folder {self.path.parent}: "
                               f"{exc.strerror}") from exc
            raise RunError(f"run {self.path.parent} is in use by {holder}; wait for it to end "
                           f"(or stop it), or pass another --run-name") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }) + "\n")
        handle.flush()
        self.handle = handle
        return self

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing the descriptor drops the flock
            self.handle = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def held_elsewhere(run_path: Path) -> str:
    """Who holds the run's lock ("" when nobody does): the check of processes other than 0
    under torchrun, which must not take it themselves."""
    import fcntl

    path = run_path / ".lock"
    if not path.exists():
        return ""
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _holder(handle)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return ""


def _holder(handle: IO[str]) -> str:
    """'process PID on HOST since T (COMMAND)' from the lock file, as far as it is readable."""
    try:
        handle.seek(0)
        info = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    command = str(info.get("command", ""))[:200]
    text = f"process {info.get('pid')} on {info.get('host', '?')} since {info.get('started', '?')}"
    return f"{text} ({command})" if command else text
