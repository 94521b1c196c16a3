"""Grow-only counter: one non-decreasing count per replica; value is the sum."""

from __future__ import annotations

from crdt.base import CRDT, TypeKind
from crdt.errors import DecodeError
from crdt.values import MAX_INT, Plain, check_replica
from crdt.wire import Dec, Enc


def _check_amount(n: object) -> int:
    if type(n) is not int or n < 0:
        raise ValueError("amount must be a non-negative int")
    return n


def join_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for r, n in b.items():
        if n > out.get(r, 0):
            out[r] = n
    return out


def encode_counts(c: dict[str, int], enc: Enc) -> list[int]:
    flat: list[int] = []
    for r in sorted(c):
        flat.append(enc.r(r))
        flat.append(c[r])
    return flat


def decode_counts(raw: object, dec: Dec) -> dict[str, int]:
    items = dec.arr(raw)
    if len(items) % 2:
        raise DecodeError("odd counter list")
    out: dict[str, int] = {}
    for i in range(0, len(items), 2):
        r = dec.r(items[i])
        if r in out:
            raise DecodeError("duplicate replica in counter")
        out[r] = dec.counter(items[i + 1])
    return out


class GCounter(CRDT):
    """Grow-only counter. `increment(replica, n)` returns a delta holding that replica's entry."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    @classmethod
    def _of(cls, counts: dict[str, int]) -> GCounter:
        g = cls.__new__(cls)
        g._counts = counts
        return g

    def increment(self, replica: str, n: int = 1) -> GCounter:
        """Delta adding `n` >= 0 to the count of `replica`."""
        check_replica(replica)
        _check_amount(n)
        if n == 0:
            return GCounter()
        total = self._counts.get(replica, 0) + n
        if total > MAX_INT:
            raise ValueError("counter overflow")
        return GCounter._of({replica: total})

    def value(self) -> int:
        return sum(self._counts.values())

    @property
    def counts(self) -> dict[str, int]:
        """A copy of the per-replica counts."""
        return dict(self._counts)

    def join(self, other: GCounter) -> GCounter:
        self._check_same(other)
        return GCounter._of(join_counts(self._counts, other._counts))

    def apply(self, delta: GCounter) -> GCounter:
        self._check_same(delta)
        c = self._counts
        for r, n in delta._counts.items():
            if n > c.get(r, 0):
                c[r] = n
        return self

    def copy(self) -> GCounter:
        return GCounter._of(dict(self._counts))

    def kind(self) -> TypeKind:
        return GCOUNTER

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GCounter):
            return NotImplemented
        return self._counts == other._counts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"GCounter({dict(sorted(self._counts.items()))!r})"


class _GCounterKind(TypeKind):
    __slots__ = ()

    def descriptor(self) -> Plain:
        return "gcounter"

    def new(self) -> GCounter:
        return GCounter()

    def encode_body(self, x: CRDT, enc: Enc) -> Plain:
        if type(x) is not GCounter:
            raise TypeError(f"not a GCounter: {type(x).__name__}")
        return encode_counts(x._counts, enc)

    def decode_body(self, raw: object, dec: Dec) -> GCounter:
        return GCounter._of(decode_counts(raw, dec))


GCOUNTER = _GCounterKind()
