"""A replica simulator for property tests, with a causal model of what each operation saw.

Replicas perform operations (each returns a delta the replica then applies to itself),
receive single deltas, delta groups or whole states, in any order, with duplicates. Beside
the CRDT states the simulator keeps, per element path, which operations each replica has
(transitively) seen. At quiescence that gives the expected value independently of the
dots: an element is present iff some add of it was seen by no remove covering it, and its
value comes from the "frontier", the adds seen by no other operation on it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import crdt
from crdt import CRDT, HLC, ORMap

Path = tuple[Any, ...]


@dataclass
class Op:
    id: int
    replica: int
    path: Path
    remove: bool
    delta: Any  # the type under test (Any: cases reach into ORMap deltas)
    past: dict[Path, set[int]]
    payload: Any = None
    encoded: bytes = b""

    def knowledge(self) -> dict[Path, set[int]]:
        out = {p: ids | {self.id} for p, ids in self.past.items()}
        if not self.remove:
            out.setdefault(self.path, set()).add(self.id)
        return out


@dataclass
class OpResult:
    """What an operation function returns: the delta and its model description."""

    delta: CRDT
    path: Path
    remove: bool = False
    payload: Any = None
    check: Callable[[Any], bool] | None = None
    """What must hold of the origin's state once it applied the delta (local effect)."""


OpFn = Callable[[Any, str, int, int, HLC], OpResult]


@dataclass
class Sim:
    new: Callable[[], CRDT]
    op_fn: OpFn
    n: int = 3
    states: list[CRDT] = field(default_factory=list)
    past: list[dict[Path, set[int]]] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    clocks: list[HLC] = field(default_factory=list)
    snapshots: list[tuple[CRDT, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.states = [self.new() for _ in range(self.n)]
        self.past = [{} for _ in range(self.n)]
        # Skewed physical clocks: one far ahead, one far behind, one ticking.
        ticks = iter(range(10**6, 10**9))
        sources: list[Callable[[], int]] = [lambda: 5_000, lambda: 10, lambda: next(ticks)]
        self.clocks = [HLC(clock=sources[i % 3]) for i in range(self.n)]
        self.snapshot(0)

    def name(self, i: int) -> str:
        return f"r{i}"

    def _learn(self, i: int, know: dict[Path, set[int]]) -> None:
        mine = self.past[i]
        for p, ids in know.items():
            mine.setdefault(p, set()).update(ids)

    def _apply(self, i: int, delta: CRDT) -> None:
        """Apply to replica i; for maps, check affected_keys covers every key that changed."""
        st = self.states[i]
        if not isinstance(st, ORMap):
            st.apply(delta)
            return
        assert isinstance(delta, ORMap)
        before = st.value()
        affected = st.affected_keys(delta)
        st.apply(delta)
        after = st.value()
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert changed <= affected, (changed, affected)

    def snapshot(self, i: int) -> None:
        c = self.states[i].copy()
        self.snapshots.append((c, crdt.encode(c)))

    def do(self, i: int, c: int, a: int) -> None:
        st = self.states[i]
        before = crdt.encode(st)
        clone = crdt.decode(before)
        res = self.op_fn(st, self.name(i), c, a, self.clocks[i])
        assert crdt.encode(st) == before, "mutator changed its receiver"
        if res.remove:
            n = len(res.path)
            past = {p: set(ids) for p, ids in self.past[i].items() if p[:n] == res.path}
        else:
            past = {res.path: set(self.past[i].get(res.path, ()))}
        op = Op(len(self.ops), i, res.path, res.remove, res.delta, past, res.payload)
        op.encoded = crdt.encode(res.delta)
        self.ops.append(op)
        st.apply(res.delta)
        if res.check is not None:
            assert res.check(st), f"local effect missing after {res!r}"
        self._learn(i, op.knowledge())
        # The delta does to a copy of the origin what it does to the origin.
        assert clone.apply(res.delta) == st
        self.snapshot(i)

    def deliver(self, i: int, j: int) -> None:
        if not self.ops:
            return
        op = self.ops[j % len(self.ops)]
        self._apply(i, op.delta)
        self._learn(i, op.knowledge())
        self.snapshot(i)

    def deliver_group(self, i: int, j: int, size: int = 3) -> None:
        if not self.ops:
            return
        chosen = [self.ops[(j + k) % len(self.ops)] for k in range(size)]
        group = chosen[0].delta.copy()
        for op in chosen[1:]:
            group = group.join(op.delta)
        self._apply(i, group)
        for op in chosen:
            self._learn(i, op.knowledge())
        self.snapshot(i)

    def sync(self, i: int, j: int) -> None:
        if i == j:
            return
        self._apply(i, self.states[j])
        self._learn(i, self.past[j])
        self.snapshot(i)

    def run(self, steps: list[tuple[int, int, int, int, int]]) -> None:
        for kind, i, j, c, a in steps:
            i %= self.n
            if kind <= 3:
                self.do(i, c, a)
            elif kind == 4:
                self.deliver(i, j)
            elif kind == 5:
                self.deliver_group(i, j)
            else:
                self.sync(i, j % self.n)

    def quiesce(self, rng: random.Random) -> None:
        """Every replica receives every delta, shuffled, a third of them twice."""
        for i in range(self.n):
            inbox = list(self.ops) + rng.sample(self.ops, k=len(self.ops) // 3)
            rng.shuffle(inbox)
            for op in inbox:
                self._apply(i, op.delta)
                self._learn(i, op.knowledge())

    def reference(self) -> CRDT:
        """The join of every delta into an empty state (what everyone must reach)."""
        ref = self.new()
        for op in self.ops:
            ref = ref.join(op.delta)
        return ref

    # -- the model ------------------------------------------------------------------------
    def leaf_paths(self) -> set[Path]:
        return {op.path for op in self.ops if not op.remove}

    def touching(self, p: Path) -> list[Op]:
        return [o for o in self.ops if (o.path == p) or (o.remove and p[: len(o.path)] == o.path)]

    def present(self, p: Path) -> bool:
        adds = [o for o in self.ops if o.path == p and not o.remove]
        removes = [o for o in self.touching(p) if o.remove]
        return any(all(a.id not in r.past.get(p, ()) for r in removes) for a in adds)

    def frontier(self, p: Path) -> list[Op]:
        others = self.touching(p)
        return [
            a
            for a in others
            if not a.remove
            and a.path == p
            and all(a.id not in o.past.get(p, ()) for o in others if o is not a)
        ]

    def model_paths(self) -> dict[Path, list[Op]]:
        """Present leaf paths and their frontier; checks the two definitions agree."""
        out = {}
        for p in self.leaf_paths():
            f = self.frontier(p)
            assert self.present(p) == bool(f), f"model inconsistent at {p!r}"
            if f:
                out[p] = f
        return out
