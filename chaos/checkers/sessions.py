"""The `sessions` checker: long TCP connections (through SNAT) must survive agent kills.

A session sampled `broken` fails the run; `stall` is the longest time a session went
without its byte count growing (how long a kill froze it)."""

from __future__ import annotations

from collections.abc import Sequence

from chaos.checkers.verdict import UNKNOWN, Valid, jlist, summary
from chaos.history import OK, SESSION, Json, Op


def check(ops: Sequence[Op]) -> dict[str, Json]:
    samples: dict[str, list[tuple[float, str, int]]] = {}
    bad = 0
    for op in ops:
        if op.f != SESSION or op.type != OK:
            continue
        v = op.value
        if not isinstance(v, dict):
            bad += 1
            continue
        sid, state, n = v.get("id"), v.get("state"), v.get("bytes", 0)
        if not isinstance(sid, str) or state not in ("open", "broken"):
            bad += 1
            continue
        count = n if isinstance(n, int) and not isinstance(n, bool) else 0
        samples.setdefault(sid, []).append((op.time, str(state), count))

    broken: list[Json] = []
    stalls: list[float] = []
    for sid, ss in sorted(samples.items()):
        ss.sort()
        first_broken = next((t for t, st, _ in ss if st == "broken"), None)
        if first_broken is not None:
            broken.append({"id": sid, "time": round(first_broken, 3)})
        longest = 0.0
        since, last_bytes = ss[0][0], ss[0][2]
        for t, _, n in ss[1:]:
            longest = max(longest, t - since)
            if n > last_bytes:
                since, last_bytes = t, n
        stalls.append(longest)

    valid: Valid = UNKNOWN if not samples else not broken
    return {
        "valid": valid,
        "session_count": len(samples),
        "broken_count": len(broken),
        "broken": jlist(broken),
        "stall": dict(summary(stalls)),
        "malformed_count": bad,
    }
