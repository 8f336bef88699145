"""`ibench-torchrun`: torchrun (torch.distributed.run, the same arguments) for ibench runs, so
that a stopped run ends as a single-process one does: each worker finishes and saves its batch
in flight, the launcher says so in one line and exits 130 (Ctrl-C), 143 (SIGTERM) or 129
(SIGHUP). torchrun itself ends such a run with its agent's traceback and exit 1.

    ibench-torchrun --nproc-per-node 8 -m ibench eval --model vicuna-7b --split held-out
"""

from __future__ import annotations

import os
import signal
import sys

STOPPED = "{what}: each process saved its finished batches; run the same command to resume"


def main(argv: list[str] | None = None) -> None:
    """torchrun with the launcher's stop signals (and the workers' clean stops) said in one
    line and the shell's exit status."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    from ibench.safetext import escape_library_output

    escape_library_output()
    os.environ["IBENCH_TORCHRUN"] = "1"  # the workers leave the stop's one line to this launcher
    try:
        torchrun(argv if argv is not None else sys.argv[1:])
    except SignalException as exc:  # the launcher was signalled: it passed it on and waited
        _stopped(int(exc.sigval))
    except ChildFailedError as exc:  # workers that stopped on a signal of their own
        codes = {failure.exitcode for failure in exc.failures.values()}
        stops = {code - 128 for code in codes if code in (129, 130, 143)}
        if len(stops) == 1 and len(codes) == 1:
            _stopped(stops.pop())
        raise


def _stopped(signum: int) -> None:
    what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    print(STOPPED.format(what=what), file=sys.stderr)
    sys.exit(128 + signum)


if __name__ == "__main__":
    main()
