"""Run the ibench CLI in-process and capture what it prints and its exit code."""

from __future__ import annotations

import json
from typing import Any

from ibench.cli import main


def run_cli(capsys: Any, *args: str) -> tuple[int, str, str]:
    """Return (exit code, stdout, stderr) of `ibench ARGS`."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys: Any, *args: str) -> Any:
    """Run a command that prints JSON and parse it (asserting a zero exit)."""
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return json.loads(out)
