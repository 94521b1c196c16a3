"""The dot stores of the delta-CRDT paper: DotSet, DotFun (of raw values or of lattice
states) and DotMap (keys to nested stores), each with its join under causal contexts.

join((s1, c1), (s2, c2)) keeps what both stores hold, plus what either holds that the other
has not seen; what one side has seen but no longer holds was removed and stays removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain
from typing import Final, TypeAlias, cast

from crdt.base import CRDT, S, StoreKind, TypeKind
from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.errors import DecodeError
from crdt.values import Key, Plain, key_order, key_plain, packed, strict_eq
from crdt.wire import Dec, Enc

_MISSING: Final = object()
new_dot: Callable[[tuple[str, int]], Dot] = partial(tuple.__new__, Dot)
"""Dot((replica, counter)) without NamedTuple's Python-level constructor (hot decode paths)."""

DotSet: TypeAlias = frozenset[Dot]
"""The state of a DotSetStore."""
DotFun: TypeAlias = dict[Dot, object]
"""The state of a DotFunStore: dot -> canonical register value."""
LatticeEntries: TypeAlias = tuple[Dot | CRDT, ...]
"""The state of a LatticeFunStore: (dot, state, dot, state, ...), sorted by dot."""


class DotSetStore(StoreKind[DotSet]):
    """frozenset[Dot]: the store of EWFlag and of each AWSet element."""

    __slots__ = ()
    empty: DotSet = frozenset()

    def join(self, s1: DotSet, c1: CausalContext, s2: DotSet, c2: CausalContext) -> DotSet:
        if s1 is s2 or s1 == s2:
            return s1
        covers1, covers2 = c1.covers, c2.covers
        out = {d for d in s1 if d in s2 or not covers2(d)}
        out.update(d for d in s2 if not covers1(d))
        if len(out) == len(s1) and out.issuperset(s1):
            return s1
        return frozenset(out)

    def dots(self, s: DotSet) -> Iterable[Dot]:
        return s

    def encode(self, s: DotSet, enc: Enc) -> Plain:
        return enc.dots(s)

    def decode(self, raw: object, dec: Dec) -> DotSet:
        return frozenset(dec.dots(raw))

    def eq(self, s1: DotSet, s2: DotSet) -> bool:
        return s1 == s2


class DotFunStore(StoreKind[DotFun]):
    """dict[Dot, register value], never mutated once built: the store of MVRegister."""

    __slots__ = ()
    empty: DotFun = {}

    def same(self, v1: object, v2: object) -> bool:
        return strict_eq(v1, v2)

    def merge(self, v1: object, v2: object) -> object:
        # One dot is one write, so this only happens for forged states; any fixed
        # choice keeps join a lattice: the value with the greater encoding wins.
        return v1 if packed(v1) >= packed(v2) else v2

    def join(self, s1: DotFun, c1: CausalContext, s2: DotFun, c2: CausalContext) -> DotFun:
        if s1 is s2:
            return s1
        out: DotFun | None = None
        if s1:
            covers2 = c2.covers
            for d in s1:
                if d not in s2 and covers2(d):
                    if out is None:
                        out = dict(s1)
                    del out[d]
        covers1 = c1.covers
        for d, v2 in s2.items():
            v1 = s1.get(d, _MISSING)
            if v1 is _MISSING:
                if not covers1(d):
                    if out is None:
                        out = dict(s1)
                    out[d] = v2
            elif v1 is not v2 and not self.same(v1, v2):
                if out is None:
                    out = dict(s1)
                out[d] = self.merge(v1, v2)
        return s1 if out is None else out

    def dots(self, s: DotFun) -> Iterable[Dot]:
        return s

    def eq(self, s1: DotFun, s2: DotFun) -> bool:
        if s1 is s2:
            return True
        if len(s1) != len(s2):
            return False
        for d, v1 in s1.items():
            v2 = s2.get(d, _MISSING)
            if v2 is _MISSING or not self.same(v1, v2):
                return False
        return True

    def encode(self, s: DotFun, enc: Enc) -> Plain:
        out: list[Plain] = []
        for d in sorted(s):
            out.append(enc.r(d[0]))
            out.append(d[1])
            out.append(s[d])
        return out

    def decode(self, raw: object, dec: Dec) -> DotFun:
        items = dec.arr(raw)
        if len(items) % 3:
            raise DecodeError("bad dot-function length")
        out: DotFun = {}
        for i in range(0, len(items), 3):
            d = Dot(dec.r(items[i]), dec.counter(items[i + 1]))
            if d in out:
                raise DecodeError("duplicate dot")
            out[d] = dec.value(items[i + 2])
        return out


def _flat(m: dict[Dot, CRDT]) -> LatticeEntries:
    out: list[Dot | CRDT] = []
    for d in sorted(m):
        out.append(d)
        out.append(m[d])
    return tuple(out)


def entry_pairs(s: LatticeEntries) -> dict[Dot, CRDT]:
    """The (dot -> state) pairs of a lattice store as a dict, in the store's dot order."""
    dots = cast("tuple[Dot, ...]", s[::2])
    states = cast("tuple[CRDT, ...]", s[1::2])
    return dict(zip(dots, states, strict=True))


class LatticeFunStore(StoreKind[LatticeEntries]):
    """Dot -> CRDT state, as a flat tuple (dot, state, dot, state, ...) sorted by dot (a
    one-entry dict would cost four times the memory). Wraps a non-causal type (counter, LWW
    register) as a map value.

    Each update writes a fresh dot holding the key's whole new value state and supersedes
    the dots it saw; concurrent updates leave several dots, whose states are joined on read.
    A key whose dots are all removed is gone, its value with it, identically everywhere.
    """

    __slots__ = ("vkind",)
    empty: LatticeEntries = ()

    def __init__(self, vkind: TypeKind) -> None:
        self.vkind = vkind

    def join(
        self, s1: LatticeEntries, c1: CausalContext, s2: LatticeEntries, c2: CausalContext
    ) -> LatticeEntries:
        if s1 is s2:
            return s1
        if len(s1) == 2 and len(s2) == 2:  # fast path: one dot on each side
            d1, v1 = cast("tuple[Dot, CRDT]", s1)
            d2, v2 = cast("tuple[Dot, CRDT]", s2)
            if d1 == d2:
                if v1 is v2 or v1._same_write(v2):
                    return s1
                return (d1, v1.join(v2))
            if c2.covers(d1) and not c1.covers(d2):
                return s2  # the usual update: a new dot superseding the one seen
        m1 = entry_pairs(s1)
        m2 = entry_pairs(s2)
        changed = False
        for d in list(m1):
            if d not in m2 and c2.covers(d):
                del m1[d]
                changed = True
        for d, v2 in m2.items():
            w1 = m1.get(d)  # states are CRDT objects, never None
            if w1 is None:
                if not c1.covers(d):
                    m1[d] = v2
                    changed = True
            elif w1 is not v2 and not w1._same_write(v2):
                m1[d] = w1.join(v2)
                changed = True
        return _flat(m1) if changed else s1

    def dots(self, s: LatticeEntries) -> Iterable[Dot]:
        return cast("tuple[Dot, ...]", s[::2])

    def eq(self, s1: LatticeEntries, s2: LatticeEntries) -> bool:
        if s1 is s2:
            return True
        if len(s1) != len(s2):
            return False
        return all(s1[i] == s2[i] and s1[i + 1] == s2[i + 1] for i in range(0, len(s1), 2))

    def encode(self, s: LatticeEntries, enc: Enc) -> Plain:
        out: list[Plain] = []
        body = self.vkind.encode_body
        r = enc.r
        for d, v in entry_pairs(s).items():
            out.append(r(d[0]))
            out.append(d[1])
            out.append(body(v, enc))
        return out

    def decode(self, raw: object, dec: Dec) -> LatticeEntries:
        if type(raw) is not list or len(raw) % 3:
            raise DecodeError("bad dot-function")
        items: list[object] = raw
        body = self.vkind.decode_body
        table = dec.table
        nt = len(table)
        if len(items) == 3:
            ri, c = items[0], items[1]
            if type(ri) is not int or not 0 <= ri < nt or type(c) is not int or c < 1:
                raise DecodeError("bad dot")
            return (Dot(table[ri], c), body(items[2], dec))
        out: dict[Dot, CRDT] = {}
        for i in range(0, len(items), 3):
            ri, c = items[i], items[i + 1]
            if type(ri) is not int or not 0 <= ri < nt or type(c) is not int or c < 1:
                raise DecodeError("bad dot")
            d = Dot(table[ri], c)
            if d in out:
                raise DecodeError("duplicate dot")
            out[d] = body(items[i + 2], dec)
        return _flat(out)


class DotMapStore(StoreKind[dict[Key, S]]):
    """dict[key, nested store of type S], never mutated once built; empty nested stores are
    absent."""

    __slots__ = ("sub",)
    empty: dict[Key, S] = {}

    def __init__(self, sub: StoreKind[S]) -> None:
        self.sub = sub

    def join(
        self, s1: dict[Key, S], c1: CausalContext, s2: dict[Key, S], c2: CausalContext
    ) -> dict[Key, S]:
        if s1 is s2:
            return s1
        sub = self.sub
        sj = sub.join
        empty = sub.empty
        out: dict[Key, S] | None = None
        for k, v2 in s2.items():
            v1 = s1.get(k)
            n = sj(empty if v1 is None else v1, c1, v2, c2)
            if n is not v1:
                if out is None:
                    out = dict(s1)
                if n:
                    out[k] = n
                else:
                    out.pop(k, None)
        for k, v1 in s1.items():
            if k in s2:
                continue
            n = sj(v1, c1, empty, c2)
            if n is not v1:
                if out is None:
                    out = dict(s1)
                if n:
                    out[k] = n
                else:
                    del out[k]
        return s1 if out is None else out

    def dots(self, s: dict[Key, S]) -> Iterator[Dot]:
        sd = self.sub.dots
        return chain.from_iterable(sd(v) for v in s.values())

    def encode(self, s: dict[Key, S], enc: Enc) -> Plain:
        out: list[Plain] = []
        sub = self.sub
        se = sub.encode
        single = sub.vkind.encode_body if isinstance(sub, LatticeFunStore) else None
        r = enc.r
        for k in sorted(s, key=key_order):
            out.append(k if type(k) is str else key_plain(k))
            e = s[k]
            if single is not None:
                entries = cast(LatticeEntries, e)  # sub is a LatticeFunStore: S is its entries
                if len(entries) == 2:  # fast path: one (dot, state) entry
                    d, v = cast("tuple[Dot, CRDT]", entries)
                    out.append([r(d[0]), d[1], single(v, enc)])
                    continue
            out.append(se(e, enc))
        return out

    def decode(self, raw: object, dec: Dec) -> dict[Key, S]:
        items = dec.arr(raw)
        if len(items) % 2:
            raise DecodeError("bad map length")
        out: dict[Key, S] = {}
        sub = self.sub
        sd = sub.decode
        dk = dec.key
        single = sub.vkind.decode_body if isinstance(sub, LatticeFunStore) else None
        table = dec.table
        nt = len(table)
        for i in range(0, len(items), 2):
            raw_k = items[i]
            k: Key = raw_k if type(raw_k) is str else dk(raw_k)
            if k in out:
                raise DecodeError("duplicate key")
            e = items[i + 1]
            if single is not None and type(e) is list and len(e) == 3:  # one (dot, state)
                ri, c, b = cast("list[object]", e)
                if type(ri) is not int or not 0 <= ri < nt or type(c) is not int or c < 1:
                    raise DecodeError("bad dot")
                one: LatticeEntries = (new_dot((table[ri], c)), single(b, dec))
                out[k] = cast(S, one)  # sub is a LatticeFunStore: S is its entries
                continue
            v = sd(e, dec)
            if not v:
                raise DecodeError("empty entry")
            out[k] = v
        return out

    def eq(self, s1: dict[Key, S], s2: dict[Key, S]) -> bool:
        if s1 is s2:
            return True
        if len(s1) != len(s2):
            return False
        se = self.sub.eq
        for k, v1 in s1.items():
            v2 = s2.get(k)
            if v2 is None or not se(v1, v2):
                return False
        return True
