"""Positive-negative counter: two grow-only count vectors, value = increments - decrements."""

from __future__ import annotations

from crdt.base import CRDT, TypeKind
from crdt.gcounter import decode_counts, encode_counts, join_counts
from crdt.values import MAX_INT, Plain, check_replica
from crdt.wire import Dec, Enc


class PNCounter(CRDT):
    """Counter that goes up and down. `increment(replica, n)` accepts negative n."""

    __slots__ = ("_n", "_p")

    def __init__(self) -> None:
        self._p: dict[str, int] = {}
        self._n: dict[str, int] = {}

    @classmethod
    def _of(cls, p: dict[str, int], n: dict[str, int]) -> PNCounter:
        c = cls.__new__(cls)
        c._p, c._n = p, n
        return c

    def increment(self, replica: str, n: int = 1) -> PNCounter:
        """Delta adding `n` (any int) to the value."""
        check_replica(replica)
        if type(n) is not int:
            raise ValueError("amount must be an int")
        if n < 0:
            return self.decrement(replica, -n)
        if n == 0:
            return PNCounter()
        total = self._p.get(replica, 0) + n
        if total > MAX_INT:
            raise ValueError("counter overflow")
        return PNCounter._of({replica: total}, {})

    def decrement(self, replica: str, n: int = 1) -> PNCounter:
        """Delta subtracting `n` >= 0 from the value."""
        check_replica(replica)
        if type(n) is not int or n < 0:
            raise ValueError("amount must be a non-negative int")
        if n == 0:
            return PNCounter()
        total = self._n.get(replica, 0) + n
        if total > MAX_INT:
            raise ValueError("counter overflow")
        return PNCounter._of({}, {replica: total})

    def value(self) -> int:
        return sum(self._p.values()) - sum(self._n.values())

    def join(self, other: PNCounter) -> PNCounter:
        self._check_same(other)
        return PNCounter._of(join_counts(self._p, other._p), join_counts(self._n, other._n))

    def apply(self, delta: PNCounter) -> PNCounter:
        self._check_same(delta)
        for mine, theirs in ((self._p, delta._p), (self._n, delta._n)):
            for r, n in theirs.items():
                if n > mine.get(r, 0):
                    mine[r] = n
        return self

    def copy(self) -> PNCounter:
        return PNCounter._of(dict(self._p), dict(self._n))

    def kind(self) -> TypeKind:
        return PNCOUNTER

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PNCounter):
            return NotImplemented
        return self._p == other._p and self._n == other._n

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PNCounter({self.value()})"


class _PNCounterKind(TypeKind):
    __slots__ = ()

    def descriptor(self) -> Plain:
        return "pncounter"

    def new(self) -> PNCounter:
        return PNCounter()

    def encode_body(self, x: CRDT, enc: Enc) -> Plain:
        if type(x) is not PNCounter:
            raise TypeError(f"not a PNCounter: {type(x).__name__}")
        return [encode_counts(x._p, enc), encode_counts(x._n, enc)]

    def decode_body(self, raw: object, dec: Dec) -> PNCounter:
        p, n = dec.arr(raw, 2)
        return PNCounter._of(decode_counts(p, dec), decode_counts(n, dec))


PNCOUNTER = _PNCounterKind()
