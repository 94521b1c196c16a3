"""CRDT figures: ORMap[LWWRegister] join, delta size, codec rates and delta apply rate.

Prints a table (median of several runs, wall-clock and process CPU time: the machine is
shared, CPU time is the steadier figure) or, with --json, one JSON object.
    python benchmarks/crdt_bench.py [--keys 100000] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import crdt
from crdt import HLC, LWWRegister, ORMap


def build(n: int, replica: str, clock: HLC) -> ORMap:
    """A map of n keys written by `replica`, each value a small dict."""
    m = ORMap(LWWRegister)
    for i in range(n):
        val = {"mac": f"02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}", "port": i}
        m.apply(
            m.update(replica, f"key-{i:07d}", lambda v, val=val: v.assign(replica, val, hlc=clock))
        )
    return m


def timed(fn: Callable[[], Any], runs: int, per: int = 1) -> tuple[float, float]:
    """Median (wall, cpu) seconds of `fn` over `runs` runs, divided by `per`."""
    walls, cpus = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - w0) / per)
        cpus.append((time.process_time() - c0) / per)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n, runs = args.keys, args.runs
    clock = HLC(clock=lambda: 1_800_000_000_000)

    t0 = time.perf_counter()
    a = build(n, "ra", clock)
    build_s = time.perf_counter() - t0

    # Replica b: a copy of a (through the codec) with 1% of the keys rewritten elsewhere.
    b = crdt.decode(crdt.encode(a))
    changed = max(1, n // 100)
    for i in range(0, n, n // changed):
        b.apply(b.update("rb", f"key-{i:07d}", lambda v: v.assign("rb", "changed", hlc=clock)))
    join = timed(lambda: a.join(b), runs)
    assert a.join(b) == b.join(a) == b

    full = crdt.encode(a)
    one = a.update(
        "ra", "key-0000001", lambda v: v.assign("ra", {"mac": "x", "port": 1}, hlc=clock)
    )
    delta_bytes = len(crdt.encode(one))
    enc = timed(lambda: crdt.encode(a), runs)
    dec = timed(lambda: crdt.decode(full), runs)
    mb = len(full) / 1e6

    # Single-key deltas (fresh writes to keys spread over the map) applied to the n-key map.
    src = a.copy()
    deltas = []
    for j in range(2000):
        d = src.update(
            "rc", f"key-{(j * 7919) % n:07d}", lambda v, j=j: v.assign("rc", j, hlc=clock)
        )
        src.apply(d)
        deltas.append(d)
    targets = [a.copy() for _ in range(runs)]

    def apply_all() -> None:
        t = targets.pop()
        for d in deltas:
            t.apply(d)

    apply = timed(apply_all, runs, per=len(deltas))
    local_target = a.copy()

    def local() -> None:
        for j in range(2000):
            key = f"key-{(j * 7919) % n:07d}"
            local_target.apply(
                local_target.update("rd", key, lambda v, j=j: v.assign("rd", j, hlc=clock))
            )

    loc = timed(local, runs, per=2000)

    res = {
        "keys": n,
        "runs": runs,
        "build_s": round(build_s, 3),
        "join_1pct_s": round(join[0], 4),
        "join_1pct_cpu_s": round(join[1], 4),
        "full_state_bytes": len(full),
        "single_key_delta_bytes": delta_bytes,
        "encode_s": round(enc[0], 4),
        "encode_cpu_s": round(enc[1], 4),
        "decode_s": round(dec[0], 4),
        "decode_cpu_s": round(dec[1], 4),
        "encode_keys_per_s": round(n / enc[0]),
        "decode_keys_per_s": round(n / dec[0]),
        "encode_mb_per_s": round(mb / enc[0], 1),
        "decode_mb_per_s": round(mb / dec[0], 1),
        "apply_single_key_delta_us": round(apply[0] * 1e6, 2),
        "apply_single_key_delta_cpu_us": round(apply[1] * 1e6, 2),
        "local_update_and_apply_us": round(loc[0] * 1e6, 2),
    }
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"ORMap[LWWRegister], {n} keys, median of {runs} runs (wall / cpu)")
    rows = [
        ("join, replicas differing in 1%", f"{join[0] * 1e3:.0f} / {join[1] * 1e3:.0f} ms"),
        ("full state size", f"{mb:.2f} MB"),
        ("single-key delta size", f"{delta_bytes} B"),
        (
            "encode full state",
            f"{enc[0] * 1e3:.0f} / {enc[1] * 1e3:.0f} ms"
            f"  ({n / enc[0]:,.0f} keys/s, {mb / enc[0]:.1f} MB/s wall)",
        ),
        (
            "decode full state",
            f"{dec[0] * 1e3:.0f} / {dec[1] * 1e3:.0f} ms"
            f"  ({n / dec[0]:,.0f} keys/s, {mb / dec[0]:.1f} MB/s wall)",
        ),
        ("apply single-key delta", f"{apply[0] * 1e6:.1f} / {apply[1] * 1e6:.1f} us"),
        ("local update + apply", f"{loc[0] * 1e6:.1f} / {loc[1] * 1e6:.1f} us"),
    ]
    w = max(len(r[0]) for r in rows)
    for name, val in rows:
        print(f"  {name:<{w}}  {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
