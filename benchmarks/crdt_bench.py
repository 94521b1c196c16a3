"""CRDT figures: ORMap[LWWRegister] join, delta size, codec rates and delta apply rate.

Prints a table (median of several runs) or, with --json, one JSON object.
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


def median_time(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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

    # Replica b: a copy of a with 1% of the keys rewritten by another replica.
    b = crdt.decode(crdt.encode(a))
    changed = max(1, n // 100)
    for i in range(0, n, n // changed):
        key = f"key-{i:07d}"
        b.apply(b.update("rb", key, lambda v: v.assign("rb", "changed", hlc=clock)))
    join_s = median_time(lambda: a.join(b), runs)
    assert a.join(b) == b.join(a)

    full = crdt.encode(a)
    one = a.update(
        "ra", "key-0000001", lambda v: v.assign("ra", {"mac": "x", "port": 1}, hlc=clock)
    )
    delta_bytes = len(crdt.encode(one))

    enc_s = median_time(lambda: crdt.encode(a), runs)
    dec_s = median_time(lambda: crdt.decode(full), runs)
    mb = len(full) / 1e6

    # Apply rate of single-key deltas into the n-key map (each a fresh write to some key).
    target = a.copy()
    deltas = []
    src = a.copy()
    for j in range(2000):
        key = f"key-{(j * 7919) % n:07d}"
        d = src.update("rc", key, lambda v, j=j: v.assign("rc", j, hlc=clock))
        src.apply(d)
        deltas.append(d)
    apply_times = []
    for _ in range(runs):
        t = target.copy()
        t0 = time.perf_counter()
        for d in deltas:
            t.apply(d)
        apply_times.append((time.perf_counter() - t0) / len(deltas))
    apply_us = statistics.median(apply_times) * 1e6
    local_times = []
    for _ in range(runs):
        t = target.copy()
        t0 = time.perf_counter()
        for j in range(2000):
            key = f"key-{(j * 7919) % n:07d}"
            t.apply(t.update("rd", key, lambda v, j=j: v.assign("rd", j, hlc=clock)))
        local_times.append((time.perf_counter() - t0) / 2000)
    local_us = statistics.median(local_times) * 1e6

    res = {
        "keys": n,
        "runs": runs,
        "build_s": round(build_s, 3),
        "join_1pct_s": round(join_s, 4),
        "full_state_bytes": len(full),
        "single_key_delta_bytes": delta_bytes,
        "encode_s": round(enc_s, 4),
        "decode_s": round(dec_s, 4),
        "encode_keys_per_s": round(n / enc_s),
        "decode_keys_per_s": round(n / dec_s),
        "encode_mb_per_s": round(mb / enc_s, 1),
        "decode_mb_per_s": round(mb / dec_s, 1),
        "apply_single_key_delta_us": round(apply_us, 2),
        "local_update_and_apply_us": round(local_us, 2),
    }
    if args.json:
        print(json.dumps(res))
    else:
        print(f"ORMap[LWWRegister], {n} keys, median of {runs} runs")
        rows = [
            ("join, replicas differing in 1%", f"{join_s * 1e3:.1f} ms"),
            ("full state size", f"{len(full) / 1e6:.2f} MB"),
            ("single-key delta size", f"{delta_bytes} B"),
            (
                "encode full state",
                f"{enc_s * 1e3:.0f} ms  ({n / enc_s:,.0f} keys/s, {mb / enc_s:.1f} MB/s)",
            ),
            (
                "decode full state",
                f"{dec_s * 1e3:.0f} ms  ({n / dec_s:,.0f} keys/s, {mb / dec_s:.1f} MB/s)",
            ),
            ("apply single-key delta", f"{apply_us:.1f} us"),
            ("local update + apply", f"{local_us:.1f} us"),
        ]
        w = max(len(r[0]) for r in rows)
        for name, val in rows:
            print(f"  {name:<{w}}  {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
