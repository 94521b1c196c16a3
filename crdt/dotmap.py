"""Base of AWSet and ORMap: a top-level DotMap with an index from dot to key.

The index lets `apply` find the keys a delta's context removes without scanning the whole
map: a single-key delta touches only its own key and the keys owning the dots it covers.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Self

from crdt.base import CRDT, CausalCRDT, CausalKind, S
from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.errors import DecodeError
from crdt.stores import DotMapStore
from crdt.values import Key
from crdt.wire import Dec


class IndexedKind(CausalKind[dict[Key, S]]):
    """Kind of an indexed map type whose keys hold nested stores of type `S`; `wrap` copies
    the (top-level) store dict it is given."""

    __slots__ = ()

    @property
    @abstractmethod
    def store(self) -> DotMapStore[S]: ...

    @abstractmethod
    def wrap_owned(self, store: dict[Key, S], ctx: CausalContext) -> IndexedDotMap[S]:
        """An instance owning `store` (not copied)."""

    def decode_body(self, raw: object, dec: Dec) -> CRDT:
        craw, sraw = dec.arr(raw, 2)
        ctx = dec.ctx(craw)
        m = self.wrap_owned(self.store.decode(sraw, dec), ctx)
        covers = ctx.covers
        n = 0
        for d in m._index:
            if not covers(d):
                raise DecodeError("store dot outside the causal context")
        sd = self.store.sub.dots
        for s in m._store.values():
            for _ in sd(s):
                n += 1
        if n != len(m._index):
            raise DecodeError("dot held twice in a store")
        return m


class IndexedDotMap(CausalCRDT[dict[Key, S]]):
    """`_store` is an owned dict (mutated by apply) of immutable nested stores of type `S`."""

    __slots__ = ("_index",)

    _store: dict[Key, S]
    _index: dict[Dot, Key]

    @abstractmethod
    def kind(self) -> IndexedKind[S]: ...

    def _init_parts(self, store: dict[Key, S], ctx: CausalContext) -> None:
        self._store = store
        self._ctx = ctx
        sd = self.kind().store.sub.dots
        self._index = {d: k for k, s in store.items() for d in sd(s)}

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._store
        except TypeError:
            return False

    def _covered(self, dstore: dict[Key, S], dctx: CausalContext) -> set[Key]:
        """Keys the delta does not carry but whose dots its context covers (removals)."""
        keys: set[Key] = set()
        index = self._index
        if not index or dctx.is_empty():
            return keys
        if dctx.dot_count() <= len(index):
            get = index.get
            for d in dctx.dots():
                k = get(d)
                if k is not None and k not in dstore:
                    keys.add(k)
        else:
            covers = dctx.covers
            for d, k in index.items():
                if covers(d) and k not in dstore:
                    keys.add(k)
        return keys

    def _affected(self, dstore: dict[Key, S], dctx: CausalContext) -> set[Key]:
        keys = self._covered(dstore, dctx)
        keys.update(dstore)
        return keys

    def _apply_parts(self, dstore: dict[Key, S], dctx: CausalContext) -> None:
        sub = self.kind().store.sub
        sj, sd, empty = sub.join, sub.dots, sub.empty
        store, ctx, index = self._store, self._ctx, self._index
        removed = self._covered(dstore, dctx)  # before the index changes below
        get = store.get
        for k, s2 in dstore.items():
            s1 = get(k)
            if s1 is None:
                n = sj(empty, ctx, s2, dctx)
                if n:
                    store[k] = n
                    for d in sd(n):
                        index[d] = k
                continue
            n = sj(s1, ctx, s2, dctx)
            if n is s1:
                continue
            for d in sd(s1):
                del index[d]
            if n:
                store[k] = n
                for d in sd(n):
                    index[d] = k
            else:
                del store[k]
        for k in removed:
            s1 = store[k]
            n = sj(s1, ctx, empty, dctx)
            if n is s1:
                continue
            for d in sd(s1):
                del index[d]
            if n:
                store[k] = n
                for d in sd(n):
                    index[d] = k
            else:
                del store[k]
        ctx.update(dctx)

    def apply(self, delta: Self) -> Self:
        self._check_same(delta)
        self._apply_parts(delta._store, delta._ctx)
        return self

    def copy(self) -> Self:
        new = object.__new__(type(self))
        new._copy_extra(self)
        new._store = dict(self._store)
        new._ctx = self._ctx.copy()
        new._index = dict(self._index)
        return new

    def _copy_extra(self, src: Self) -> None:
        """Copy subclass fields (ORMap's value kind)."""
