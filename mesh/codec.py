"""Wire format: a version byte, a flags byte, then a msgpack body (sealed with the keyring
when one is configured). The body is [sender host id, sender time, [message, ...]] and a
message is [code, field, ...] as declared in mesh/messages.py.

decode_* raise only MessageError (or its subclass AuthError) on bad input."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

import msgpack

from mesh.errors import AuthError, MessageError
from mesh.keyring import OVERHEAD, Keyring
from mesh.messages import MESSAGE_TYPES, Delta, Message, StateChunk

VERSION = 1
FLAG_SEALED = 0x01
HEADER_SIZE = 2
MAX_ITEMS = 100_000
"""Upper bound on list/map lengths accepted from the wire (memory safety)."""


def envelope_overhead(sender: str, keyring: Keyring | None) -> int:
    """Bytes an envelope adds around its message items (upper bound)."""
    fixed = HEADER_SIZE + 1 + len(msgpack.packb(sender)) + 9 + 5
    return fixed + (OVERHEAD if keyring is not None else 0)


# ---- encoding -------------------------------------------------------------------------


def _enc_field(kind: str, value: Any) -> Any:
    if kind in ("addr", "addr?"):
        return None if value is None else [value[0], value[1]]
    if kind == "float":
        return float(value)
    if kind == "members":
        return [
            [h, [g[0], g[1]], u, None if a is None else [a[0], a[1]], s, i]
            for (h, g, u, a, s, i) in value
        ]
    if kind == "deltas":
        return [_fields(d) for d in value]
    if kind == "chunks":
        return [_fields(c) for c in value]
    return value


def _fields(msg: Any) -> list[Any]:
    return [_enc_field(k, getattr(msg, n)) for k, n in zip(msg.FIELDS, msg.__slots__, strict=True)]


def encode_message(msg: Message) -> bytes:
    """One message as msgpack bytes (an item of an envelope)."""
    out: bytes = msgpack.packb([msg.CODE, *_fields(msg)], use_bin_type=True)
    return out


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 0x10000:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def encode_envelope(
    sender: str, ts: float, items: Sequence[bytes], keyring: Keyring | None
) -> bytes:
    """Frame pre-encoded message items from `sender` at time `ts`, sealed if keyring."""
    body = b"".join(
        (
            b"\x93",
            msgpack.packb(sender),
            msgpack.packb(float(ts)),
            _array_header(len(items)),
            *items,
        )
    )
    if keyring is None:
        return bytes((VERSION, 0)) + body
    return bytes((VERSION, FLAG_SEALED)) + keyring.seal(body)


# ---- decoding -------------------------------------------------------------------------


def _int(v: Any) -> int:
    if type(v) is not int or v < 0 or v >= 1 << 63:
        raise MessageError("expected a non-negative int")
    return v


def _str(v: Any) -> str:
    if type(v) is not str:
        raise MessageError("expected a str")
    return v


def _float(v: Any) -> float:
    if type(v) not in (float, int) or not math.isfinite(v):
        raise MessageError("expected a finite float")
    return float(v)


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise MessageError("expected a bool")
    return v


def _bytes(v: Any) -> bytes:
    if type(v) is not bytes:
        raise MessageError("expected bytes")
    return v


def _addr(v: Any) -> tuple[str, int]:
    if type(v) is not list or len(v) != 2:
        raise MessageError("expected an address")
    port = _int(v[1])
    if port > 65535:
        raise MessageError("port out of range")
    return (_str(v[0]), port)


def _addr_opt(v: Any) -> tuple[str, int] | None:
    return None if v is None else _addr(v)


def _list(v: Any) -> list[Any]:
    if type(v) is not list or len(v) > MAX_ITEMS:
        raise MessageError("expected a bounded list")
    return v


_STATES = ("alive", "suspect", "dead", "left")


def _members(v: Any) -> list[Any]:
    out = []
    for m in _list(v):
        if type(m) is not list or len(m) != 6:
            raise MessageError("bad member record")
        state = _str(m[4])
        if state not in _STATES:
            raise MessageError("bad member state")
        out.append((_str(m[0]), _addr(m[1]), _str(m[2]), _addr_opt(m[3]), state, _int(m[5])))
    return out


def _vv(v: Any) -> dict[str, int]:
    if type(v) is not dict or len(v) > MAX_ITEMS:
        raise MessageError("expected a version vector")
    return {_str(k): _int(s) for k, s in v.items()}


def _vvs(v: Any) -> dict[str, dict[str, int]]:
    if type(v) is not dict or len(v) > MAX_ITEMS:
        raise MessageError("expected version vectors")
    return {_str(k): _vv(s) for k, s in v.items()}


def _sub(cls: Any) -> Callable[[Any], list[Any]]:
    def parse(v: Any) -> list[Any]:
        return [_build(cls, f) for f in _list(v)]

    return parse


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "int": _int,
    "str": _str,
    "float": _float,
    "bool": _bool,
    "bytes": _bytes,
    "addr": _addr,
    "addr?": _addr_opt,
    "members": _members,
    "vv": _vv,
    "vvs": _vvs,
    "deltas": _sub(Delta),
    "chunks": _sub(StateChunk),
}


def _build(cls: Any, fields: Any) -> Any:
    if type(fields) is not list or len(fields) != len(cls.FIELDS):
        raise MessageError(f"bad field count for {cls.KIND}")
    return cls(*(_PARSERS[k](v) for k, v in zip(cls.FIELDS, fields, strict=True)))


def decode_message(obj: Any) -> Message:
    """Validate one decoded item ([code, fields...]) into a message value."""
    if type(obj) is not list or not obj:
        raise MessageError("message is not a non-empty array")
    cls = MESSAGE_TYPES.get(obj[0]) if type(obj[0]) is int else None
    if cls is None:
        raise MessageError("unknown message code")
    msg: Message = _build(cls, obj[1:])
    return msg


def decode_envelope(data: bytes, keyring: Keyring | None) -> tuple[str, float, list[Message]]:
    """Open and parse an envelope -> (sender host id, sender time, messages).

    Raises AuthError if it is not sealed with a key we hold (or sealed when we have no
    keyring), MessageError for anything else that is wrong."""
    if len(data) < HEADER_SIZE:
        raise MessageError("truncated header")
    if data[0] != VERSION:
        raise MessageError(f"unsupported version {data[0]}")
    flags = data[1]
    if flags & ~FLAG_SEALED:
        raise MessageError("unknown flags")
    body = data[HEADER_SIZE:]
    if keyring is not None:
        if not flags & FLAG_SEALED:
            raise AuthError("unsealed payload while encryption is on")
        body = keyring.open(body)
    elif flags & FLAG_SEALED:
        raise AuthError("sealed payload but no keyring")
    try:
        obj = msgpack.unpackb(
            body,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=len(body),
            max_bin_len=len(body),
            max_array_len=MAX_ITEMS,
            max_map_len=MAX_ITEMS,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises many types on garbage; normalise them
        raise MessageError(f"undecodable msgpack: {type(exc).__name__}") from None
    if type(obj) is not list or len(obj) != 3:
        raise MessageError("envelope is not [sender, time, messages]")
    sender, ts, items = _str(obj[0]), _float(obj[1]), _list(obj[2])
    return sender, ts, [decode_message(i) for i in items]


__all__ = [
    "AuthError",
    "MessageError",
    "decode_envelope",
    "decode_message",
    "encode_envelope",
    "encode_message",
    "envelope_overhead",
]
