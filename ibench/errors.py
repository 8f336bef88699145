"""The one base class of ibench's own errors (bad input or a missing resource), and the one test
of whether an exception is a disk fault (full, over quota, read-only).

Every module's error (a task file, a template, a run folder, a record, a medium, a metric, a
checkpoint, a name) derives from `IbenchError`, so the command line turns any of them into
its message and an exit status, never a traceback, without knowing where it came from.
"""

from __future__ import annotations

import errno


class IbenchError(Exception):
    """Bad input or a missing resource; the message says what and what to do.

    A message of several lines is given as several arguments: `lines` keeps them apart, so
    that a terminal shows ibench's own line breaks while a line break inside a piece of text
    from a dataset, a run folder or a library (escaped there) stays visible as `\\n`.
    """

    exit_code = 1

    def __init__(self, *lines: object) -> None:
        self.lines = tuple(str(line) for line in lines)
        super().__init__("\n".join(self.lines))


def disk_fault(exc: BaseException) -> str | None:
    """"full" or "read-only" when the exception is a disk fault, whatever raised it (an
    OSError's errno, or the OS message inside another library's error: safetensors raises
    its own with "No space left on device" in it); None otherwise."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "full"
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return "read-only"
    text = str(exc)
    if "No space left on device" in text or "Disk quota exceeded" in text:
        return "full"
    return None
