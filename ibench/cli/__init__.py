"""The ibench command line: one module per command group, each parsing its options, calling
the library and printing what it returns. `main` turns ibench's own errors (IbenchError) into
one line and an exit status, and a stop signal into the shell's status for it."""

from __future__ import annotations

import os
import signal
import sys

import click

from ibench.cli.catalog import models, tasks, templates
from ibench.cli.common import INCLUDE
from ibench.cli.datasets import data
from ibench.cli.eval import eval_cmd
from ibench.cli.reproduce import paper
from ibench.cli.results import compare_cmd, leaderboard_cmd, report_cmd
from ibench.errors import IbenchError
from ibench.safetext import escape_library_output, message_lines
from ibench.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ibench")
@INCLUDE
def cli() -> None:
    """ibench: faithful, fast and honest evaluation of InstructBLIP-family models."""


for _command in (tasks, templates, data, models, eval_cmd, leaderboard_cmd, compare_cmd,
                 report_cmd, paper):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning the library's input errors into messages and exit codes."""
    escape_library_output()  # a library's warning may quote text given to it: shown as data
    try:
        cli.main(args=argv, prog_name="ibench", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        # click turns the KeyboardInterrupt into Abort: the signal rides on the original
        cause = exc.__context__ if isinstance(exc, click.exceptions.Abort) else exc
        _stopped(getattr(cause, "signum", signal.SIGINT))
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except IbenchError as exc:  # its pieces of run-folder or data text shown as data
        click.echo("error: " + "\n".join(message_lines(exc)), err=True)
        if getattr(exc, "stuck_threads", False):  # a thread that cannot be stopped: leave now
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exc.exit_code)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if type(exc).__name__ == "SignalException":  # torchrun's, for a signal to a worker
            _stopped(getattr(exc, "sigval", signal.SIGTERM))
        raise


def _stopped(signum: int) -> None:
    """The one line for a run stopped by a signal, and the shell's exit status for it
    (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
    what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    if os.environ.get("RANK", "0") == "0" and "IBENCH_TORCHRUN" not in os.environ:
        # one line: under ibench-torchrun the launcher says it; under torchrun, process 0
        click.echo(f"{what}: finished batches are saved; run the same command to resume",
                   err=True)
    sys.exit(128 + int(signum))
