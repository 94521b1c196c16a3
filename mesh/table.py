"""A named replicated CRDT container owned by a MeshNode (the user-facing face of a table),
and :class:`TableLike`, what an extension may rely on of a table."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol

from typing_extensions import TypeVar

from crdt import CRDT, ORMap
from crdt.values import check_key

__all__ = ["CRDT", "Table", "TableLike"]
# CRDT is crdt's base class, not a Protocol of our own: the mesh encodes states and deltas
# with crdt's codec, so only crdt/ types can be replicated.

S = TypeVar("S", bound=CRDT, default=CRDT)


class _Owner(Protocol):
    replica_id: str

    def local_write(self, table: Table[Any], delta: CRDT, now: float) -> None: ...


class TableLike(Protocol[S]):
    """What an extension may use of a replicated table: read its state, write deltas
    stamped with the node's clock (``ExtensionContext.now()``), hear of changes.
    :class:`Table` satisfies it; so can a local stand-in for tests."""

    @property
    def state(self) -> S: ...

    @property
    def replica_id(self) -> str: ...

    def mutate(self, fn: Callable[[S], S], *, now: float) -> S: ...

    def subscribe(self, cb: Callable[[frozenset[Hashable]], None]) -> Callable[[], None]: ...


def _map(state: CRDT) -> ORMap:
    if not isinstance(state, ORMap):
        raise TypeError(f"not a map table: {type(state).__name__}")
    return state


class Table(Generic[S]):
    """Local state of one replicated table plus subscriptions. Writes go through mutate()
    (or put/delete for ORMap(LWWRegister) tables); the owning node applies the delta and
    disseminates it; remote deltas arrive through the node and fire the same callbacks."""

    __slots__ = ("_owner", "_subs", "factory", "name", "state")

    def __init__(self, name: str, factory: Callable[[], S], owner: _Owner) -> None:
        self.name = name
        self.factory = factory
        self.state: S = factory()
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
        item: CRDT | None = _map(self.state).get(check_key(key))
        return None if item is None else item.value()

    def mutate(self, fn: Callable[[S], S], *, now: float) -> S:
        """fn(state) returns a delta (e.g. lambda s: s.add(t.replica_id, x)); it is applied
        locally, queued for dissemination (stamped with `now`, the write time) and returned."""
        delta = fn(self.state)
        self._owner.local_write(self, delta, now)
        return delta

    def put(self, key: Hashable, value: Any, *, now: float) -> CRDT:
        """Assign `value` to `key` of an ORMap(LWWRegister) table at time `now`."""
        rid = self.replica_id
        delta = _map(self.state).update(rid, check_key(key), lambda v: v.assign(rid, value))
        self._owner.local_write(self, delta, now)
        return delta

    def delete(self, key: Hashable, *, now: float) -> CRDT:
        """Remove `key` from an ORMap table at time `now`."""
        delta = _map(self.state).remove(self.replica_id, check_key(key))
        self._owner.local_write(self, delta, now)
        return delta

    def subscribe(self, cb: Callable[[frozenset[Hashable]], None]) -> Callable[[], None]:
        """Call cb(changed_keys) after every change; returns the unsubscribe function."""
        self._subs.append(cb)

        def unsubscribe() -> None:
            if cb in self._subs:
                self._subs.remove(cb)

        return unsubscribe

    def notify(self, keys: frozenset[Hashable]) -> None:
        """Run the subscriptions (the owning node calls this after a change is applied)."""
        for cb in list(self._subs):
            cb(keys)
