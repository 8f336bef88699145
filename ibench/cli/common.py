"""Options and parameter types that several commands share."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

import click

from ibench.safetext import visible


def _include(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]) -> None:
    from ibench.resources import include_path

    for folder in value:
        try:
            include_path(folder)
        except FileNotFoundError as exc:
            raise click.BadParameter(str(exc).split(": ", 1)[-1], ctx, param) from None


INCLUDE = click.option(
    "--include-path", type=click.Path(path_type=Path), multiple=True, expose_value=False,
    callback=_include, is_eager=True, envvar="IBENCH_INCLUDE_PATH",
    help="A folder with your own tasks/*.yaml and templates/*.yaml (repeatable).")


def split_names(text: str | None) -> list[str] | None:
    """`a, b,c` as [a, b, c] (None for no text)."""
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


class BatchSize(click.ParamType):
    """A positive integer, or `auto` (None)."""

    name = "N|auto"

    def convert(self, value: object, param: object, ctx: object) -> int | None:
        if value is None or value == "auto":
            return None
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            if int(value) >= 1:
                return int(value)
        self.fail(f"{value!r} is not a positive integer or auto", param, ctx)  # type: ignore


def write_data(text: str) -> None:
    """md/csv/json/latex output: exactly as rendered into a file (csv and json round-trip);
    on a terminal, or a pipe that may end on one, control characters are shown as escapes."""
    if may_reach_a_terminal():
        text = "\n".join(visible(line) for line in text.split("\n"))
    sys.stdout.write(text)


def may_reach_a_terminal() -> bool:
    """Whether standard output is a terminal or a pipe, not a file (an in-memory stream, a
    program's own, is written exactly)."""
    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return not stat.S_ISREG(mode)
