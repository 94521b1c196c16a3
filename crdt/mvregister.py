"""Multi-value register: keeps every concurrently written value until a later write."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from crdt.base import CausalCRDT, CausalKind, StoreKind
from crdt.context import CausalContext
from crdt.stores import DotFun, DotFunStore
from crdt.values import Plain, canon_value, freeze, packed


class MVRegister(CausalCRDT[DotFun]):
    """Register whose value is the frozenset of concurrent writes (lists/dicts frozen to
    tuples); `values()` gives them as plain data."""

    __slots__ = ()

    _store: DotFun

    def __init__(self) -> None:
        self._store = {}
        self._ctx = CausalContext()

    def assign(self, replica: str, value: object) -> MVRegister:
        """Delta writing `value`, superseding every value seen."""
        v = canon_value(value)
        d = self._ctx.next_dot(replica)
        return _wrap({d: v}, CausalContext.from_dots([*self._store, d]))

    def value(self) -> frozenset[Hashable]:
        return frozenset(freeze(v) for v in self._store.values())

    def values(self) -> list[Any]:
        """The concurrent values as plain data, ordered by their encoding."""
        return sorted(self._store.values(), key=packed)

    def kind(self) -> CausalKind[DotFun]:
        return MVREGISTER


def _wrap(store: DotFun, ctx: CausalContext) -> MVRegister:
    r = MVRegister.__new__(MVRegister)
    r._store, r._ctx = store, ctx
    return r


class _MVKind(CausalKind[DotFun]):
    __slots__ = ()
    _store_kind = DotFunStore()

    @property
    def store(self) -> StoreKind[DotFun]:
        return self._store_kind

    def descriptor(self) -> Plain:
        return "mvregister"

    def new(self) -> MVRegister:
        return MVRegister()

    def wrap(self, store: DotFun, ctx: CausalContext) -> MVRegister:
        return _wrap(store, ctx)

    def value_of(self, store: DotFun) -> frozenset[Hashable]:
        return frozenset(freeze(v) for v in store.values())


MVREGISTER = _MVKind()
