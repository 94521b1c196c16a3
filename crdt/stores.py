"""The dot stores of the delta-CRDT paper: DotSet, DotFun (of raw values or of lattice
states) and DotMap (keys to nested stores), each with its join under causal contexts.

join((s1, c1), (s2, c2)) keeps what both stores hold, plus what either holds that the other
has not seen; what one side has seen but no longer holds was removed and stays removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from itertools import chain
from typing import Any

from crdt.base import StoreKind, TypeKind
from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.errors import DecodeError
from crdt.values import key_order, key_plain, packed, strict_eq
from crdt.wire import Dec, Enc

_MISSING: Any = object()
new_dot = partial(tuple.__new__, Dot)
"""Dot((replica, counter)) without NamedTuple's Python-level constructor (hot decode paths)."""


class DotSetStore(StoreKind):
    """frozenset[Dot]: the store of EWFlag and of each AWSet element."""

    __slots__ = ()
    empty: frozenset[Dot] = frozenset()

    def join(self, s1: Any, c1: CausalContext, s2: Any, c2: CausalContext) -> Any:
        if s1 is s2 or s1 == s2:
            return s1
        covers1, covers2 = c1.covers, c2.covers
        out = {d for d in s1 if d in s2 or not covers2(d)}
        out.update(d for d in s2 if not covers1(d))
        if len(out) == len(s1) and out.issuperset(s1):
            return s1
        return frozenset(out)

    def dots(self, s: Any) -> Iterable[Dot]:
        return s  # type: ignore[no-any-return]

    def encode(self, s: Any, enc: Enc) -> Any:
        return enc.dots(s)

    def decode(self, raw: Any, dec: Dec) -> Any:
        return frozenset(dec.dots(raw))

    def eq(self, s1: Any, s2: Any) -> bool:
        return bool(s1 == s2)


class DotFunStore(StoreKind):
    """dict[Dot, register value], never mutated once built: the store of MVRegister."""

    __slots__ = ()
    empty: dict[Dot, Any] = {}

    def same(self, v1: Any, v2: Any) -> bool:
        return strict_eq(v1, v2)

    def merge(self, v1: Any, v2: Any) -> Any:
        # One dot is one write, so this only happens for forged states; any fixed
        # choice keeps join a lattice: the value with the greater encoding wins.
        return v1 if packed(v1) >= packed(v2) else v2

    def join(self, s1: Any, c1: CausalContext, s2: Any, c2: CausalContext) -> Any:
        if s1 is s2:
            return s1
        out: dict[Dot, Any] | None = None
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

    def dots(self, s: Any) -> Iterable[Dot]:
        return s  # type: ignore[no-any-return]

    def eq(self, s1: Any, s2: Any) -> bool:
        if s1 is s2:
            return True
        if len(s1) != len(s2):
            return False
        for d, v1 in s1.items():
            v2 = s2.get(d, _MISSING)
            if v2 is _MISSING or not self.same(v1, v2):
                return False
        return True

    def encode(self, s: Any, enc: Enc) -> Any:
        out: list[Any] = []
        for d in sorted(s):
            out.append(enc.r(d[0]))
            out.append(d[1])
            out.append(s[d])
        return out

    def decode(self, raw: Any, dec: Dec) -> Any:
        raw = dec.arr(raw)
        if len(raw) % 3:
            raise DecodeError("bad dot-function length")
        out: dict[Dot, Any] = {}
        for i in range(0, len(raw), 3):
            d = Dot(dec.r(raw[i]), dec.counter(raw[i + 1]))
            if d in out:
                raise DecodeError("duplicate dot")
            out[d] = dec.value(raw[i + 2])
        return out


def _flat(m: dict[Dot, Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for d in sorted(m):
        out.append(d)
        out.append(m[d])
    return tuple(out)


class LatticeFunStore(StoreKind):
    """Dot -> CRDT state, as a flat tuple (dot, state, dot, state, ...) sorted by dot (a
    one-entry dict would cost four times the memory). Wraps a non-causal type (counter, LWW
    register) as a map value.

    Each update writes a fresh dot holding the key's whole new value state and supersedes
    the dots it saw; concurrent updates leave several dots, whose states are joined on read.
    A key whose dots are all removed is gone, its value with it, identically everywhere.
    """

    __slots__ = ("vkind",)
    empty: tuple[Any, ...] = ()

    def __init__(self, vkind: TypeKind) -> None:
        self.vkind = vkind

    def join(self, s1: Any, c1: CausalContext, s2: Any, c2: CausalContext) -> Any:
        if s1 is s2:
            return s1
        if len(s1) == 2 and len(s2) == 2:  # fast path: one dot on each side
            d1, v1 = s1
            d2, v2 = s2
            if d1 == d2:
                if v1 is v2 or v1._same_write(v2):
                    return s1
                return (d1, v1.join(v2))
            if c2.covers(d1) and not c1.covers(d2):
                return s2  # the usual update: a new dot superseding the one seen
        m1 = dict(zip(s1[::2], s1[1::2], strict=True))
        m2 = dict(zip(s2[::2], s2[1::2], strict=True))
        changed = False
        for d in list(m1):
            if d not in m2 and c2.covers(d):
                del m1[d]
                changed = True
        for d, v2 in m2.items():
            v1 = m1.get(d, _MISSING)
            if v1 is _MISSING:
                if not c1.covers(d):
                    m1[d] = v2
                    changed = True
            elif v1 is not v2 and not v1._same_write(v2):
                m1[d] = v1.join(v2)
                changed = True
        return _flat(m1) if changed else s1

    def dots(self, s: Any) -> Iterable[Dot]:
        return s[::2]  # type: ignore[no-any-return]

    def eq(self, s1: Any, s2: Any) -> bool:
        if s1 is s2:
            return True
        if len(s1) != len(s2):
            return False
        return all(s1[i] == s2[i] and s1[i + 1] == s2[i + 1] for i in range(0, len(s1), 2))

    def encode(self, s: Any, enc: Enc) -> Any:
        out: list[Any] = []
        body = self.vkind.encode_body
        r = enc.r
        for i in range(0, len(s), 2):
            d = s[i]
            out.append(r(d[0]))
            out.append(d[1])
            out.append(body(s[i + 1], enc))
        return out

    def decode(self, raw: Any, dec: Dec) -> Any:
        if type(raw) is not list or len(raw) % 3:
            raise DecodeError("bad dot-function")
        body = self.vkind.decode_body
        table = dec.table
        nt = len(table)
        if len(raw) == 3:
            ri, c = raw[0], raw[1]
            if type(ri) is not int or not 0 <= ri < nt or type(c) is not int or c < 1:
                raise DecodeError("bad dot")
            return (Dot(table[ri], c), body(raw[2], dec))
        out: dict[Dot, Any] = {}
        for i in range(0, len(raw), 3):
            ri, c = raw[i], raw[i + 1]
            if type(ri) is not int or not 0 <= ri < nt or type(c) is not int or c < 1:
                raise DecodeError("bad dot")
            d = Dot(table[ri], c)
            if d in out:
                raise DecodeError("duplicate dot")
            out[d] = body(raw[i + 2], dec)
        return _flat(out)


class DotMapStore(StoreKind):
    """dict[key, nested store], never mutated once built; empty nested stores are absent."""

    __slots__ = ("sub",)
    empty: dict[Any, Any] = {}

    def __init__(self, sub: StoreKind) -> None:
        self.sub = sub

    def join(self, s1: Any, c1: CausalContext, s2: Any, c2: CausalContext) -> Any:
        if s1 is s2:
            return s1
        sub = self.sub
        sj = sub.join
        empty = sub.empty
        out: dict[Any, Any] | None = None
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

    def dots(self, s: Any) -> Iterator[Dot]:
        sd = self.sub.dots
        return chain.from_iterable(sd(v) for v in s.values())

    def encode(self, s: Any, enc: Enc) -> Any:
        out: list[Any] = []
        sub = self.sub
        se = sub.encode
        single = sub.vkind.encode_body if isinstance(sub, LatticeFunStore) else None
        r = enc.r
        for k in sorted(s, key=key_order):
            out.append(k if type(k) is str else key_plain(k))
            e = s[k]
            if single is not None and len(e) == 2:  # fast path: one (dot, state) entry
                d = e[0]
                out.append([r(d[0]), d[1], single(e[1], enc)])
            else:
                out.append(se(e, enc))
        return out

    def decode(self, raw: Any, dec: Dec) -> Any:
        raw = dec.arr(raw)
        if len(raw) % 2:
            raise DecodeError("bad map length")
        out: dict[Any, Any] = {}
        sub = self.sub
        sd = sub.decode
        dk = dec.key
        single = sub.vkind.decode_body if isinstance(sub, LatticeFunStore) else None
        table = dec.table
        nt = len(table)
        for i in range(0, len(raw), 2):
            k = raw[i]
            if type(k) is not str:
                k = dk(k)
            if k in out:
                raise DecodeError("duplicate key")
            e = raw[i + 1]
            if single is not None and type(e) is list and len(e) == 3:  # one (dot, state)
                ri, c, b = e
                if type(ri) is not int or not 0 <= ri < nt or type(c) is not int or c < 1:
                    raise DecodeError("bad dot")
                out[k] = (new_dot((table[ri], c)), single(b, dec))
                continue
            v = sd(e, dec)
            if not v:
                raise DecodeError("empty entry")
            out[k] = v
        return out

    def eq(self, s1: Any, s2: Any) -> bool:
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
