"""ibench: evaluation benchmark suite for InstructBLIP-family vision-language models.

The Python API (ibench.api), which the command line calls too:

    import ibench
    run = ibench.evaluate("tiny-vicuna", split="held-out")  # or ibench.load_run(path)
    run.metrics, run.predictions                            # pandas DataFrames
    ibench.leaderboard([run.path]), ibench.compare(a, b).frame, run.report()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ibench.version import __version__

if TYPE_CHECKING:
    from ibench.api import ReportFile, Run, compare, evaluate, leaderboard, load_run

__all__ = ["ReportFile", "Run", "__version__", "compare", "evaluate", "leaderboard", "load_run"]


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use (so `ibench --help` stays fast)."""
    if name in __all__:
        from ibench import api

        return getattr(api, name)
    raise AttributeError(f"module 'ibench' has no attribute {name!r}")

