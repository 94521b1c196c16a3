"""Enable-wins flag: enabling adds a dot, disabling removes the dots it has seen."""

from __future__ import annotations

from crdt.base import CausalCRDT, CausalKind, StoreKind
from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.stores import DotSet, DotSetStore
from crdt.values import Plain, check_replica


class EWFlag(CausalCRDT[DotSet]):
    """A boolean where a concurrent enable beats a disable."""

    __slots__ = ()

    _store: DotSet

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

    def kind(self) -> CausalKind[DotSet]:
        return EWFLAG


def _wrap(store: frozenset[Dot], ctx: CausalContext) -> EWFlag:
    f = EWFlag.__new__(EWFlag)
    f._store, f._ctx = store, ctx
    return f


class _EWFlagKind(CausalKind[DotSet]):
    __slots__ = ()
    _store_kind = DotSetStore()

    @property
    def store(self) -> StoreKind[DotSet]:
        return self._store_kind

    def descriptor(self) -> Plain:
        return "ewflag"

    def new(self) -> EWFlag:
        return EWFlag()

    def wrap(self, store: DotSet, ctx: CausalContext) -> EWFlag:
        return _wrap(store, ctx)

    def value_of(self, store: DotSet) -> bool:
        return bool(store)


EWFLAG = _EWFlagKind()
