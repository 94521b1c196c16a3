"""Last-writer-wins register stamped with hybrid logical clock timestamps."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from crdt.base import CRDT, TypeKind
from crdt.errors import DecodeError
from crdt.hlc import HLC, Timestamp, clock_for
from crdt.values import MAX_INT, Plain, canon_value, check_replica, is_canon, packed, strict_eq
from crdt.wire import Dec, Enc

_new_ts: Callable[[tuple[int, int, str]], Timestamp] = partial(tuple.__new__, Timestamp)


def _newer(ts1: Timestamp | None, v1: object, ts2: Timestamp | None, v2: object) -> bool:
    """True if (ts2, v2) beats (ts1, v1). Equal stamps with different values (only from
    replayed explicit timestamps) are ordered by the values' encodings, so join is a lattice."""
    if ts2 is None:
        return False
    if ts1 is None or ts2 > ts1:
        return True
    return ts2 == ts1 and not strict_eq(v1, v2) and packed(v2) > packed(v1)


def _check_ts(ts: object) -> Timestamp:
    if not isinstance(ts, tuple) or len(ts) != 3:
        raise TypeError("timestamp must be (wall, logical, replica)")
    parts: tuple[object, ...] = ts
    w, lg, r = parts
    if type(w) is not int or type(lg) is not int or type(r) is not str:
        raise TypeError("timestamp must be (int, int, str)")
    if not (0 <= w <= MAX_INT and 0 <= lg <= MAX_INT):
        raise ValueError("timestamp out of range")
    return Timestamp(w, lg, r)


class LWWRegister(CRDT):
    """Holds one value; the write with the greatest (wall, logical, replica) stamp wins."""

    __slots__ = ("_ts", "_value")

    def __init__(self) -> None:
        self._ts: Timestamp | None = None
        self._value: object = None

    @classmethod
    def _of(cls, ts: Timestamp | None, value: object) -> LWWRegister:
        r = cls.__new__(cls)
        r._ts, r._value = ts, value
        return r

    def assign(
        self,
        replica: str,
        value: object,
        *,
        timestamp: tuple[int, int, str] | None = None,
        hlc: HLC | None = None,
    ) -> LWWRegister:
        """Delta writing `value`. The stamp is `timestamp` if given (replay), else a fresh
        one from `hlc` or from the registry clock of `replica`, issued after the current
        stamp so that a write always outranks the value it replaced."""
        check_replica(replica)
        v = canon_value(value)
        if timestamp is not None:
            ts = _check_ts(timestamp)
        else:
            clock = hlc if hlc is not None else clock_for(replica)
            cur = self._ts
            w, lg = clock.stamp(None if cur is None else (cur.wall, cur.logical))
            ts = Timestamp(w, lg, replica)
        return LWWRegister._of(ts, v)

    def value(self) -> Any:  # plain data the caller reads as it wrote it
        return self._value

    @property
    def timestamp(self) -> Timestamp | None:
        """Stamp of the winning write (None if never written)."""
        return self._ts

    def join(self, other: LWWRegister) -> LWWRegister:
        self._check_same(other)
        if _newer(self._ts, self._value, other._ts, other._value):
            return LWWRegister._of(other._ts, other._value)
        return LWWRegister._of(self._ts, self._value)

    def apply(self, delta: LWWRegister) -> LWWRegister:
        self._check_same(delta)
        if _newer(self._ts, self._value, delta._ts, delta._value):
            self._ts, self._value = delta._ts, delta._value
        return self

    def copy(self) -> LWWRegister:
        return LWWRegister._of(self._ts, self._value)

    def kind(self) -> TypeKind:
        return LWW

    def _same_write(self, other: LWWRegister) -> bool:
        # Under one dot the stamps match; plain == of the values is enough (it only
        # confuses 1, 1.0 and True, which one write cannot hold at once).
        return self._ts == other._ts and (
            self._value is other._value or self._value == other._value
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LWWRegister):
            return NotImplemented
        return self._ts == other._ts and strict_eq(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LWWRegister({self._value!r}, ts={self._ts!r})"


class _LWWKind(TypeKind):
    __slots__ = ()

    def descriptor(self) -> Plain:
        return "lww"

    def new(self) -> LWWRegister:
        return LWWRegister()

    def encode_body(self, x: CRDT, enc: Enc) -> Plain:
        if type(x) is not LWWRegister:
            raise TypeError(f"not an LWWRegister: {type(x).__name__}")
        ts = x._ts
        if ts is None:
            return []
        return [ts[0], ts[1], enc.r(ts[2]), x._value]

    def decode_body(self, raw: object, dec: Dec) -> LWWRegister:
        if type(raw) is not list:
            raise DecodeError("bad register")
        items: list[object] = raw
        if not items:
            return LWWRegister()
        if len(items) != 4:
            raise DecodeError("bad register")
        w, lg, ri, v = items
        if type(w) is not int or w < 0 or type(lg) is not int or lg < 0:
            raise DecodeError("bad timestamp")
        r = LWWRegister.__new__(LWWRegister)
        r._ts = _new_ts((w, lg, dec.r(ri)))
        r._value = v if is_canon(v) else dec.value(v)
        return r


LWW = _LWWKind()
