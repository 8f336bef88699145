"""Resolve a user-typed name against the valid ones, suggesting the closest on a miss."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ibench.errors import IbenchError


class UnknownNameError(IbenchError, LookupError):
    """A name that matches nothing; the message lists the closest valid names."""

    exit_code = 2

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        valid = sorted(valid)
        close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"valid: {', '.join(valid)}"
        super().__init__(f"unknown {kind} {name!r}; {hint}")
        self.kind, self.name, self.close = kind, name, close


def resolve_name(name: str, valid: Iterable[str], kind: str) -> str:
    """Return `name` if valid (case and '-'/'_' insensitive), else raise UnknownNameError."""
    valid = list(valid)
    if name in valid:
        return name
    folded = {v.lower().replace("-", "_"): v for v in valid}
    key = name.lower().replace("-", "_")
    if key in folded:
        return folded[key]
    raise UnknownNameError(kind, name, valid)
