"""Three replicas of an ORMap(LWWRegister) and an AWSet edit concurrently, then exchange
their deltas in a shuffled order with duplicates. Exits 0 only if all three converge.

Each replica has its own hybrid logical clock over a simulated physical clock, and gamma's
runs an hour behind: its write after seeing alpha's still wins (the HLC carries causality),
while between concurrent writes the later stamp wins, ties going to the greater replica id.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

import crdt
from crdt import HLC, AWSet, LWWRegister, ORMap

REPLICAS = ("alpha", "beta", "gamma")
NOW_MS = 1_800_000_000_000
CLOCKS = {
    "alpha": HLC(clock=lambda: NOW_MS),
    "beta": HLC(clock=lambda: NOW_MS),
    "gamma": HLC(clock=lambda: NOW_MS - 3_600_000),  # an hour behind
}


def _assign(replica: str, value: object) -> Callable[[LWWRegister], LWWRegister]:
    return lambda v: v.assign(replica, value, hlc=CLOCKS[replica])


def main(seed: int = 7) -> int:
    rng = random.Random(seed)
    maps = {r: ORMap(LWWRegister) for r in REPLICAS}
    sets = {r: AWSet() for r in REPLICAS}
    log: list[tuple[str, ORMap | AWSet]] = []

    def edit_map(r: str, delta: ORMap) -> None:
        maps[r].apply(delta)
        log.append((r, delta))

    def edit_set(r: str, delta: AWSet) -> None:
        sets[r].apply(delta)
        log.append((r, delta))

    # A shared starting point everyone has seen.
    for r in REPLICAS:
        edit_map(r, maps[r].update(r, f"owner-{r}", _assign(r, r)))
        edit_set(r, sets[r].add(r, "common"))
    for _sender, delta in list(log):
        for r in REPLICAS:
            target = maps[r] if isinstance(delta, ORMap) else sets[r]
            target.apply(delta)  # type: ignore[arg-type]
    log.clear()

    # Concurrent edits: the same key written on two replicas, a key removed on one while
    # updated on another, an element removed on one while re-added on another.
    edit_map("alpha", maps["alpha"].update("alpha", "mtu", _assign("alpha", 1500)))
    edit_map("beta", maps["beta"].update("beta", "mtu", _assign("beta", 9000)))
    edit_map("gamma", maps["gamma"].remove("gamma", "owner-alpha"))
    edit_map("alpha", maps["alpha"].update("alpha", "owner-alpha", _assign("alpha", "A")))
    edit_map("gamma", maps["gamma"].update("gamma", "owner-beta", _assign("gamma", "G")))
    edit_set("beta", sets["beta"].remove("beta", "common"))
    edit_set("gamma", sets["gamma"].add("gamma", "common"))
    edit_set("alpha", sets["alpha"].add("alpha", ("port", 7)))

    # Every replica receives every delta, shuffled, some twice.
    for r in REPLICAS:
        inbox = [d for sender, d in log if sender != r]
        inbox += rng.sample(inbox, k=len(inbox) // 2)
        rng.shuffle(inbox)
        for d in inbox:
            if isinstance(d, ORMap):
                maps[r].apply(d)
            else:
                sets[r].apply(d)

    for r in REPLICAS:
        kv = dict(sorted(maps[r].value().items()))
        print(f"{r:>6}: map={kv} set={sorted(map(str, sets[r].value()))}")
    same_map = len({crdt.encode(m) for m in maps.values()}) == 1
    same_set = len({crdt.encode(s) for s in sets.values()}) == 1
    ok = same_map and same_set
    print("converged" if ok else "DIVERGED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
