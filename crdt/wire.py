"""Encoding helpers shared by every type: the replica table and validating readers.

Replica ids are written once, in a table, and referred to by index; the table is filled in
traversal order, which is deterministic because every traversal is sorted.
"""

from __future__ import annotations

from collections.abc import Iterable

from crdt.context import CausalContext
from crdt.dot import Dot
from crdt.errors import DecodeError
from crdt.values import MAX_INT, MAX_KEY_DEPTH, Key, canon_value, is_canon

MAX_NESTING = 16
"""Deepest ORMap nesting the decoder accepts."""


class Enc:
    """Encoder state: the replica table under construction."""

    __slots__ = ("index", "table")

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.table: list[str] = []

    def r(self, replica: str) -> int:
        i = self.index.get(replica)
        if i is None:
            i = self.index[replica] = len(self.table)
            self.table.append(replica)
        return i

    def dots(self, dots: Iterable[Dot]) -> list[int]:
        """A sorted dot collection as a flat [replica index, counter, ...] list."""
        out: list[int] = []
        r = self.r
        for d in sorted(dots):
            out.append(r(d[0]))
            out.append(d[1])
        return out

    def ctx(self, c: CausalContext) -> list[list[int]]:
        vv = c._vv
        flat: list[int] = []
        for rep in sorted(vv):
            flat.append(self.r(rep))
            flat.append(vv[rep])
        return [flat, self.dots(c._cloud)]


def fail(msg: str) -> DecodeError:
    return DecodeError(msg)


class Dec:
    """Decoder state: the replica table and validating readers. Every reader raises DecodeError."""

    __slots__ = ("table",)

    def __init__(self, table: list[str]) -> None:
        self.table = table

    def r(self, i: object) -> str:
        if type(i) is not int or not 0 <= i < len(self.table):
            raise fail("bad replica index")
        return self.table[i]

    @staticmethod
    def counter(n: object) -> int:
        if type(n) is not int or not 1 <= n <= MAX_INT:
            raise fail("bad counter")
        return n

    @staticmethod
    def uint(n: object) -> int:
        if type(n) is not int or not 0 <= n <= MAX_INT:
            raise fail("bad unsigned integer")
        return n

    @staticmethod
    def arr(x: object, n: int | None = None) -> list[object]:
        if type(x) is not list or (n is not None and len(x) != n):
            raise fail("expected an array" if n is None else f"expected an array of {n}")
        return x

    def dots(self, raw: object) -> list[Dot]:
        flat = self.arr(raw)
        if len(flat) % 2:
            raise fail("odd dot list")
        out = [Dot(self.r(flat[i]), self.counter(flat[i + 1])) for i in range(0, len(flat), 2)]
        if len(set(out)) != len(out):
            raise fail("duplicate dot")
        return out

    def ctx(self, raw: object) -> CausalContext:
        vvraw, cloudf = self.arr(raw, 2)
        vvf = self.arr(vvraw)
        if len(vvf) % 2:
            raise fail("odd version vector")
        vv: dict[str, int] = {}
        for i in range(0, len(vvf), 2):
            rep = self.r(vvf[i])
            if rep in vv:
                raise fail("duplicate replica in version vector")
            vv[rep] = self.counter(vvf[i + 1])
        return CausalContext(vv, self.dots(cloudf))

    @staticmethod
    def key(raw: object, depth: int = 0) -> Key:
        if type(raw) is str or type(raw) is bytes:
            return raw
        if type(raw) is int:
            return raw  # msgpack ints are in range
        if type(raw) is list and depth < MAX_KEY_DEPTH:
            parts: list[object] = raw
            return tuple(Dec.key(x, depth + 1) for x in parts)
        raise fail("bad key")

    @staticmethod
    def value(raw: object) -> object:
        if is_canon(raw):
            return raw
        try:
            return canon_value(raw)
        except (TypeError, ValueError, RecursionError):
            raise fail("bad register value") from None
