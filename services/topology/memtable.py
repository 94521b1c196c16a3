"""A replicated-table stand-in for use without a mesh node (tests, offline tools).

Same surface as mesh.table.Table for what the store and the agent use: state, replica_id,
mutate, put, delete, subscribe.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from crdt import CRDT, LWWRegister, ORMap
from crdt.values import check_key


class MemoryTable:
    """A local ORMap state (the topology and learned-state tables are maps) with mutate()
    and change subscriptions; satisfies mesh.table.TableLike."""

    def __init__(self, factory: Callable[[], ORMap], replica_id: str = "local") -> None:
        self.state: ORMap = factory()
        self.replica_id = replica_id
        self._subs: list[Callable[[frozenset[Hashable]], None]] = []

    def mutate(self, fn: Callable[[CRDT], CRDT], *, now: float) -> CRDT:
        """Apply the delta fn(state) returns, notify subscribers, return the delta (`now`,
        the write time, only matters to a replicated table)."""
        delta = fn(self.state)
        if not isinstance(delta, ORMap):
            raise TypeError(f"a map table's delta is a map, not {type(delta).__name__}")
        keys = frozenset(self.state.affected_keys(delta))
        self.state.apply(delta)
        for cb in list(self._subs):
            cb(keys)
        return delta

    def put(self, key: Hashable, value: object, *, now: float) -> CRDT:
        """Assign `value` to `key` of an ORMap(LWWRegister) table."""
        rid = self.replica_id

        def assign(reg: CRDT) -> CRDT:
            if not isinstance(reg, LWWRegister):
                raise TypeError(f"not a register table: {type(reg).__name__}")
            return reg.assign(rid, value)

        return self.mutate(lambda s: self.state.update(rid, check_key(key), assign), now=now)

    def delete(self, key: Hashable, *, now: float) -> CRDT:
        """Remove `key` from an ORMap table."""
        rid = self.replica_id
        return self.mutate(lambda s: self.state.remove(rid, check_key(key)), now=now)

    def subscribe(self, cb: Callable[[frozenset[Hashable]], None]) -> Callable[[], None]:
        """Call cb(changed keys) after every change; returns an unsubscribe function."""
        self._subs.append(cb)
        return lambda: self._subs.remove(cb)
