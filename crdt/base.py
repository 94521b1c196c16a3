"""What every CRDT type has in common, and the kinds that describe types for nesting/codec.

A *kind* is a small object that describes a CRDT type: how to build an empty one, how to
encode and decode it, and (for causal types) its dot store. `ORMap` holds the kind of its
values, which is also what the codec writes as the type descriptor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Generic, Self, TypeVar

from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.errors import DecodeError
from crdt.values import Plain
from crdt.wire import Dec, Enc

S = TypeVar("S")
"""The type of a dot store's state (frozenset of dots, dict of dot to value, ...)."""


class CRDT(ABC):
    """A join-semilattice state. Mutators return deltas; only `apply` changes the receiver."""

    __slots__ = ()

    @abstractmethod
    def join(self, other: Self) -> Self:
        """The least upper bound of both states, as a new object; neither is changed."""

    @abstractmethod
    def apply(self, delta: Self) -> Self:
        """Join `delta` into this state in place; returns self. `delta` is not changed."""

    @abstractmethod
    def value(self) -> Any:
        """The plain Python value this state stands for (Any: plain data the caller reads)."""

    @abstractmethod
    def copy(self) -> Self:
        """An independent copy (shares only immutable parts)."""

    @abstractmethod
    def kind(self) -> TypeKind:
        """The kind describing this type (used by ORMap and the codec)."""

    def _same_write(self, other: Self) -> bool:
        """Quick equality for two states stored under one dot (so normally one write)."""
        return self == other

    def _check_same(self, other: object) -> None:
        if type(other) is not type(self):
            raise TypeError(f"cannot join {type(self).__name__} with {type(other).__name__}")


class TypeKind(ABC):
    """Describes one CRDT type: empty constructor, descriptor and codec of its whole state."""

    __slots__ = ()
    causal: bool = False

    @abstractmethod
    def descriptor(self) -> Plain:
        """Plain msgpack-able name of the type, nested for ORMap."""

    @abstractmethod
    def new(self) -> CRDT:
        """An empty instance."""

    @abstractmethod
    def encode_body(self, x: CRDT, enc: Enc) -> Plain:
        """Plain data for the state of `x`, an instance of this kind."""

    @abstractmethod
    def decode_body(self, raw: object, dec: Dec) -> CRDT:
        """The state from `encode_body`'s output; DecodeError on anything invalid."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypeKind) and self.descriptor() == other.descriptor()

    def __hash__(self) -> int:
        return hash(repr(self.descriptor()))

    def __repr__(self) -> str:
        return f"<kind {self.descriptor()!r}>"


class StoreKind(ABC, Generic[S]):
    """A dot store whose states are of type `S`: what a causal type keeps beside its causal
    context.

    Stores are immutable once built (joins return new objects, or an input unchanged), so
    they can be shared between replicas and deltas without copies.
    """

    __slots__ = ()
    empty: S
    """The store holding no dot (a class attribute of each store kind)."""

    @abstractmethod
    def join(self, s1: S, c1: CausalContext, s2: S, c2: CausalContext) -> S:
        """Join of (s1, c1) and (s2, c2), store part only; returns s1 itself if unchanged."""

    @abstractmethod
    def dots(self, s: S) -> Iterable[Dot]:
        """Every dot the store holds."""

    @abstractmethod
    def encode(self, s: S, enc: Enc) -> Plain: ...

    @abstractmethod
    def decode(self, raw: object, dec: Dec) -> S: ...

    @abstractmethod
    def eq(self, s1: S, s2: S) -> bool:
        """Store equality, strict about register values."""


class CausalKind(TypeKind, Generic[S]):
    """Kind of a causal type: a dot store of states `S` plus a causal context."""

    __slots__ = ()
    causal = True

    @property
    @abstractmethod
    def store(self) -> StoreKind[S]: ...

    @abstractmethod
    def wrap(self, store: S, ctx: CausalContext) -> CausalCRDT[S]:
        """An instance with this store and context (the context is taken, not copied)."""

    @abstractmethod
    def value_of(self, store: S) -> object:
        """The plain value of a store of this kind."""

    def encode_body(self, x: CRDT, enc: Enc) -> Plain:
        if not isinstance(x, CausalCRDT):
            raise TypeError(f"not a causal CRDT: {type(x).__name__}")
        own: CausalCRDT[S] = x  # an instance of this kind, so its store is an S
        c = enc.ctx(own._ctx)
        return [c, self.store.encode(own._store, enc)]

    def decode_body(self, raw: object, dec: Dec) -> CRDT:
        craw, sraw = dec.arr(raw, 2)
        ctx = dec.ctx(craw)
        store = self.store.decode(sraw, dec)
        seen: set[Dot] = set()
        for d in self.store.dots(store):
            if d in seen:
                raise DecodeError("dot held twice in a store")
            if not ctx.covers(d):
                raise DecodeError("store dot outside the causal context")
            seen.add(d)
        return self.wrap(store, ctx)


class CausalCRDT(CRDT, Generic[S]):
    """A causal CRDT: dot store `_store` (immutable) and causal context `_ctx` (owned)."""

    __slots__ = ("_ctx", "_store")

    _store: S
    _ctx: CausalContext

    @property
    def context(self) -> CausalContext:
        """A copy of the causal context."""
        return self._ctx.copy()

    @abstractmethod
    def kind(self) -> CausalKind[S]: ...

    def join(self, other: Self) -> Self:
        return self.copy().apply(other)

    def apply(self, delta: Self) -> Self:
        self._check_same(delta)
        st = self.kind().store
        self._store = st.join(self._store, self._ctx, delta._store, delta._ctx)
        self._ctx.update(delta._ctx)
        return self

    def copy(self) -> Self:
        new = self.kind().wrap(self._store, self._ctx.copy())
        assert type(new) is type(self)
        return new

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, type(self)):
            return NotImplemented
        return self._ctx == other._ctx and self.kind().store.eq(self._store, other._store)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value()!r})"
