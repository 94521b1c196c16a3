"""A named replicated CRDT container owned by a MeshNode (the user-facing face of a table)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Protocol

CRDT = Any
"""Any crdt/ type: has value(), join(), apply(), and mutators returning deltas."""


class _Owner(Protocol):
    replica_id: str

    def local_write(self, table: Table, delta: CRDT, now: float) -> None: ...


class Table:
    """Local state of one replicated table plus subscriptions. Writes go through mutate()
    (or put/delete for ORMap(LWWRegister) tables); the owning node applies the delta and
    disseminates it; remote deltas arrive through the node and fire the same callbacks."""

    __slots__ = ("_owner", "_subs", "factory", "name", "state")

    def __init__(self, name: str, factory: Callable[[], CRDT], owner: _Owner) -> None:
        self.name = name
        self.factory = factory
        self.state: CRDT = factory()
        self._owner = owner
        self._subs: list[Callable[[frozenset[Hashable]], None]] = []

    @property
    def replica_id(self) -> str:
        """The replica id this node writes with (unique per process lifetime)."""
        return self._owner.replica_id

    def get(self, key: Hashable | None = None) -> Any:
        """value() of the whole table, or of one map key (None if absent)."""
        if key is None:
            return self.state.value()
        item = self.state.get(key)
        return None if item is None else item.value()

    def mutate(self, fn: Callable[[CRDT], CRDT], *, now: float) -> CRDT:
        """fn(state) returns a delta (e.g. lambda s: s.add(t.replica_id, x)); it is applied
        locally, queued for dissemination (stamped with `now`, the write time) and returned."""
        delta = fn(self.state)
        self._owner.local_write(self, delta, now)
        return delta

    def put(self, key: Hashable, value: Any, *, now: float) -> CRDT:
        """Assign `value` to `key` of an ORMap(LWWRegister) table at time `now`."""
        rid = self.replica_id
        return self.mutate(lambda s: s.update(rid, key, lambda v: v.assign(rid, value)), now=now)

    def delete(self, key: Hashable, *, now: float) -> CRDT:
        """Remove `key` from an ORMap table at time `now`."""
        rid = self.replica_id
        return self.mutate(lambda s: s.remove(rid, key), now=now)

    def subscribe(self, cb: Callable[[frozenset[Hashable]], None]) -> Callable[[], None]:
        """Call cb(changed_keys) after every change; returns the unsubscribe function."""
        self._subs.append(cb)

        def unsubscribe() -> None:
            if cb in self._subs:
                self._subs.remove(cb)

        return unsubscribe

    def _notify(self, keys: frozenset[Hashable]) -> None:
        for cb in list(self._subs):
            cb(keys)
