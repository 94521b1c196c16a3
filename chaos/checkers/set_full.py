"""The `set` checker: Jepsen's set-full over `add` and `read` ops.

Per element: `known` (when an acknowledged add completed, or the first read that saw it
completed, whichever is first), then, over the reads that began after `known`:
`stable` (present in the latest reads), `lost` (absent from a read that began after the
last read that saw it had ended), `never-read` (no read began after it was known, or it never
became known: an `info` add that never shows up is not lost). A stable element that some
read after `known` missed is `stale` (normal for an eventually consistent read). The run is
invalid if any known element is lost, or a read shows an element never added (or added with
a definite `fail`)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from chaos.checkers.verdict import UNKNOWN, Valid, summary
from chaos.history import ADD, FAIL, OK, READ, Json, Op, Pair, pairs

LIST_CAP = 200
"""Element lists in the result are cut to this many (the counts are exact)."""


@dataclass(slots=True)
class _Element:
    value: int | str
    add_invoke: float
    outcome: str  # ok | fail | info
    ack: float | None = None  # completion time of an ok add
    first_seen: float | None = None  # completion time of the first read that saw it
    last_present: Pair | None = None  # the latest-invoked read that saw it
    absent_after_known: list[Pair] = field(default_factory=list)

    @property
    def known(self) -> float | None:
        ts = [t for t in (self.ack, self.first_seen) if t is not None]
        return min(ts) if ts else None


def _key(x: Json) -> str | None:
    """Elements compare by text so that 417 added and "417" read back are the same one."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int | str):
        return str(x)
    return None


def _sort_key(x: int | str) -> tuple[int, int, str]:
    return (0, x, "") if isinstance(x, int) else (1, 0, x)


def check(ops: Sequence[Op]) -> dict[str, Json]:
    elements: dict[str, _Element] = {}
    malformed = 0
    add_latencies: list[float] = []
    for p in pairs(ops, (ADD,)):
        k = _key(p.invoke.value)
        v = p.invoke.value
        if k is None or not isinstance(v, int | str) or isinstance(v, bool):
            malformed += 1
            continue
        e = elements.get(k)
        if e is None:
            e = elements[k] = _Element(v, p.invoke.time, p.type)
        elif p.type == OK or (p.type != FAIL and e.outcome == FAIL):
            e.outcome = p.type  # the same element added twice: the best outcome counts
        if p.type == OK and p.complete is not None:
            e.ack = p.complete.time if e.ack is None else min(e.ack, p.complete.time)
            add_latencies.append(p.complete.time - p.invoke.time)

    reads: list[tuple[Pair, frozenset[str]]] = []
    read_latencies: list[float] = []
    for p in pairs(ops, (READ,)):
        if p.type != OK or p.complete is None:
            continue
        if not isinstance(p.complete.value, list):
            malformed += 1
            continue
        seen = frozenset(k for k in map(_key, p.complete.value) if k is not None)
        reads.append((p, seen))
        read_latencies.append(p.complete.time - p.invoke.time)
    reads.sort(key=lambda r: r[0].invoke.time)
    invokes = [r[0].invoke.time for r in reads]

    unexpected: set[str] = set()
    for p, seen in reads:
        end = p.end
        for k in seen:
            e = elements.get(k)
            if e is None:
                unexpected.add(k)
                continue
            if e.first_seen is None or end < e.first_seen:
                e.first_seen = end
            e.last_present = p  # reads are in invoke order: the last one wins

    stable: list[_Element] = []
    lost: list[_Element] = []
    never_read: list[_Element] = []
    stale: list[_Element] = []
    failed_present: list[_Element] = []
    stable_lat: list[float] = []
    lost_lat: list[float] = []
    stale_reads = 0
    for e in elements.values():
        known = e.known
        if e.outcome == FAIL and e.first_seen is not None:
            failed_present.append(e)
        if known is None:
            if e.outcome != FAIL:
                never_read.append(e)
            continue
        start = bisect.bisect_right(invokes, known)
        if start >= len(reads):
            never_read.append(e)
            continue
        key = str(e.value)
        e.absent_after_known = [p for p, seen in reads[start:] if key not in seen]
        lp = e.last_present
        lp_end = lp.end if lp is not None else known
        late_absent = [p for p in e.absent_after_known if p.invoke.time > lp_end]
        if late_absent:
            lost.append(e)
            lost_lat.append(late_absent[0].invoke.time - known)
            continue
        stable.append(e)
        if e.absent_after_known:
            stale.append(e)
            stale_reads += len(e.absent_after_known)
            last_miss = max(p.end for p in e.absent_after_known)
            stable_lat.append(max(0.0, last_miss - e.add_invoke))
        else:
            stable_lat.append(0.0)

    valid: Valid = True
    if lost or unexpected or failed_present:
        valid = False
    elif any(e.outcome == OK for e in elements.values()) and not reads:
        valid = UNKNOWN  # acknowledged writes and no read: nothing was checked
    acked_lost = [e for e in lost if e.outcome == OK]

    def values(es: list[_Element]) -> list[Json]:
        return [x for x in sorted((e.value for e in es), key=_sort_key)[:LIST_CAP]]

    return {
        "valid": valid,
        "attempt_count": len(elements),
        "acknowledged_count": sum(1 for e in elements.values() if e.outcome == OK),
        "indeterminate_count": sum(1 for e in elements.values() if e.outcome == "info"),
        "failed_count": sum(1 for e in elements.values() if e.outcome == FAIL),
        "read_count": len(reads),
        "stable_count": len(stable),
        "lost_count": len(lost),
        "lost_acknowledged_count": len(acked_lost),
        "lost": values(lost),
        "never_read_count": len(never_read),
        "stale_count": len(stale),
        "stale_read_count": stale_reads,
        "stale": values(stale),
        "unexpected_count": len(unexpected),
        "unexpected": [x for x in sorted(unexpected)[:LIST_CAP]],
        "failed_but_present_count": len(failed_present),
        "failed_but_present": values(failed_present),
        "malformed_count": malformed,
        "add_latency": _j(summary(add_latencies)),
        "read_latency": _j(summary(read_latencies)),
        "stable_latency": _j(summary(stable_lat)),
        "lost_latency": _j(summary(x for x in lost_lat if math.isfinite(x))),
    }


def _j(d: dict[str, float | int | None]) -> Json:
    return dict(d)
