"""One run folder, one writer: run names that stay inside --output, and an exclusive lock.

The lock is a `flock` on `RUN/.lock`, held by process 0 for the whole run. The kernel drops it
when the process ends, however it ends, so a `kill -9` leaves no stale lock: the next command
takes it at once. The lock file says who holds it (pid, host, start, command), for the message
the second writer gets.

A share of a run (`--shard i/N`) holds `RUN/.lock` shared (so shares run side by side, and a
whole run waits for none of them) and its own `RUN/.lock-share-IofN` exclusively (so the same
share started twice is refused). Short read-modify-writes of the manifest by shares are
serialised by `manifest_guard` (a blocking flock on `RUN/.lock-manifest`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    naming the run and the process holding it when another process has it).

    The lock file is opened without following links and must be a regular file: a `.lock`
    that is a link, a folder or anything else is refused in one line (nothing is written
    through it). Releasing removes the file; acquiring checks that the file it locked is still
    the one at the path, so a run finishing at that moment cannot leave two holders."""

    def __init__(self, run_path: Path, name: str = ".lock", shared: bool = False,
                 what: str = "run") -> None:
        self.path = run_path / name
        self.shared = shared  # a share's hold on the run: others may hold it too
        self.what = what  # what the refusal names: the run, or a share of it
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        import fcntl

        folder = self.path.parent
        if folder.is_symlink():
            raise RunError(f"run folder {folder} is a symbolic link; ibench writes a run only "
                           f"into a folder of its own (remove the link or pass another "
                           f"--run-name)")
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            fd = _open_regular(self.path)
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
                            | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _holder(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
                    raise RunError(f"cannot lock the run folder {folder}: "
                                   f"{exc.strerror}") from exc
                raise RunError(f"{self.what} {folder} is in use by {holder}; wait for it to "
                               f"end (or stop it), or pass another --run-name") from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # its holder removed it as we opened it: lock the one there now
        self.fd = fd
        if self.shared:  # held by several: it names none of them, and stays
            return self
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }) + "\n").encode("utf-8"))
        return self

    def release(self) -> None:
        """Remove the lock file and drop the lock (closing the descriptor drops the flock)."""
        if self.fd is not None:
            if not self.shared and _same_file(self.fd, self.path):
                self.path.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _open_regular(path: Path) -> int:
    """A descriptor of the lock file (created if absent), never through a link, refused
    unless it is a regular file."""
    import stat

    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RunError(f"{path} is a symbolic link: a run's lock file must be a file of "
                           f"its own (ibench does not write through a link); remove it") from None
        if exc.errno == errno.EISDIR:
            raise RunError(f"{path} is a folder, not the run's lock file; remove it") from None
        raise RunError(f"cannot open the run's lock file {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RunError(f"{path} is not a regular file (the run's lock file must be one); "
                       f"remove it")
    return fd


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open file is (still) the file at the path."""
    try:
        here = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def _holder(fd: int) -> str:
    """'process PID on HOST since T (COMMAND)' from the lock file, as far as it is readable."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 1 << 16).decode("utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    command = str(info.get("command", ""))[:200]
    text = f"process {info.get('pid')} on {info.get('host', '?')} since {info.get('started', '?')}"
    return f"{text} ({command})" if command else text


@contextlib.contextmanager
def manifest_guard(run_path: Path) -> Iterator[None]:
    """Hold `RUN/.lock-manifest` (blocking) while the manifest is read, changed and written,
    so that shares of one run never overwrite each other's changes."""
    import fcntl

    fd = _open_regular(run_path / ".lock-manifest")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class LockSet:
    """Locks held together, released in reverse order."""

    def __init__(self, locks: list[RunLock]) -> None:
        self.locks = locks

    def release(self) -> None:
        for lock in reversed(self.locks):
            lock.release()
