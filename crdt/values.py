"""Validation and canonical forms of register values, set elements and map keys.

Register values are msgpack-able plain data: None, bool, int (64-bit range), float, str,
bytes, lists and dicts with str keys. They are canonicalised on entry (tuples become lists,
dict keys are sorted) so that equal values pack to equal bytes. Keys (set elements and map
keys) are str, int, bytes or tuples of those.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Hashable, Iterable
from typing import TypeAlias, cast

import msgpack

Key: TypeAlias = "str | int | bytes | tuple[Key, ...]"
Plain: TypeAlias = object
"""msgpack-able data as the codec writes it (checked by the packer, not statically)."""

MIN_INT = -(2**63)
MAX_INT = 2**64 - 1
MAX_VALUE_DEPTH = 32
MAX_KEY_DEPTH = 8

_NAN = float("nan")
_NAN_BITS = struct.pack(">d", _NAN)
# msgpack has no types: its packer is given one here, the only place crdt/values.py calls it.
_packb: Callable[[object], bytes] = msgpack.Packer(use_bin_type=True, strict_types=True).pack


def canon_value(v: object, depth: int = 0) -> object:
    """The canonical copy of register value `v`; TypeError/ValueError if not plain data."""
    # `t` dispatches (one type() call); the taken branch re-checks to narrow `v` for mypy.
    t = type(v)
    if v is None or t is bool or t is str or t is bytes:
        return v
    if t is int:
        if type(v) is int and not MIN_INT <= v <= MAX_INT:
            raise ValueError("integer out of msgpack range")
        return v
    if t is float:
        if v != v:
            return _NAN  # one NaN bit pattern, so equal registers pack equally
        return 0.0 if v == 0.0 else v  # -0.0 == 0.0 but packs differently
    if depth >= MAX_VALUE_DEPTH:
        raise ValueError("value nested too deeply")
    if t is list or t is tuple:
        seq = cast("list[object] | tuple[object, ...]", v)
        return [canon_value(x, depth + 1) for x in seq]
    if t is dict:
        d = cast("dict[object, object]", v)
        for k in d:
            if type(k) is not str:
                raise TypeError("dict keys in values must be str")
        keys = cast("dict[str, object]", d)  # every key checked just above
        return {k: canon_value(keys[k], depth + 1) for k in sorted(keys)}
    raise TypeError(f"not a msgpack-able value: {t.__name__}")


def is_canon(v: object, depth: int = 0) -> bool:
    """True if `v` is already a canonical register value (then decode keeps it uncopied)."""
    # `t` dispatches (one type() call); the taken branch re-checks to narrow `v` for mypy.
    t = type(v)
    if t is str or v is None or t is bool or t is bytes:
        return True
    if t is int:
        return type(v) is int and MIN_INT <= v <= MAX_INT
    if t is float:
        if type(v) is not float:
            return False
        if v != v:
            return struct.pack(">d", v) == _NAN_BITS
        return v != 0.0 or math.copysign(1.0, v) > 0
    if depth >= MAX_VALUE_DEPTH:
        return False
    items: Iterable[object]
    if t is list:
        items = cast("list[object]", v)
    elif t is dict:
        d = cast("dict[object, object]", v)
        prev: str | None = None
        for k in d:
            if type(k) is not str or (prev is not None and k <= prev):
                return False
            prev = k
        items = d.values()
    else:
        return False
    for x in items:
        tx = type(x)
        if tx is str or tx is bytes or x is None or tx is bool:
            continue
        if tx is int and MIN_INT <= cast(int, x) <= MAX_INT:
            continue
        if not is_canon(x, depth + 1):
            return False
    return True


def check_replica(r: object) -> str:
    """`r` itself if it is a valid replica id (a non-empty str), else TypeError/ValueError."""
    if type(r) is not str:
        raise TypeError(f"replica id must be a str, not {type(r).__name__}")
    if not r:
        raise ValueError("replica id must not be empty")
    return r


def check_key(k: object, depth: int = 0) -> Key:
    """`k` itself if it is a valid key (str, int, bytes, tuple of those), else TypeError."""
    if type(k) is str or type(k) is bytes:
        return k
    if type(k) is int:
        if not MIN_INT <= k <= MAX_INT:
            raise ValueError("integer key out of msgpack range")
        return k
    if type(k) is tuple and depth < MAX_KEY_DEPTH:
        parts: tuple[object, ...] = k
        for x in parts:
            check_key(x, depth + 1)
        return cast("tuple[Key, ...]", parts)  # each part was just checked to be a Key
    raise TypeError(f"not a valid key (str, int, bytes or tuple of those): {k!r}")

def packed(v: object) -> bytes:
    """msgpack bytes of canonical data (the sort key for keys and the value tie-break)."""
    return _packb(v)


def key_order(k: Key) -> bytes:
    """Deterministic sort key for map keys and set elements: their encoded form."""
    return _packb(key_plain(k))


def key_plain(k: Key) -> Plain:
    """The key as msgpack data (tuples as arrays)."""
    if type(k) is tuple:
        return [key_plain(x) for x in k]
    return k


def strict_eq(a: object, b: object) -> bool:
    """Equality that also tells apart what packs differently (1 vs True vs 1.0)."""
    if a is b:
        return True
    t = type(a)
    if t is not type(b):
        return False
    if type(a) is list:
        la: list[object] = a
        lb = cast("list[object]", b)  # same type as a, checked above
        return len(la) == len(lb) and all(strict_eq(x, y) for x, y in zip(la, lb, strict=True))
    if type(a) is dict:
        da: dict[object, object] = a
        db = cast("dict[object, object]", b)
        return list(da) == list(db) and all(strict_eq(da[k], db[k]) for k in da)
    if type(a) is float:
        fb = cast(float, b)
        return a == fb or (math.isnan(a) and math.isnan(fb))
    return bool(a == b)


def freeze(v: object) -> Hashable:
    """A hashable form of a register value (lists -> tuples, dicts -> tuples of items)."""
    if type(v) is list:
        items: list[object] = v
        return tuple(freeze(x) for x in items)
    if type(v) is dict:
        d: dict[object, object] = v
        return tuple((k, freeze(x)) for k, x in d.items())
    return v
