"""Add-wins observed-remove set: each element keeps the dots of the adds not yet removed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crdt.context import CausalContext
from crdt.dotmap import IndexedDotMap, IndexedKind
from crdt.stores import DotMapStore, DotSet, DotSetStore
from crdt.values import Key, Plain, check_key, check_replica


class AWSet(IndexedDotMap[DotSet]):
    """Set where an add concurrent with a remove of the same element wins."""

    __slots__ = ()

    _store: dict[Key, DotSet]

    def __init__(self) -> None:
        self._init_parts({}, CausalContext())

    def add(self, replica: str, element: Key) -> AWSet:
        """Delta adding `element` (str, int, bytes or a tuple of those)."""
        check_key(element)
        d = self._ctx.next_dot(replica)
        old = self._store.get(element, ())
        return _wrap({element: frozenset((d,))}, CausalContext.from_dots([*old, d]))

    def remove(self, replica: str, element: Key) -> AWSet:
        """Delta removing `element` as observed here; concurrent adds survive."""
        check_replica(replica)
        check_key(element)
        old = self._store.get(element)
        return _wrap({}, CausalContext.from_dots(old or ()))

    def value(self) -> set[Any]:
        return set(self._store)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._store))

    def kind(self) -> IndexedKind[DotSet]:
        return AWSET


def _wrap(store: dict[Key, DotSet], ctx: CausalContext) -> AWSet:
    s = AWSet.__new__(AWSet)
    s._init_parts(store, ctx)
    return s


class _AWSetKind(IndexedKind[DotSet]):
    __slots__ = ()
    _store_kind = DotMapStore(DotSetStore())

    @property
    def store(self) -> DotMapStore[DotSet]:
        return self._store_kind

    def descriptor(self) -> Plain:
        return "awset"

    def new(self) -> AWSet:
        return AWSet()

    def wrap(self, store: dict[Key, DotSet], ctx: CausalContext) -> AWSet:
        return _wrap(dict(store), ctx)

    def wrap_owned(self, store: dict[Key, DotSet], ctx: CausalContext) -> AWSet:
        return _wrap(store, ctx)

    def value_of(self, store: dict[Key, DotSet]) -> set[Key]:
        return set(store)


AWSET = _AWSetKind()
