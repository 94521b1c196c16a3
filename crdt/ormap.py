"""Observed-remove map from keys to CRDTs of one declared type, nested to any depth.

Causal value types (AWSet, MVRegister, EWFlag, ORMap) live inside the map as dot stores
sharing the map's causal context, as in the delta-CRDT paper: removing a key removes the
dots it has seen, so a concurrent update (a fresh dot) survives, and a removed key leaves no
tombstone. Non-causal value types (counters, LWW registers) are wrapped in a dot function:
each update writes a fresh dot holding the key's whole new value state and supersedes the
dots it saw; a key is present while it has dots, its value is the join of their states, and
when the last dot goes the value goes with it on every replica alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any, cast

from crdt.base import CRDT, CausalCRDT, CausalKind, StoreKind, TypeKind
from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.dotmap import IndexedDotMap, IndexedKind
from crdt.stores import DotMapStore, LatticeEntries, LatticeFunStore
from crdt.values import Key, Plain, check_key, check_replica

ValueType = type[CRDT] | Callable[[], CRDT] | CRDT | TypeKind
"""What ORMap accepts as its value type: a CRDT class, a factory, an instance, or a kind."""


def resolve_kind(value_type: object) -> TypeKind:
    """The kind of the value type given to ORMap(...)."""
    if isinstance(value_type, TypeKind):
        return value_type
    if isinstance(value_type, CRDT):
        return value_type.kind()
    if isinstance(value_type, type) and issubclass(value_type, ORMap):
        raise TypeError("nested ORMap needs its value type: ORMap(lambda: ORMap(LWWRegister))")
    if callable(value_type):
        made = value_type()
        if isinstance(made, CRDT):
            return made.kind()
    raise TypeError(f"not a CRDT type: {value_type!r}")


class ORMap(IndexedDotMap[object]):
    """Map of key -> CRDT. `update` and `remove` return deltas; `value()` is a plain dict.

    The nested stores are `object` to the map: their type depends on the value kind, known
    at run time only, and each goes back only to the store kind that made it."""

    __slots__ = ("_okind", "_vkind")

    def __init__(self, value_type: ValueType) -> None:
        vk = resolve_kind(value_type)
        self._vkind = vk
        self._okind = ORMapKind(vk)
        self._init_parts({}, CausalContext())

    @property
    def value_kind(self) -> TypeKind:
        """The kind of the values."""
        return self._vkind

    def kind(self) -> ORMapKind:
        return self._okind

    def _copy_extra(self, src: ORMap) -> None:
        self._vkind = src._vkind
        self._okind = src._okind

    def _check_same(self, other: object) -> None:
        super()._check_same(other)
        assert isinstance(other, ORMap)
        if other._vkind is not self._vkind and other._vkind != self._vkind:
            raise TypeError(f"value types differ: {self._vkind!r} vs {other._vkind!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ORMap):
            return NotImplemented
        if other._vkind is not self._vkind and other._vkind != self._vkind:
            return False
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def _empty_delta(self) -> ORMap:
        return self._okind.wrap_owned({}, CausalContext())

    # -- mutators ----------------------------------------------------------------------------
    def update(self, replica: str, key: Key, fn: Callable[[Any], CRDT]) -> ORMap:
        """Delta changing the value at `key` by `fn(current value)`, which must return a
        delta of the value type (e.g. `lambda v: v.assign(replica, 5)`). The current value
        is an empty one if the key is absent."""
        check_key(key)
        s = self._store.get(key)
        vk = self._vkind
        ck = self._okind.causal_vkind
        if ck is not None:
            st = ck.store
            view = ck.wrap(st.empty if s is None else s, self._ctx.copy())
            made = fn(view)
            if not isinstance(made, CausalCRDT) or made.kind() != vk:
                raise TypeError(f"update function must return a {vk!r} delta, got {made!r}")
            d: CausalCRDT[object] = made  # of the value kind, so its store is one of `st`
            dstore = d._store
            if type(dstore) is dict:
                dstore = dict(dstore)
            # The delta may only remove what this key held: its context is cut down to the
            # key's own dots and the new ones, whatever the function did with the view.
            dc = d._ctx
            own = chain(st.dots(s) if s is not None else (), st.dots(dstore))
            ctx = CausalContext.from_dots(x for x in own if dc.covers(x))
            return self._okind.wrap_owned({key: dstore} if dstore else {}, ctx)
        entries = cast("LatticeEntries | None", s)  # a non-causal value kind's store
        cur = self._joined(entries) if entries is not None else vk.new()
        delta = fn(cur.copy())
        if type(delta) is not type(cur):  # non-causal kinds are one per class
            raise TypeError(f"update function must return a {vk!r} delta, got {delta!r}")
        new = cur.join(delta)
        dot = self._ctx.next_dot(replica)
        seen = cast("tuple[Dot, ...]", entries[::2]) if entries is not None else ()
        ctx = CausalContext.from_dots(chain(seen, (dot,)))
        return self._okind.wrap_owned({key: (dot, new)}, ctx)

    def remove(self, replica: str, key: Key) -> ORMap:
        """Delta removing `key` as observed here; a concurrent update of it survives."""
        check_replica(replica)
        check_key(key)
        s = self._store.get(key)
        if s is None:
            return self._empty_delta()
        sd = self._okind.store.sub.dots
        return self._okind.wrap_owned({}, CausalContext.from_dots(sd(s)))

    # -- reads -----------------------------------------------------------------------------
    @staticmethod
    def _joined(s: LatticeEntries) -> CRDT:
        """The join of the states in a non-causal entry (dot, state, dot, state, ...)."""
        states = cast("tuple[CRDT, ...]", s[1::2])
        v = states[0]
        for x in states[1:]:
            v = v.join(x)
        return v

    def get(self, key: Key) -> Any:
        """The value CRDT at `key` (an independent copy), or None if absent."""
        try:
            s = self._store.get(key)
        except TypeError:
            return None
        if s is None:
            return None
        ck = self._okind.causal_vkind
        if ck is not None:
            return ck.wrap(s, self._ctx.copy())
        entries = cast(LatticeEntries, s)  # a non-causal value kind's store
        if len(entries) == 2:
            return cast(CRDT, entries[1]).copy()
        return self._joined(entries)

    def keys(self) -> set[Any]:
        """The present keys (a snapshot)."""
        return set(self._store)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._store))

    def items(self) -> Iterator[tuple[Any, Any]]:
        """(key, value CRDT) pairs, snapshot of the keys."""
        for k in list(self._store):
            yield k, self.get(k)

    def value(self) -> dict[Any, Any]:
        return self._okind.value_of(self._store)

    def affected_keys(self, delta: ORMap) -> set[Any]:
        """Keys whose value may change when `delta` is applied here (call before apply):
        the keys the delta carries and the keys whose dots its context covers."""
        self._check_same(delta)
        return self._affected(delta._store, delta._ctx)

    def __repr__(self) -> str:
        return f"ORMap[{self._vkind.descriptor()!r}]({self.value()!r})"


class ORMapKind(IndexedKind[object]):
    """Kind of ORMap with a given value kind."""

    __slots__ = ("_desc", "_store_kind", "causal_vkind", "vkind")

    def __init__(self, vkind: TypeKind) -> None:
        self.vkind = vkind
        # The one place the value store's type is forgotten (see ORMap): a causal kind's own
        # store, or a dot function of states for a non-causal kind.
        self.causal_vkind: CausalKind[object] | None = None
        """The value kind if it is causal (read on every update, cheaper than isinstance)."""
        sub: StoreKind[object]
        if isinstance(vkind, CausalKind):
            self.causal_vkind = vkind
            sub = vkind.store
        else:
            sub = cast("StoreKind[object]", LatticeFunStore(vkind))
        self._store_kind = DotMapStore(sub)
        self._desc: list[Plain] = ["ormap", vkind.descriptor()]

    @property
    def store(self) -> DotMapStore[object]:
        return self._store_kind

    def descriptor(self) -> Plain:
        return self._desc

    def new(self) -> ORMap:
        return ORMap(self.vkind)

    def wrap(self, store: dict[Key, object], ctx: CausalContext) -> ORMap:
        return self.wrap_owned(dict(store), ctx)

    def wrap_owned(self, store: dict[Key, object], ctx: CausalContext) -> ORMap:
        m = ORMap.__new__(ORMap)
        m._vkind = self.vkind
        m._okind = self
        m._init_parts(store, ctx)
        return m

    def value_of(self, store: dict[Key, object]) -> dict[Key, object]:
        ck = self.causal_vkind
        if ck is not None:
            vo = ck.value_of
            return {k: vo(s) for k, s in store.items()}
        out: dict[Key, object] = {}
        joined = ORMap._joined
        for k, s in store.items():
            e = cast(LatticeEntries, s)  # a non-causal value kind's store
            out[k] = cast(CRDT, e[1]).value() if len(e) == 2 else joined(e).value()
        return out
