"""Enable-wins flag: enabling adds a dot, disabling removes the dots it has seen."""

from __future__ import annotations

from typing import Any

from crdt.base import CausalCRDT, CausalKind, StoreKind
from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.stores import DotSetStore
from crdt.values import check_replica


class EWFlag(CausalCRDT):
    """A boolean where a concurrent enable beats a disable."""

    __slots__ = ()

    _store: frozenset[Dot]

    def __init__(self) -> None:
        self._store = frozenset()
        self._ctx = CausalContext()

    def enable(self, replica: str) -> EWFlag:
        """Delta setting the flag: a fresh dot, superseding the dots seen."""
        d = self._ctx.next_dot(replica)
        return _wrap(frozenset((d,)), CausalContext.from_dots([*self._store, d]))

    def disable(self, replica: str) -> EWFlag:
        """Delta clearing the flag: removes the dots seen, concurrent enables survive."""
        check_replica(replica)
        return _wrap(frozenset(), CausalContext.from_dots(self._store))

    def value(self) -> bool:
        return bool(self._store)

    def kind(self) -> CausalKind:
        return EWFLAG


def _wrap(store: frozenset[Dot], ctx: CausalContext) -> EWFlag:
    f = EWFlag.__new__(EWFlag)
    f._store, f._ctx = store, ctx
    return f


class _EWFlagKind(CausalKind):
    __slots__ = ()
    _store_kind = DotSetStore()

    @property
    def store(self) -> StoreKind:
        return self._store_kind

    def descriptor(self) -> Any:
        return "ewflag"

    def new(self) -> EWFlag:
        return EWFlag()

    def wrap(self, store: Any, ctx: CausalContext) -> EWFlag:
        return _wrap(store, ctx)

    def value_of(self, store: Any) -> Any:
        return bool(store)


EWFLAG = _EWFlagKind()
