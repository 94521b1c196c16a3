"""Verdict values and the small statistics every checker reports."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal, TypeAlias

from chaos.history import Json

Valid: TypeAlias = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"


def combine(verdicts: Iterable[Valid]) -> Valid:
    """False if any is false; "unknown" if any is unknown and none false; else true."""
    out: Valid = True
    for v in verdicts:
        if v is False:
            return False
        if v == UNKNOWN:
            out = UNKNOWN
    return out


def quantile(sorted_xs: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(q * len(sorted_xs)))
    return sorted_xs[min(rank, len(sorted_xs)) - 1]


def summary(xs: Iterable[float]) -> dict[str, float | int | None]:
    """count, p50, p99, max (seconds, rounded to the millisecond); None when empty."""
    s = sorted(x for x in xs if math.isfinite(x))
    if not s:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    return {
        "count": len(s),
        "p50": round(quantile(s, 0.50), 4),
        "p99": round(quantile(s, 0.99), 4),
        "max": round(s[-1], 4),
    }


def jlist(xs: Iterable[Json]) -> list[Json]:
    """A list typed as JSON (list is invariant, so list[str] is not a list[Json])."""
    return list(xs)
