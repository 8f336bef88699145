"""The one base class of ibench's own errors: bad input or a missing resource.

Every module's error (a task file, a template, a run folder, a record, a medium, a metric, a
checkpoint, a name) derives from `IbenchError`, so the command line turns any of them into
its message and an exit status, never a traceback, without knowing where it came from.
"""

from __future__ import annotations


class IbenchError(Exception):
    """Bad input or a missing resource; the message says what and what to do."""

    exit_code = 1
