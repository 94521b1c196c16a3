"""A replicated-table stand-in for use without a mesh node (tests, offline tools).

Same surface as mesh.table.Table for what the store and the agent use: state, replica_id,
mutate, put, delete, subscribe.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class MemoryTable:
    """A local CRDT state with mutate() and change subscriptions."""

    def __init__(self, factory: Callable[[], Any], replica_id: str = "local") -> None:
        self.state: Any = factory()
        self.replica_id = replica_id
        self._subs: list[Callable[[frozenset[Hashable]], None]] = []

    def mutate(self, fn: Callable[[Any], Any], *, now: float) -> Any:
        """Apply the delta fn(state) returns, notify subscribers, return the delta (`now`,
        the write time, only matters to a replicated table)."""
        delta = fn(self.state)
        keys = frozenset(self.state.affected_keys(delta))
        self.state.apply(delta)
        for cb in list(self._subs):
            cb(keys)
        return delta

    def put(self, key: Hashable, value: Any, *, now: float) -> Any:
        """Assign `value` to `key` of an ORMap(LWWRegister) table."""
        rid = self.replica_id
        return self.mutate(lambda s: s.update(rid, key, lambda v: v.assign(rid, value)), now=now)

    def delete(self, key: Hashable, *, now: float) -> Any:
        """Remove `key` from an ORMap table."""
        rid = self.replica_id
        return self.mutate(lambda s: s.remove(rid, key), now=now)

    def subscribe(self, cb: Callable[[frozenset[Hashable]], None]) -> Callable[[], None]:
        """Call cb(changed keys) after every change; returns an unsubscribe function."""
        self._subs.append(cb)
        return lambda: self._subs.remove(cb)
