"""Deterministic, self-describing msgpack encoding of every CRDT type.

Layout: [MAGIC, VERSION, descriptor, replica table, body]. The descriptor names the type
("gcounter", "pncounter", "lww", "mvregister", "ewflag", "awset", ["ormap", <descriptor>]),
the replica table lists replica ids referred to by index in the body, and the body is the
type's state with every collection sorted (dots by (replica, counter), keys by their own
encoding), so equal states give equal bytes.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import cast

import msgpack

from crdt.awset import AWSET
from crdt.base import CRDT, TypeKind
from crdt.errors import DecodeError
from crdt.ewflag import EWFLAG
from crdt.gcounter import GCOUNTER
from crdt.lwwregister import LWW
from crdt.mvregister import MVREGISTER
from crdt.ormap import ORMapKind
from crdt.pncounter import PNCOUNTER
from crdt.wire import MAX_NESTING, Dec, Enc

MAGIC = "vnmcrdt"
VERSION = 1
MAX_DECODE_SIZE = 256 * 1024 * 1024
"""Largest input `decode` accepts by default (bytes)."""

# msgpack has no types: its two entry points are given theirs here, the only calls to it.
_packb: Callable[[object], bytes] = partial(msgpack.packb, use_bin_type=True)
_unpackb: Callable[..., object] = msgpack.unpackb

_SIMPLE: dict[str, TypeKind] = {
    str(k.descriptor()): k for k in (GCOUNTER, PNCOUNTER, LWW, MVREGISTER, EWFLAG, AWSET)
}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many acyclic containers (it would otherwise
    rescan them again and again: half the decode time of a 100k-key map)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def encode(x: CRDT) -> bytes:
    """The canonical bytes of `x` (equal states give equal bytes)."""
    if not isinstance(x, CRDT):
        raise TypeError(f"not a CRDT: {type(x).__name__}")
    k = x.kind()
    enc = Enc()
    with _gc_paused():
        body = k.encode_body(x, enc)
    return _packb([MAGIC, VERSION, k.descriptor(), enc.table, body])


def kind_of(desc: object, depth: int = 0) -> TypeKind:
    """The kind a descriptor names; DecodeError if unknown or nested too deeply."""
    if type(desc) is str:
        k = _SIMPLE.get(desc)
        if k is None:
            raise DecodeError(f"unknown type {desc!r}")
        return k
    if type(desc) is list and len(desc) == 2 and desc[0] == "ormap":
        if depth >= MAX_NESTING:
            raise DecodeError("maps nested too deeply")
        nested: list[object] = desc
        return ORMapKind(kind_of(nested[1], depth + 1))
    raise DecodeError("bad type descriptor")


def decode(data: bytes, *, max_size: int = MAX_DECODE_SIZE) -> CRDT:
    """The CRDT encoded in `data`. Raises DecodeError (a ValueError) on any bad input."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("input must be bytes")
    n = len(data)
    if n > max_size:
        raise DecodeError(f"input larger than {max_size} bytes")
    with _gc_paused():
        return _decode(data, n)


def _decode(data: bytes | bytearray | memoryview, n: int) -> CRDT:
    try:
        raw: object = _unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=n,
            max_bin_len=n,
            max_array_len=n,
            max_map_len=n // 2,
            max_ext_len=0,
        )
    except Exception as e:  # msgpack raises several types, including ValueError subclasses
        raise DecodeError(f"not valid msgpack: {type(e).__name__}") from None
    try:
        if type(raw) is not list or len(raw) != 5:
            raise DecodeError("not a CRDT encoding")
        parts: list[object] = raw
        magic, version, desc, table, body = parts
        if magic != MAGIC:
            raise DecodeError("not a CRDT encoding (bad magic)")
        if version != VERSION:
            raise DecodeError(f"unsupported encoding version {version!r}")
        k = kind_of(desc)
        if type(table) is not list:
            raise DecodeError("bad replica table")
        names: list[str] = []
        for r in cast("list[object]", table):
            if type(r) is not str:
                raise DecodeError("bad replica table")
            names.append(r)
        if len(set(names)) != len(names):
            raise DecodeError("duplicate replica in table")
        return k.decode_body(body, Dec(names))
    except DecodeError:
        raise
    except Exception as e:  # any slip of validation still ends as DecodeError
        raise DecodeError(f"invalid CRDT encoding: {type(e).__name__}") from None
