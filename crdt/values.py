"""Validation and canonical forms of register values, set elements and map keys.

Register values are msgpack-able plain data: None, bool, int (64-bit range), float, str,
bytes, lists and dicts with str keys. They are canonicalised on entry (tuples become lists,
dict keys are sorted) so that equal values pack to equal bytes. Keys (set elements and map
keys) are str, int, bytes or tuples of those.
"""

from __future__ import annotations

import math
import struct
from typing import Any, TypeAlias

import msgpack

Key: TypeAlias = "str | int | bytes | tuple[Key, ...]"

MIN_INT = -(2**63)
MAX_INT = 2**64 - 1
MAX_VALUE_DEPTH = 32
MAX_KEY_DEPTH = 8

_NAN = float("nan")
_NAN_BITS = struct.pack(">d", _NAN)
_packb = msgpack.Packer(use_bin_type=True, strict_types=True).pack


def canon_value(v: Any, depth: int = 0) -> Any:
    """The canonical copy of register value `v`; TypeError/ValueError if not plain data."""
    t = type(v)
    if v is None or t is bool or t is str or t is bytes:
        return v
    if t is int:
        if not MIN_INT <= v <= MAX_INT:
            raise ValueError("integer out of msgpack range")
        return v
    if t is float:
        if v != v:
            return _NAN  # one NaN bit pattern, so equal registers pack equally
        return 0.0 if v == 0.0 else v  # -0.0 == 0.0 but packs differently
    if depth >= MAX_VALUE_DEPTH:
        raise ValueError("value nested too deeply")
    if t is list or t is tuple:
        return [canon_value(x, depth + 1) for x in v]
    if t is dict:
        for k in v:
            if type(k) is not str:
                raise TypeError("dict keys in values must be str")
        return {k: canon_value(v[k], depth + 1) for k in sorted(v)}
    raise TypeError(f"not a msgpack-able value: {t.__name__}")


def is_canon(v: Any, depth: int = 0) -> bool:
    """True if `v` is already a canonical register value (then decode keeps it uncopied)."""
    t = type(v)
    if t is str or v is None or t is bool or t is bytes:
        return True
    if t is int:
        return MIN_INT <= v <= MAX_INT  # type: ignore[no-any-return]
    if t is float:
        if v != v:
            return struct.pack(">d", v) == _NAN_BITS
        return v != 0.0 or math.copysign(1.0, v) > 0
    if depth >= MAX_VALUE_DEPTH:
        return False
    if t is list:
        items = v
    elif t is dict:
        prev = None
        for k in v:
            if type(k) is not str or (prev is not None and k <= prev):
                return False
            prev = k
        items = v.values()
    else:
        return False
    for x in items:
        tx = type(x)
        if tx is str or tx is bytes or x is None or tx is bool:
            continue
        if tx is int and MIN_INT <= x <= MAX_INT:
            continue
        if not is_canon(x, depth + 1):
            return False
    return True


def check_replica(r: Any) -> str:
    """`r` itself if it is a valid replica id (a non-empty str), else TypeError/ValueError."""
    if type(r) is not str:
        raise TypeError(f"replica id must be a str, not {type(r).__name__}")
    if not r:
        raise ValueError("replica id must not be empty")
    return r


def check_key(k: Any, depth: int = 0) -> Key:
    """`k` itself if it is a valid key (str, int, bytes, tuple of those), else TypeError."""
    t = type(k)
    if t is str or t is bytes:
        return k  # type: ignore[no-any-return]
    if t is int:
        if not MIN_INT <= k <= MAX_INT:
            raise ValueError("integer key out of msgpack range")
        return k  # type: ignore[no-any-return]
    if t is tuple and depth < MAX_KEY_DEPTH:
        for x in k:
            check_key(x, depth + 1)
        return k  # type: ignore[no-any-return]
    raise TypeError(f"not a valid key (str, int, bytes or tuple of those): {k!r}")


def packed(v: Any) -> bytes:
    """msgpack bytes of canonical data (the sort key for keys and the value tie-break)."""
    return _packb(v)  # type: ignore[no-any-return]


def key_order(k: Key) -> bytes:
    """Deterministic sort key for map keys and set elements: their encoded form."""
    return _packb(key_plain(k))  # type: ignore[no-any-return]


def key_plain(k: Key) -> Any:
    """The key as msgpack data (tuples as arrays)."""
    if type(k) is tuple:
        return [key_plain(x) for x in k]
    return k


def strict_eq(a: Any, b: Any) -> bool:
    """Equality that also tells apart what packs differently (1 vs True vs 1.0)."""
    if a is b:
        return True
    t = type(a)
    if t is not type(b):
        return False
    if t is list:
        return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b, strict=True))
    if t is dict:
        return list(a) == list(b) and all(strict_eq(a[k], b[k]) for k in a)
    if t is float:
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def freeze(v: Any) -> Any:
    """A hashable form of a register value (lists -> tuples, dicts -> tuples of items)."""
    t = type(v)
    if t is list:
        return tuple(freeze(x) for x in v)
    if t is dict:
        return tuple((k, freeze(x)) for k, x in v.items())
    return v
