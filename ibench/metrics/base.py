"""The metric result record, the metric error, and helpers shared by the metric families."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ibench.errors import IbenchError


class MetricError(IbenchError, ValueError):
    """A metric cannot be computed from the inputs it was given (the message says why)."""


@dataclass(frozen=True)
class Rescorer:
    """Re-scores a resample as a whole, for metrics whose value is not a mean of fixed scores.

    `score(indices)` takes positions into the result's sample order (repeats allowed, any
    length) and returns the metric of that resampled set on the reported scale. `strata`, when
    set, gives each position a stratum; the bootstrap then resamples within each stratum (AUC
    resamples positives and negatives separately so every resample has both classes).
    """

    score: Callable[[np.ndarray], float]
    strata: np.ndarray | None = None


@dataclass(frozen=True)
class MetricResult:
    """One metric over one task: the aggregate, per-sample scores aligned with sample ids.

    `value` and `per_sample` are on the reported scale (x100). For every metric the value equals
    the mean of `per_sample` (up to rounding); for `corpus_level` metrics (CIDEr, ROC-AUC) the
    per-sample scores depend on the whole set, so a resample must be re-scored as a whole:
    `rescorer` does that while the result is in memory (it is not serialised). `failures`
    counts the samples without a usable prediction; they are included in `n`.
    """

    name: str
    value: float
    per_sample: dict[str, float]
    extra: dict[str, float] = field(default_factory=dict)
    n: int = 0
    failures: int = 0
    corpus_level: bool = False
    rescorer: Rescorer | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (without the in-memory rescorer) for metrics.json."""
        return {
            "name": self.name,
            "value": self.value,
            "n": self.n,
            "failures": self.failures,
            "corpus_level": self.corpus_level,
            "extra": dict(self.extra),
            "per_sample": dict(self.per_sample),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricResult:
        """Read back a result written by `to_dict` (corpus-level ones cannot be bootstrapped)."""
        return cls(
            name=str(data["name"]),
            value=float(data["value"]),
            per_sample={str(k): float(v) for k, v in data["per_sample"].items()},
            extra={str(k): float(v) for k, v in data.get("extra", {}).items()},
            n=int(data.get("n", len(data["per_sample"]))),
            failures=int(data.get("failures", 0)),
            corpus_level=bool(data.get("corpus_level", False)),
        )


def check_ids(ids: Sequence[str], *columns: Sequence[Any]) -> list[str]:
    """Sample ids as a list, refusing an empty set, duplicates, or columns of another length."""
    ids = [str(i) for i in ids]
    if not ids:
        raise MetricError("no samples to score")
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise MetricError(f"duplicate sample id {dup!r}")
    for column in columns:
        if len(column) != len(ids):
            raise MetricError(f"{len(ids)} sample ids but {len(column)} values")
    return ids


def mean_result(
    name: str,
    ids: Sequence[str],
    scores: Sequence[float],
    failures: int,
    extra: Mapping[str, float] | None = None,
) -> MetricResult:
    """Build the result of a mean-type metric from per-sample scores already on the x100 scale."""
    values = np.asarray(scores, dtype=float)
    return MetricResult(
        name=name,
        value=float(values.mean()),
        per_sample=dict(zip(ids, (float(v) for v in values), strict=True)),
        extra=dict(extra or {}),
        n=len(ids),
        failures=failures,
    )


def is_nan(x: float) -> bool:
    """True for a float NaN (None and non-floats are not NaN)."""
    return isinstance(x, float) and math.isnan(x)
